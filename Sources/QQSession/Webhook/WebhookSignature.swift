import Crypto
import Foundation

/// The platform's webhook signatures (qq-platform-2026.md §2): Ed25519 with a key whose 32-byte seed
/// is the app secret repeated until it is long enough. The platform signs `timestamp + raw body` of
/// every callback (`X-Signature-Ed25519`, hex); the bot answers the callback URL check (op 13) with
/// its own signature of `event_ts + plain_token`. The secret never leaves this type.
public struct WebhookSignature: Sendable {
    private let key: Curve25519.Signing.PrivateKey

    /// The key of `secret`; nil for an empty secret.
    public init?(secret: Secret) {
        guard !secret.isEmpty else { return nil }
        var seed = Data(secret.exposedValue.utf8)
        while seed.count < 32 { seed += seed }
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed.prefix(32)) else { return nil }
        self.key = key
    }

    /// The public key (what q.qq.com shows), hex.
    public var publicKeyHex: String { Self.hex(key.publicKey.rawRepresentation) }

    /// Whether `signatureHex` is the platform's signature of `timestamp + body`. Malformed hex, a wrong
    /// length or a non-canonical signature (`sig[63] & 0xE0 != 0`) are refused.
    public func verify(signatureHex: String, timestamp: String, body: Data) -> Bool {
        guard let signature = Self.bytes(hex: signatureHex), signature.count == 64, signature[63] & 0xE0 == 0 else { return false }
        return key.publicKey.isValidSignature(signature, for: Data(timestamp.utf8) + body)
    }

    /// The answer to the callback URL check (op 13): the signature of `event_ts + plain_token`, hex.
    public func validationSignature(plainToken: String, eventTS: String) -> String {
        sign(Data((eventTS + plainToken).utf8))
    }

    /// Signs `message` (hex): the simulator signs its callbacks with it.
    public func sign(_ message: Data) -> String {
        Self.hex((try? key.signature(for: message)) ?? Data())
    }

    static func hex(_ data: some Sequence<UInt8>) -> String {
        data.map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex: String) -> Data? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = Data(capacity: chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = Self.nibble(chars[i]), let lo = Self.nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
}
