/// How a new connection should start.
enum GatewayPlan: Sendable, Equatable {
    case resume
    case identify
    case stop(reason: String)
}

/// Why a connection ended.
enum GatewayEndCause: Sendable, Equatable {
    /// The server closed the socket (close code when it sent one).
    case serverClosed(code: Int?)
    /// The socket failed or could not be opened.
    case transportError(String)
    /// No heartbeat ACK arrived before the next beat was due.
    case zombie
    /// Op 7.
    case reconnectRequested
    /// Op 9; `resumable` is its `d`.
    case invalidSession(resumable: Bool)
    /// No Hello in time.
    case helloTimeout
    /// No READY/RESUMED in time.
    case readyTimeout
    /// The owner asked for a fresh connection.
    case forced
    /// The session is shutting down.
    case shutdown

    /// A short phrase for the status bar.
    var summary: String {
        switch self {
        case .serverClosed(let code?): return "closed \(code)" + (CloseCodePolicy.meaning(code).map { " " + $0 } ?? "")
        case .serverClosed(nil): return "connection closed"
        case .transportError(let text): return text
        case .zombie: return "no heartbeat ACK"
        case .reconnectRequested: return "op 7 reconnect"
        case .invalidSession(let r): return r ? "op 9 (resumable)" : "op 9 invalid session"
        case .helloTimeout: return "no Hello"
        case .readyTimeout: return "no READY"
        case .forced: return "reconnect requested"
        case .shutdown: return "shutdown"
        }
    }
}

/// Frames the driver must send (it adds the token).
enum GatewayOutbound: Sendable, Equatable {
    case identify(intents: Int, shard: Shard)
    case resume(sessionID: String, seq: Int)
    case heartbeat(seq: Int?)
}

/// The gateway protocol as a pure state machine: frames and clock ticks in, actions out.
///
/// It owns what survives a reconnect (session id, last `s`) and what lives per connection
/// (phase, heartbeat, deadlines). The driver performs the actions; no I/O and no sleeping here.
struct GatewayStateMachine<Instant: InstantProtocol & Sendable>: Sendable where Instant.Duration == Duration {
    /// What the driver must do.
    enum Action: Sendable {
        case send(GatewayOutbound)
        /// A dispatch for the inbound pipeline (not READY/RESUMED).
        case dispatch(GatewayFrame)
        case ready(ReadyPayload)
        case resumed
        /// The heartbeat ACK arrived; RTT measured.
        case heartbeatAcknowledged(rtt: Duration?)
        /// A frame that needs the operator's attention but does not end the connection.
        case notice(String)
        /// End this connection (the driver closes the socket).
        case end(GatewayEndCause)
    }

    enum Phase: Sendable, Equatable { case closed, awaitingHello, identifying, resuming, ready }

    let intents: Int
    let shard: Shard
    let helloTimeout: Duration
    let readyTimeout: Duration
    /// Used when Hello carries no usable interval (the value cc-connect falls back to).
    let defaultHeartbeat: Duration = .milliseconds(41_250)

    private(set) var phase: Phase = .closed
    private(set) var sessionID: String?
    private(set) var lastSeq: Int?
    private(set) var heartbeatInterval: Duration?
    private(set) var lastRTT: Duration?
    private var plan: GatewayPlan = .identify
    /// Resumes sent in a row that the server never answered (one ignored Resume, or two cut off before
    /// any answer, → Identify).
    private(set) var failedResumes = 0
    /// The server answered this connection's Resume by replaying the session's events: the session
    /// exists, so losing the socket before RESUMED is a transport failure, not a sign it is gone.
    private var resumeAccepted = false
    private var awaitingAck = false
    /// A frame arrived since the last beat: the link is alive even if the ACK is still behind a
    /// backlog of dispatches (a client reading slower than the platform writes).
    private var heardSinceBeat = false
    private var lastBeatAt: Instant?
    private var nextBeatAt: Instant?
    private var deadline: Instant?

    init(intents: Int, shard: Shard, helloTimeout: Duration, readyTimeout: Duration) {
        self.intents = intents
        self.shard = shard
        self.helloTimeout = helloTimeout
        self.readyTimeout = readyTimeout
    }

