import Foundation

/// One callback from the platform, judged: path and method, size, signature, replay window, then the
/// op. A refusal never reaches the inbound pipeline (nothing is stored); an event is acknowledged
/// only once it is durable (``WebhookEndpoint/deliver``).
struct WebhookEndpoint: Sendable {
    struct Response: Sendable, Equatable {
        var status: Int
        var body: String
    }

    let path: String
    let signature: WebhookSignature
    let replayWindow: TimeInterval
    let maxBodyBytes: Int
    let now: @Sendable () -> Date
    /// Hands an event to the inbound pipeline; true once it is durable (stored, or a duplicate of a stored one).
    let deliver: @Sendable (GatewayFrame) async -> Bool
    /// Counts what was refused and when the last callback came (the session's status).
    let counters: WebhookCounters

    /// The answer to the request line, before the body is read: nil to go on reading.
    func early(method: String, uri: String, contentLength: Int?) -> Response? {
        let target = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        guard target == path else { return refuse(404, "not found") }
        guard method == "POST" else { return refuse(405, "only POST is served here") }
        if let contentLength, contentLength > maxBodyBytes {
            return refuse(413, "body over \(maxBodyBytes) bytes")
        }
        return nil
    }

    /// The answer to a whole request.
    func respond(signatureHex: String?, timestamp: String?, body: Data) async -> Response {
        guard body.count <= maxBodyBytes else { return refuse(413, "body over \(maxBodyBytes) bytes") }
        guard let signatureHex, let timestamp else { return refuse(401, "missing X-Signature-Ed25519 or X-Signature-Timestamp") }
        guard signature.verify(signatureHex: signatureHex, timestamp: timestamp, body: body) else {
            return refuse(401, "bad signature")
        }
        guard let seconds = TimeInterval(timestamp), abs(now().timeIntervalSince1970 - seconds) <= replayWindow else {
            return refuse(401, "timestamp outside the replay window")
        }
        guard let frame = try? GatewayFrame.decode(body) else { return refuse(400, "not a JSON object with an op") }
        switch frame.op {
        case 13:
            guard let check = try? JSONDecoder().decode(ValidationCheck.self, from: body) else {
                return refuse(400, "op 13 without plain_token and event_ts")
            }
            counters.noteAccepted(now())
            let answer = ["plain_token": check.d.plainToken,
                          "signature": signature.validationSignature(plainToken: check.d.plainToken, eventTS: check.d.eventTS)]
            return Response(status: 200, body: Self.json(answer))
        case GatewayOpcode.dispatch:
            counters.noteAccepted(now())
            // Acknowledged only once durable: a 5xx makes the platform send it again.
            guard await deliver(frame) else { return Response(status: 503, body: #"{"op":12,"d":1}"#) }
            return Response(status: 200, body: #"{"op":12,"d":0}"#)
        default:
            counters.noteAccepted(now())
            return Response(status: 200, body: #"{"op":12,"d":0}"#)
        }
    }

    private func refuse(_ status: Int, _ message: String) -> Response {
        counters.noteRefused(message)
        return Response(status: status, body: Self.json(["code": String(status), "message": message]))
    }

    static func json(_ object: [String: String]) -> String {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// `{"op":13,"d":{"plain_token","event_ts"}}`.
    struct ValidationCheck: Decodable {
        struct D: Decodable {
            var plainToken: String
            var eventTS: String
            enum CodingKeys: String, CodingKey { case plainToken = "plain_token", eventTS = "event_ts" }
        }
        var d: D
    }
}
