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
    public var publicKeyHex: String { Hex.string(key.publicKey.rawRepresentation) }

    /// Whether `signatureHex` is the platform's signature of `timestamp + body`. Malformed hex, a wrong
    /// length or a non-canonical signature (`sig[63] & 0xE0 != 0`) are refused.
    public func verify(signatureHex: String, timestamp: String, body: Data) -> Bool {
        guard let signature = Hex.data(signatureHex), signature.count == 64, signature[63] & 0xE0 == 0 else { return false }
        return key.publicKey.isValidSignature(signature, for: Data(timestamp.utf8) + body)
    }

    /// The answer to the callback URL check (op 13): the signature of `event_ts + plain_token`, hex.
    public func validationSignature(plainToken: String, eventTS: String) -> String {
        sign(Data((eventTS + plainToken).utf8))
    }

    /// Signs `message` as the platform signs callbacks (hex); tests sign with it.
    public func sign(_ message: Data) -> String {
        Hex.string((try? key.signature(for: message)) ?? Data())
    }
}
