import Foundation

/// The gateway connection as the status bar shows it.
public struct GatewayStatus: Sendable, Hashable, Codable {
    /// Where the connection is.
    public enum Phase: Sendable, Hashable, Codable {
        /// Not started.
        case idle
        /// Opening the WebSocket (attempt n).
        case connecting(attempt: Int)
        /// Identify sent, waiting for READY.
        case identifying
        /// Resume sent, waiting for RESUMED.
        case resuming
        /// READY or RESUMED: events flow.
        case ready(sessionID: String)
        /// Waiting before attempt `attempt` of `maxAttempts`.
        case reconnecting(attempt: Int, maxAttempts: Int, nextInMs: Int, reason: String)
        /// Not connected and not retrying; `reason` says why. A forced reconnect starts again.
        case offline(reason: String)
        /// The webhook transport: listening on `address`; callbacks accepted and refused so far.
        case webhook(address: String, accepted: Int, refused: Int)
    }

    /// Current phase.
    public var phase: Phase
    /// Last dispatch sequence number (`s`).
    public var lastSeq: Int?
    /// Round trip of the last heartbeat, in milliseconds.
    public var heartbeatRTTMs: Int?
    /// Seconds until the access token expires.
    public var tokenTTLSeconds: Int?
    /// The bot's user id (from READY).
    public var botID: String?
    /// The bot's name (from READY).
    public var botName: String?
    /// The last connection error, if any.
    public var lastError: String?
    /// Sessions identified since start.
    public var identifyCount: Int
    /// Sessions resumed since start.
    public var resumeCount: Int

    /// A status in `phase` with nothing known yet.
    public init(phase: Phase = .idle) {
        self.phase = phase
        self.identifyCount = 0
        self.resumeCount = 0
    }

    /// True while events flow.
    public var isReady: Bool {
        switch phase {
        case .ready, .webhook: return true
        default: return false
        }
    }

    /// `READY s=1234 hb 38ms`, `reconnecting 3/30 in 4.0s (closed 4009)`, `OFFLINE: …`.
    public var summary: String {
        var text: String
        switch phase {
        case .idle: text = "idle"
        case .connecting(let n): text = n > 1 ? "connecting (attempt \(n))" : "connecting"
        case .identifying: text = "identifying"
        case .resuming: text = "resuming"
        case .ready: text = "READY"
        case .reconnecting(let n, let max, let ms, let reason):
            text = "reconnecting \(n)/\(max) in \(Duration.milliseconds(ms).shortDescription) (\(reason))"
        case .offline(let reason): text = "OFFLINE: \(reason)"
        case .webhook(let address, let accepted, let refused):
            return "webhook \(address) · \(accepted) callback\(accepted == 1 ? "" : "s")" + (refused > 0 ? " · \(refused) refused" : "")
        }
        if isReady {
            if let lastSeq { text += " s=\(lastSeq)" }
            if let heartbeatRTTMs { text += " hb \(heartbeatRTTMs)ms" }
        }
        return text
    }
}