    /// When the driver must call ``tick(now:)`` next (nil: nothing scheduled).
    var nextWakeup: Instant? {
        switch (deadline, nextBeatAt) {
        case let (d?, b?): return min(d, b)
        case let (d?, nil): return d
        case let (nil, b?): return b
        case (nil, nil): return nil
        }
    }

    /// A session kept from an earlier run: the next connection resumes it (and identifies afresh if
    /// the platform no longer has it).
    mutating func restore(sessionID: String, seq: Int) {
        guard phase == .closed, !sessionID.isEmpty, seq >= 0 else { return }
        self.sessionID = sessionID
        lastSeq = seq
    }

    /// A socket opened; `plan` says whether to resume.
    mutating func connectionOpened(plan: GatewayPlan, now: Instant) {
        self.plan = plan
        phase = .awaitingHello
        resumeAccepted = false
        awaitingAck = false
        lastBeatAt = nil
        nextBeatAt = nil
        deadline = now.advanced(by: helloTimeout)
    }

    /// A frame arrived.
    mutating func receive(_ frame: GatewayFrame, now: Instant) -> [Action] {
        heardSinceBeat = true
        switch frame.op {
        case GatewayOpcode.hello:
            return receiveHello(frame, now: now)
        case GatewayOpcode.dispatch:
            return receiveDispatch(frame)
        case GatewayOpcode.heartbeatAck:
            awaitingAck = false
            let rtt = lastBeatAt.map { $0.duration(to: now) }
            if let rtt { lastRTT = rtt }
            return [.heartbeatAcknowledged(rtt: rtt)]
        case GatewayOpcode.heartbeat:
            // The server asks for a beat now.
            return beat(now: now)
        case GatewayOpcode.reconnect:
            return [.end(.reconnectRequested)]
        case GatewayOpcode.invalidSession:
            if case .invalidSession(let resumable) = frame.payload { return [.end(.invalidSession(resumable: resumable))] }
            return [.end(.invalidSession(resumable: false))]
        default:
            return [.notice("unknown opcode \(frame.op) ignored")]
        }
    }

    private mutating func receiveHello(_ frame: GatewayFrame, now: Instant) -> [Action] {
        var interval = defaultHeartbeat
        if case .hello(let ms?) = frame.payload, ms > 0 { interval = .milliseconds(ms) }
        heartbeatInterval = interval
        nextBeatAt = now.advanced(by: interval)
        guard phase == .awaitingHello else { return [] }   // a repeated Hello only updates the interval
        deadline = now.advanced(by: readyTimeout)
        if plan == .resume, let sessionID, let lastSeq {
            phase = .resuming
            return [.send(.resume(sessionID: sessionID, seq: lastSeq))]
        }
        phase = .identifying
        sessionID = nil
        lastSeq = nil
        return [.send(.identify(intents: intents, shard: shard))]
    }

    private mutating func receiveDispatch(_ frame: GatewayFrame) -> [Action] {
        if let s = frame.s, s > 0 { lastSeq = s }
        switch frame.t {
        case "READY":
            guard case .ready(let ready) = frame.payload, !ready.sessionID.isEmpty else {
                return [.notice("READY without a session_id"), .end(.transportError("READY without a session_id"))]
            }
            sessionID = ready.sessionID
            phase = .ready
            deadline = nil
            failedResumes = 0
            return [.ready(ready)]
        case "RESUMED":
            phase = .ready
            deadline = nil
            failedResumes = 0
            return [.resumed]
        default:
            if phase == .resuming {
                // A replayed event: the server took the Resume. Its RESUMED comes after the replay,
                // however long that takes, so the READY deadline no longer applies.
                resumeAccepted = true
                failedResumes = 0
                deadline = nil
            }
            return [.dispatch(frame)]
        }
    }

