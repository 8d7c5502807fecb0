import Foundation
import NIOWebSocket
import Synchronization
import WSCore

/// One WebSocket attempt: the writer once upgraded, and why it ended.
///
/// Several things can end a connection at once (the server's close, a missed ACK, op 7, the
/// operator's reconnect command): ``end(_:)`` is the atomic gate, and only the first cause counts.
final class GatewayConnection: Sendable {
    private struct State {
        var cause: GatewayEndCause?
        var outbound: WebSocketOutboundWriter?
        var ignoredEnds = 0
    }

    /// Increasing per attempt, for logs.
    let number: Int
    private let state = Mutex(State())
    private let endedContinuation: AsyncStream<Void>.Continuation
    /// Yields once when ``end(_:)`` wins.
    let ended: AsyncStream<Void>

    init(number: Int) {
        self.number = number
        (ended, endedContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// The cause that ended the connection, if it has ended.
    var cause: GatewayEndCause? { state.withLock { $0.cause } }

    /// How many end requests arrived after the first (they were ignored).
    var ignoredEnds: Int { state.withLock { $0.ignoredEnds } }

    /// Records the writer once the upgrade succeeded.
    func attach(_ outbound: WebSocketOutboundWriter) {
        state.withLock { $0.outbound = outbound }
    }

    /// Ends the connection with `cause`; returns false when it had already ended.
    @discardableResult
    func end(_ cause: GatewayEndCause) -> Bool {
        let won = state.withLock { s -> Bool in
            guard s.cause == nil else { s.ignoredEnds += 1; return false }
            s.cause = cause
            return true
        }
        if won {
            endedContinuation.yield()
            endedContinuation.finish()
        }
        return won
    }

    /// Sends a text frame; a failed write ends the connection.
    func send(_ text: String) async {
        guard let outbound = state.withLock({ $0.outbound }) else { return }
        do {
            try await outbound.write(.text(text))
        } catch {
            end(.transportError("write failed"))
        }
    }

    /// Starts the close handshake from our side. Code 4000 (not 1000) so the session stays resumable.
    func sendClose() async {
        guard let outbound = state.withLock({ $0.outbound }) else { return }
        try? await outbound.close(.unknown(4000), reason: "reconnecting")
    }
}

/// JSON of the frames the client sends.
enum GatewayPayloads {
    private struct Frame<D: Encodable>: Encodable { var op: Int; var d: D }
    private struct Identify: Encodable {
        var token: String; var intents: Int; var shard: [Int]; var properties: [String: String]
    }
    private struct Resume: Encodable {
        var token: String; var session_id: String; var seq: Int
    }

    /// The text of `frame`, with `authorization` (`QQBot <token>`) where the frame needs it.
    static func encode(_ frame: GatewayOutbound, authorization: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data: Data?
        switch frame {
        case .identify(let intents, let shard):
            data = try? encoder.encode(Frame(op: GatewayOpcode.identify, d: Identify(
                token: authorization, intents: intents, shard: [shard.index, shard.count],
                properties: ["$os": "linux", "$browser": "qqtui", "$device": "qqtui"])))
        case .resume(let sessionID, let seq):
            data = try? encoder.encode(Frame(op: GatewayOpcode.resume, d: Resume(token: authorization, session_id: sessionID, seq: seq)))
        case .heartbeat(let seq?):
            return "{\"op\":1,\"d\":\(seq)}"
        case .heartbeat(nil):
            return "{\"op\":1,\"d\":null}"
        }
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
