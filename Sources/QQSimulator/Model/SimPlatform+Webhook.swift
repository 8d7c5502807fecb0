import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// One callback the simulator made, as the bot answered it.
public struct SimWebhookDelivery: Sendable, Codable, Hashable {
    /// The envelope id (the same on every retry of one event).
    public var id: String
    /// `t`, or `op13` for the callback URL check.
    public var type: String
    /// HTTP statuses of each attempt (0: no answer in time or no connection).
    public var statuses: [Int]
    /// What was done to it on purpose (`bad_signature`, `stale_timestamp`, `duplicate`, `oversized`).
    public var fault: String?
    /// True once the bot answered 200.
    public var acknowledged: Bool { statuses.last == 200 }
}

/// Faults the webhook transport can play on the next callbacks.
public enum SimWebhookFault: String, Sendable, Codable, CaseIterable {
    case badSignature = "bad_signature"
    case staleTimestamp = "stale_timestamp"
    case duplicate
    case oversized
}

extension SimPlatform {
    /// Delivers events by signed HTTP callbacks to `url` from now on (besides any gateway session).
    /// The callback URL check (op 13) runs first; its outcome is returned and kept.
    public func useWebhook(_ url: String) async -> Bool {
        webhookURL = url
        webhookQueue.finish()
        let (stream, queue) = AsyncStream.makeStream(of: (String, String, String, SimWebhookFault?).self)
        webhookQueue = queue
        let validated = await validateWebhook(url)
        webhookValidated = validated
        webhookTask = Task { [weak self] in
            for await (type, text, id, fault) in stream { await self?.deliver(type: type, payloadText: text, eventID: id, fault: fault) }
        }
        return validated
    }

    /// The next `count` callbacks get `fault`.
    public func injectWebhook(_ fault: SimWebhookFault, count: Int = 1) {
        webhookFaults.append(contentsOf: Array(repeating: fault, count: max(0, count)))
    }

    /// Every callback made, in order.
    public func webhookDeliveries() -> [SimWebhookDelivery] { deliveries }

    /// Callback attempts made so far (retries included; the op 13 check not).
    public func webhookAttemptCount() -> Int { webhookAttempts }

    /// Whether the bot passed the op 13 check.
    public func webhookPassedValidation() -> Bool { webhookValidated }

    /// Queues a dispatch for the webhook (called with every dispatch while a webhook is set).
    func queueWebhook(type: String, payloadText: String, eventID: String) {
        guard webhookURL != nil else { return }
        let fault = webhookFaults.isEmpty ? nil : webhookFaults.removeFirst()
        webhookQueue.yield((type, payloadText, eventID, fault))
    }

    private func validateWebhook(_ url: String) async -> Bool {
        let token = SimJSON.randomToken(20)
        let ts = String(Int(clock.now().timeIntervalSince1970))
        let body = #"{"op":13,"d":{"plain_token":"\#(token)","event_ts":"\#(ts)"}}"#
        // The check is not an event: it waits as long as a bot still starting may take (not the
        // per-callback timeout a test shortens to provoke retries).
        let (status, answer) = await post(url, body: Data(body.utf8), timestamp: ts, signature: sign(Data((ts + body).utf8)),
                                          timeoutMs: max(configuration.webhookTimeoutMs, 10_000))
        deliveries.append(SimWebhookDelivery(id: "op13", type: "op13", statuses: [status], fault: nil))
        guard status == 200, let json = try? JSONSerialization.jsonObject(with: answer) as? [String: Any],
              json["plain_token"] as? String == token, let hex = json["signature"] as? String,
              let signature = Self.bytes(hex: hex) else { return false }
        return webhookKey.publicKey.isValidSignature(signature, for: Data((ts + token).utf8))
    }

    private func deliver(type: String, payloadText: String, eventID: String, fault: SimWebhookFault?) async {
        guard let url = webhookURL else { return }
        var text = #"{"op":0,"id":"\#(eventID)","t":"\#(type)","d":\#(payloadText)}"#
        if fault == .oversized { text = #"{"op":0,"id":"\#(eventID)","t":"\#(type)","pad":"\#(String(repeating: "x", count: 4 << 20))","d":\#(payloadText)}"# }
        let body = Data(text.utf8)
        var record = SimWebhookDelivery(id: eventID, type: type, statuses: [], fault: fault?.rawValue)
        let sends = fault == .duplicate ? 2 : 1
        for _ in 0..<sends {
            for attempt in 0..<configuration.webhookAttempts {
                var now = clock.now().timeIntervalSince1970
                if fault == .staleTimestamp { now -= 3600 }
                let ts = String(Int(now))
                var signature = sign(Data(ts.utf8) + body)
                if fault == .badSignature { signature = String(signature.reversed()) }
                let (status, _) = await post(url, body: body, timestamp: ts, signature: signature)
                record.statuses.append(status)
                webhookAttempts += 1
                // A refusal for a fault played on purpose is final; anything else not 200 is sent again.
                if status == 200 || (fault != nil && fault != .duplicate) { break }
                if attempt + 1 < configuration.webhookAttempts { try? await Task.sleep(for: .milliseconds(configuration.webhookRetryDelayMs)) }
            }
        }
        deliveries.append(record)
    }

    private func post(_ url: String, body: Data, timestamp: String, signature: String, timeoutMs: Int? = nil) async -> (Int, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "User-Agent", value: "QQBot-Callback")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Bot-Appid", value: configuration.appID)
        request.headers.add(name: "X-Signature-Ed25519", value: signature)
        request.headers.add(name: "X-Signature-Timestamp", value: timestamp)
        request.headers.add(name: "X-Signature-Method", value: "Ed25519")
        request.body = .bytes(ByteBuffer(data: body))
        do {
            let response = try await webhookHTTPClient().execute(request, timeout: .milliseconds(Int64(timeoutMs ?? configuration.webhookTimeoutMs)))
            let answer = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), Data(answer.readableBytesView))
        } catch {
            return (0, Data())
        }
    }

    /// The client callbacks go out with: the shared one, or one that accepts any certificate.
    private func webhookHTTPClient() -> HTTPClient {
        guard configuration.webhookTrustsAnyCertificate else { return HTTPClient.shared }
        if let client = insecureClient { return client }
        var config = HTTPClient.Configuration()
        config.tlsConfiguration = .makeClientConfiguration()
        config.tlsConfiguration?.certificateVerification = .none
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        insecureClient = client
        return client
    }

    /// Shuts the callback client down (when the simulator stops).
    func closeWebhookClient() async {
        try? await insecureClient?.shutdown()
        insecureClient = nil
    }

    /// The bot's key, derived the way the platform derives it (the secret repeated to a 32-byte seed).
    var webhookKey: Curve25519.Signing.PrivateKey {
        var seed = Data(configuration.appSecret.utf8)
        while seed.count < 32 { seed += seed }
        // A secret is never empty here: the simulator always has one.
        return (try? Curve25519.Signing.PrivateKey(rawRepresentation: seed.prefix(32))) ?? Curve25519.Signing.PrivateKey()
    }

    private func sign(_ message: Data) -> String {
        Self.hex((try? webhookKey.signature(for: message)) ?? Data())
    }

    /// Lowercase hex (signatures, md5s).
    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func bytes(hex: String) -> Data? {
        guard hex.count % 2 == 0 else { return nil }
        var out = Data()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            out.append(byte)
            index = next
        }
        return out
    }
}