    /// Time passed: deadlines and heartbeats.
    mutating func tick(now: Instant) -> [Action] {
        if let deadline, now >= deadline {
            self.deadline = nil
            return [.end(phase == .awaitingHello ? .helloTimeout : .readyTimeout)]
        }
        if let nextBeatAt, now >= nextBeatAt {
            if awaitingAck && !heardSinceBeat { self.nextBeatAt = nil; return [.end(.zombie)] }
            return beat(now: now)
        }
        return []
    }

    private mutating func beat(now: Instant) -> [Action] {
        awaitingAck = true
        heardSinceBeat = false
        lastBeatAt = now
        nextBeatAt = now.advanced(by: heartbeatInterval ?? defaultHeartbeat)
        return [.send(.heartbeat(seq: lastSeq))]
    }

    /// The connection is gone: decide how the next one starts. Clears the session when it cannot resume.
    mutating func connectionEnded(_ cause: GatewayEndCause) -> GatewayPlan {
        let wasResuming = phase == .resuming
        phase = .closed
        deadline = nil
        nextBeatAt = nil
        awaitingAck = false
        let decision: GatewayPlan
        switch cause {
        case .serverClosed(let code?):
            decision = CloseCodePolicy.plan(for: code, shard: shard)
        case .invalidSession(let resumable):
            decision = resumable ? .resume : .identify
        case .shutdown:
            decision = .stop(reason: "shut down")
        default:
            decision = .resume
        }
        switch decision {
        case .identify, .stop:
            sessionID = nil
            lastSeq = nil
            failedResumes = 0
            return decision
        case .resume:
            // A Resume the server ignored (no RESUMED in time) or that keeps being cut off before any
            // answer means the session is gone for the server too: start over rather than resume
            // until OFFLINE. One cut off during the replay was accepted: Identify would abandon the
            // events the platform still holds for the session, so resume again.
            if wasResuming, !resumeAccepted, cause != .forced {
                failedResumes += 1
                if cause == .readyTimeout || failedResumes >= 2 {
                    sessionID = nil
                    lastSeq = nil
                    failedResumes = 0
                    return .identify
                }
            }
            return sessionID != nil && lastSeq != nil ? .resume : .identify
        }
    }
}

/// What each gateway close code means for the next connection (qq-protocol.md §3.5).
enum CloseCodePolicy {
    /// Codes after which reconnecting cannot help: stop and say why.
    static func fatalReason(_ code: Int, shard: Shard) -> String? {
        switch code {
        case 4010: return "invalid shard [\(shard.index), \(shard.count)] (close 4010): fix [gateway] shard"
        case 4011: return "too many guilds for one shard (close 4011): raise the shard count"
        case 4012: return "invalid gateway version (close 4012)"
        case 4013: return "invalid intents (close 4013): fix [bot] intents"
        case 4014: return "intents not permitted for this bot (close 4014): request them on the QQ Open Platform or remove them from [bot] intents"
        case 4914: return "the bot is delisted; only the sandbox is allowed (close 4914): set [bot] sandbox = true"
        case 4915: return "the bot is banned (close 4915)"
        default: return nil
        }
    }

    /// The plan after a close with `code`.
    static func plan(for code: Int, shard: Shard) -> GatewayPlan {
        if let reason = fatalReason(code, shard: shard) { return .stop(reason: reason) }
        switch code {
        case 4001, 4002, 4003, 4005, 4006, 4007: return .identify
        case 4900...4913: return .identify
        // 4004 refused the token, not the session: the platform may have revoked a token our clock
        // still counts as valid. The next attempt fetches a fresh one and resumes, so the events the
        // platform holds for the session are replayed (refused twice in a row, the pacer gives up).
        default: return .resume   // 4004, 4008, 4009, 1000, 1001, 1006, unknown: keep the session
        }
    }

    /// A few words on a code, for status lines.
    static func meaning(_ code: Int) -> String? {
        switch code {
        case 4001: return "invalid opcode"
        case 4002: return "invalid payload"
        case 4003: return "not authenticated"
        case 4004: return "authentication failed"
        case 4005: return "already authenticated"
        case 4006: return "session invalid"
        case 4007: return "invalid seq"
        case 4008: return "rate limited"
        case 4009: return "session timed out"
        case 4900...4913: return "internal error"
        default: return nil
        }
    }
}
