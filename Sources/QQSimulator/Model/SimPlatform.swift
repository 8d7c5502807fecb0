import AsyncHTTPClient
import Foundation

/// The simulated platform's state: tokens, gateway sessions and sockets, the messages users sent,
/// and the transcript of everything the bot sent. One actor, so every rule is applied in order.
public actor SimPlatform {
    /// What an open socket is told to do (its writer task performs it in order).
    enum Outgoing: Sendable {
        case text(String)
        case binary(Data)
        /// Stop reading and writing for good (the socket stays open, silent).
        case freeze
        /// A text frame with exactly these bytes (may be invalid UTF-8: for hostile-input tests).
        case rawText(Data)
        case close(code: Int, reason: String)
    }

    final class Connection {
        let id: Int
        let outbox: AsyncStream<Outgoing>.Continuation
        var sessionID: String?
        var stalled = false
        var frozen = false
        var closing = false
        var silent = false
        /// Op 9 (not resumable) went out before the client's Resume arrived: that Resume's session ends.
        var refusesResume = false
        var lastHeartbeat = Date()
        init(id: Int, outbox: AsyncStream<Outgoing>.Continuation) { self.id = id; self.outbox = outbox }
        func send(_ text: String) { if !closing && !frozen { outbox.yield(.text(text)) } }
        func close(_ code: Int, _ reason: String) {
            guard !closing else { return }
            closing = true
            outbox.yield(.close(code: code, reason: reason))
        }
    }

    final class GatewaySession {
        let id: String
        let intents: Int
        let shard: [Int]
        var seq = 0
        /// The highest `s` the client showed it has (heartbeat `d`, Resume `seq`).
        var confirmedSeq = 0
        var log: [(seq: Int, text: String, eventID: String)] = []
        var connectionID: Int?
        var disconnectedAt: Date?
        init(id: String, intents: Int, shard: [Int]) { self.id = id; self.intents = intents; self.shard = shard }
    }

    struct TokenInfo { var value: String; var expiresAt: Date }

    /// A message a simulated user sent: what replies to it are checked against.
    struct UserMessage {
        var id: String
        var eventID: String
        var isGroup: Bool
        var target: String        // user openid (C2C) or group openid
        var createdAt: Date
        var passiveReplies = 0
        var usedSeqs: Set<Int> = []
    }

    let configuration: SimulatorConfiguration
    /// The platform's time.
    nonisolated var clock: SimClock { configuration.clock }
    var tokens: [TokenInfo] = []
    /// Every token ever issued, oldest first (expiry and faults never remove one from here).
    var issued: [String] = []
    var connections: [Int: Connection] = [:]
    var sessions: [String: GatewaySession] = [:]
    var nextConnectionID = 0
    var userMessages: [String: UserMessage] = [:]
    var eventsByID: [String: UserMessage] = [:]
    /// When `userMessages` grows past this, expired entries are dropped (see `remember`).
    var rememberCheckAt = 200_000
    /// Burst messages (`BURST.<tag>.<i>`) answered, for `qqtui bench replies`.
    var answeredBurst: Set<String> = []
    var transcript: [SentRecord] = []
    var uploads: [String: (isGroup: Bool, expires: Date)] = [:]
    /// Callback buttons the bot sent: where, their id, data and label.
    var sentButtons: [(isGroup: Bool, target: String, id: String, data: String, label: String)] = []
    /// Chunked uploads in progress, those merged, bytes uploaded "today", and injected upload faults.
    var chunkUploads: [String: SimChunkUpload] = [:]
    var mergedUploads: [SimMergedUpload] = []
    var uploadedToday = 0
    var failPartUploads = 0
    var partFailures = 0
    var busyUploads = 0
    /// The webhook the simulator delivers to (nil: gateway only), its queue, faults and record.
    var webhookURL: String?
    var webhookQueue = AsyncStream.makeStream(of: (String, String, String, SimWebhookFault?).self).continuation
    var webhookTask: Task<Void, Never>?
    var webhookFaults: [SimWebhookFault] = []
    var webhookValidated = false
    var deliveries: [SimWebhookDelivery] = []
    var insecureClient: HTTPClient?
    var webhookAttempts = 0
    /// Presses dispatched (INTERACTION_CREATE) and their acknowledgements.
    var interactions: [SimInteraction] = []
    /// Messages the bot sent, by id: where, when, and their transcript entry (for recalls).
    var sentByID: [String: (isGroup: Bool, target: String, at: Date, record: Int)] = [:]
    var hostedFiles: [String: (data: Data, contentType: String)] = [:]
    var refuseCount: Int?
    var refuseUntil: Date?
    var refuseForever = false
    var rejectIdentify: (code: Int, count: Int)?
    var streams: [String: StreamState] = [:]
    var streamOrder: [String] = []
    var garble: (count: Int, body: String, contentType: String?, status: Int, delayMs: Int)?
    var delays: (count: Int, delayMs: Int)?
    var ignoreResumes = 0
    var withholdHellos = 0
    var oddResponses: [OddResponse] = []
    var stats = SimStats()
    /// The running chaos schedule (see SimPlatform+Chaos) and what it injected.
    var chaosTask: Task<Void, Never>?
    var chaos: SimChaosReport?
    /// Ids of messages queued for a gateway session that ended before the client confirmed them.
    var droppedWithSessions: Set<String> = []
    /// Sees every authorized send/upload request as it arrives, before the platform acts on it.
    var requestObserver: (@Sendable (_ path: String, _ body: JSONBody?) -> Void)?
    /// Set when the simulator stops: frozen sockets let go.
    var stopping = false
    /// Where the simulator is reachable (set once listening).
    var baseURL = "http://127.0.0.1"

    init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
    }

    func setBaseURL(_ url: String) { baseURL = url }
    func markStopping() {
        stopping = true
        chaosTask?.cancel()
        webhookQueue.finish()
        webhookTask?.cancel()
    }

    // MARK: - Tokens

    /// Issues the current token, rotating it in its last `tokenRotationWindow` seconds (the old one stays valid).
    func issueToken(appID: String, secret: String) -> (token: String, expiresIn: Int)? {
        let now = clock.now()
        stats.tokenRequests += 1
        guard appID == configuration.appID, secret == configuration.appSecret else { return nil }
        tokens.removeAll { $0.expiresAt <= now }
        if let current = tokens.last,
           current.expiresAt.timeIntervalSince(now) > Double(configuration.tokenRotationWindow) {
            return (current.value, Int(current.expiresAt.timeIntervalSince(now).rounded(.down)))
        }
        let token = TokenInfo(value: "SIMTOKEN-" + SimJSON.randomToken(32),
                              expiresAt: now.addingTimeInterval(Double(configuration.tokenLifetime)))
        tokens.append(token)
        issued.append(token.value)
        return (token.value, configuration.tokenLifetime)
    }

    /// Every access token the simulator has issued, oldest first: what a test greps logs and files for.
    public func issuedTokens() -> [String] { issued }

    /// Counts a token request answered by an injected odd response.
    func noteTokenRequest() { stats.tokenRequests += 1 }

    /// True when `token` (bare, without `QQBot `) is valid now.
    func isValid(token: String) -> Bool {
        let now = clock.now()
        return tokens.contains { $0.value == token && $0.expiresAt > now }
    }

    /// Checks an `Authorization` header; nil when fine, else the platform's (code, message).
    func checkAuthorization(_ header: String?) -> (code: Int, message: String)? {
        guard let header, !header.isEmpty else { return (11241, "缺少鉴权信息 (missing Authorization)") }
        if header.hasPrefix("Bot ") { return (11245, "固定Token已禁用，请使用AccessToken鉴权") }
        guard header.hasPrefix("QQBot "), isValid(token: String(header.dropFirst(6))) else {
            return (11244, "token not exist or expire")
        }
        return nil
    }

    // MARK: - Transcript

    func record(method: String, path: String, body: JSONBody?, status: Int, code: Int?, message: String?, id: String?) {
        var entry = SentRecord(index: transcript.count + 1, method: method, path: path, body: body, status: status,
                               code: code, message: message, id: id, at: clock.now())
        if let sid = id, let stream = streams[sid] {
            entry.streamID = sid
            entry.streamText = stream.record.text
        }
        transcript.append(entry)
        if status == 200, method == "POST", let id, sentByID[id] == nil,
           path.hasSuffix("/messages") || path.hasSuffix("/stream_messages") {
            let parts = path.split(separator: "/")
            if parts.count >= 4 {
                sentByID[id] = (parts[1] == "groups", String(parts[2]).removingPercentEncoding ?? String(parts[2]),
                                entry.at, transcript.count - 1)
            }
        }
    }

    /// Calls `body` with each authorized send or upload request (path, JSON body) as it arrives,
    /// before it is processed or answered: a test can check what the client did before sending.
    public func observeRequests(_ body: (@Sendable (_ path: String, _ body: JSONBody?) -> Void)?) {
        requestObserver = body
    }

    func noteRequest(path: String, body: JSONBody?) { requestObserver?(path, body) }

    /// Everything the bot sent, in order.
    public func sent() -> [SentRecord] { transcript }

    /// Forgets the transcript.
    public func clearSent() { transcript.removeAll() }

    /// Gateway counters.
    public func currentStats() -> SimStats {
        var s = stats
        s.liveConnections = connections.count
        s.sessions = sessions.values.sorted { $0.id < $1.id }.map {
            .init(id: $0.id, seq: $0.seq, connected: $0.connectionID != nil, shard: $0.shard, intents: $0.intents)
        }
        return s
    }

    // MARK: - Files

    /// Serves `data` at a URL of the simulator; returns the URL.
    public func host(data: Data, filename: String, contentType: String) -> String {
        let key = SimJSON.randomToken(16)
        hostedFiles[key] = (data, contentType)
        let name = filename.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "file"
        return baseURL + "/sim/files/" + key + "/" + (name.isEmpty ? "file" : name)
    }

    func hostedFile(_ key: String) -> (data: Data, contentType: String)? { hostedFiles[key] }

    /// The next queued odd answer for a request of `scope`, if any (after its `skip` count).
    func takeOddResponse(_ scope: OddResponse.Scope) -> OddResponse? {
        guard let index = oddResponses.firstIndex(where: { $0.scope == scope }) else { return nil }
        if oddResponses[index].skip > 0 {
            oddResponses[index].skip -= 1
            return nil
        }
        return oddResponses.remove(at: index)
    }

    /// The delay fault: how long to hold the next answer back, if active.
    func takeDelay() -> Int? {
        guard let d = delays else { return nil }
        delays = d.count > 1 ? (d.count - 1, d.delayMs) : nil
        return d.delayMs
    }

    /// The garble fault: the raw answer to give instead of the real one, if active.
    func takeGarble() -> OddResponse? {
        guard let g = garble else { return nil }
        garble = g.count > 1 ? (g.count - 1, g.body, g.contentType, g.status, g.delayMs) : nil
        return OddResponse(status: g.status, contentType: g.contentType, body: g.body, delayMs: g.delayMs)
    }
}
