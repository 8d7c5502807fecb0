import Foundation

/// One request the bot made to a send or upload endpoint, and how the simulator answered.
public struct SentRecord: Sendable, Codable, Hashable {
    /// Order of arrival (1, 2, …).
    public var index: Int
    public var method: String
    /// The request path, e.g. `/v2/users/U1/messages`.
    public var path: String
    /// The JSON body as sent.
    public var body: JSONBody?
    /// HTTP status answered.
    public var status: Int
    /// QQ error code when refused.
    public var code: Int?
    /// Error message when refused.
    public var message: String?
    /// Message id when accepted (for a stream frame: the stream id).
    public var id: String?
    public var at: Date
    /// For a stream frame: its stream's id, and the stream's whole text after this frame.
    public var streamID: String?
    public var streamText: String?
    /// When the bot recalled the message this request created (`DELETE …/messages/{id}`).
    public var recalledAt: Date?
}

/// A faithful copy of a JSON value (the simulator keeps request bodies exactly).
///
/// Deliberately not shared with QQSession's `JSONValue`: the simulator must not depend on the client
/// it is used to test, so a decoding bug on one side cannot hide the same bug on the other.
public indirect enum JSONBody: Sendable, Codable, Hashable {
    case null, bool(Bool), number(Double), string(String), array([JSONBody]), object([String: JSONBody])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONBody].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONBody].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONBody? {
        if case .object(let o) = self, let v = o[key], v != .null { return v }
        return nil
    }
    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var int: Int? {
        if case .number(let n) = self, n == n.rounded(), abs(n) < 9e15 { return Int(n) }
        if case .string(let s) = self { return Int(s) }
        return nil
    }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var array: [JSONBody]? { if case .array(let a) = self { return a }; return nil }

    /// Parses JSON bytes (nil when not JSON).
    public static func parse(_ data: Data) -> JSONBody? {
        try? JSONDecoder().decode(JSONBody.self, from: data)
    }

    /// Compact JSON text, keys sorted, slashes unescaped.
    public var text: String {
        (try? SimJSON.encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}

/// A fault the simulator injects into the gateway.
public enum SimFault: Sendable, Hashable {
    /// Close every live gateway socket with `code` (4009 by default).
    case close(code: Int)
    /// Send op 7, then close with 4009.
    case reconnect
    /// Send op 9 with `d = resumable`, then close.
    case invalidSession(resumable: Bool)
    /// Stop answering heartbeats on the sockets open now (a half-dead link).
    case stallAcks
    /// The sockets open now go completely silent: nothing read, nothing written, not even a close
    /// frame (a dead TCP link, a crashed peer).
    case freeze
    /// Refuse WebSocket upgrades: for `count` attempts, or for `seconds`, or until cleared.
    case refuseConnections(count: Int?, seconds: Double?)
    /// Invalidate every access token (REST answers 401 until the client fetches a new one).
    case expireTokens
    /// Close the next `count` Identify/Resume attempts with `code` (4004 bad token, 4013, 4914, …).
    case rejectIdentify(code: Int, count: Int)
    /// Leave the next `count` Resume requests unanswered (no RESUMED, no op 9).
    case ignoreResume(count: Int)
    /// Send no Hello on the next `count` connections (and ignore their Identify/Resume).
    case withholdHello(count: Int)
    /// Answer the next API (or token) requests with these raw responses instead of the real ones.
    case oddResponses([OddResponse])
    /// Process the next `count` send requests normally but answer them with `body` (e.g. `{}` with
    /// no id, an empty body, or text that is not JSON) and `status` (a 502 after the message was
    /// taken: the client cannot know it got through), after `delayMs`.
    case garbleAnswers(count: Int, body: String, contentType: String?, status: Int = 200, delayMs: Int = 0)
    /// Process the next `count` send/upload requests normally and answer them normally, after `delayMs`.
    case delayAnswers(count: Int, delayMs: Int)
    /// The next `count` PUTs of chunked-upload parts fail with HTTP 500.
    case failPartUploads(count: Int)
    /// The next `count` upload API steps (prepare, part finish, merge) answer 40093001 (busy, retry).
    case busyUploads(count: Int)
    /// Undo stall, refuse, reject and pending odd responses.
    case clear
}

/// A raw HTTP answer the simulator gives instead of the real one (malformed bodies, 429, 5xx, slowness).
public struct OddResponse: Sendable, Hashable, Codable {
    /// Which requests it replaces.
    public enum Scope: String, Sendable, Hashable, Codable { case api, token }
    public var scope: Scope
    public var status: Int
    /// `nil` sends no Content-Type header.
    public var contentType: String?
    public var body: String
    /// Waits this long before answering.
    public var delayMs: Int
    /// Lets this many matching requests through first (to hit the middle of a stream).
    public var skip: Int

    public init(scope: Scope = .api, status: Int = 200, contentType: String? = "application/json", body: String,
                delayMs: Int = 0, skip: Int = 0) {
        self.scope = scope
        self.status = status
        self.contentType = contentType
        self.body = body
        self.delayMs = delayMs
        self.skip = skip
    }

    enum CodingKeys: String, CodingKey { case scope, status, contentType = "content_type", body, delayMs = "delay_ms", skip }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scope = try c.decodeIfPresent(Scope.self, forKey: .scope) ?? .api
        status = try c.decodeIfPresent(Int.self, forKey: .status) ?? 200
        contentType = try c.decodeIfPresent(String.self, forKey: .contentType)
        body = try c.decodeIfPresent(String.self, forKey: .body) ?? ""
        delayMs = try c.decodeIfPresent(Int.self, forKey: .delayMs) ?? 0
        skip = try c.decodeIfPresent(Int.self, forKey: .skip) ?? 0
    }
}

extension SimFault {
    /// True for a close code a server may send: 1000…4999 but the reserved 1004-1006 and 1015.
    public static func isSendableCloseCode(_ code: Int) -> Bool {
        (1000...4999).contains(code) && ![1004, 1005, 1006, 1015].contains(code)
    }
}

/// A C2C stream as the simulated platform saw it.
public struct SimStreamRecord: Sendable, Codable, Hashable {
    /// One frame.
    public struct Frame: Sendable, Codable, Hashable {
        public var index: Int
        public var state: Int
        public var text: String
        public var msgSeq: Int?
        /// When the platform accepted it (seconds since 1970), for pacing measurements.
        public var at: Double?
    }
    /// The stream id the platform gave.
    public var id: String
    public var msgID: String
    public var userOpenID: String
    /// `legacy` or `stream_messages`.
    public var api: String
    public var frames: [Frame]
    /// Everything appended, in order (what the user saw while it streamed).
    public var text: String
    /// A closing frame (state 10) arrived.
    public var closed: Bool
    /// Never closed in time: QQ rolled the message back to its first chunk.
    public var rolledBack: Bool
    /// What the user sees now (all text, or the first chunk after a roll-back).
    public var visibleText: String

    enum CodingKeys: String, CodingKey {
        case id, msgID = "msg_id", userOpenID = "user_openid", api, frames, text, closed, rolledBack = "rolled_back"
        case visibleText = "visible_text"
    }
}

/// Counters of what happened on the simulated gateway.
public struct SimStats: Sendable, Codable, Hashable {
    public var tokenRequests = 0
    public var connectionsOpened = 0
    public var upgradesRefused = 0
    public var liveConnections = 0
    public var maxConcurrentConnections = 0
    public var identifies = 0
    public var resumes = 0
    public var invalidSessions = 0
    public var heartbeats = 0
    public var acks = 0
    public var heartbeatTimeouts = 0
    public var dispatched = 0
    public var replayed = 0
    /// Messages queued for a session that ended (non-resumable) before the client confirmed them.
    public var droppedWithSessions = 0
    public var sessions: [SessionInfo] = []

    public struct SessionInfo: Sendable, Codable, Hashable {
        public var id: String
        public var seq: Int
        public var connected: Bool
        public var shard: [Int]
        public var intents: Int
    }
}

/// What a control call that dispatched a message returns.
public struct SimDispatchResult: Sendable, Codable, Hashable {
    /// The message id (`msg_id` for replies).
    public var id: String
    /// The envelope id (`event_id`).
    public var eventID: String
    /// Gateway sessions it was delivered or queued to.
    public var delivered: Int

    enum CodingKeys: String, CodingKey { case id, eventID = "event_id", delivered }
}

/// An attachment for a simulated user message.
public struct SimAttachment: Sendable, Codable, Hashable {
    public var contentType: String
    public var filename: String
    /// Served by the simulator when `data` is given; else used as is.
    public var url: String?
    public var data: Data?
    public var width: Int?
    public var height: Int?
    public var size: Int?

    public init(contentType: String, filename: String, url: String? = nil, data: Data? = nil,
                width: Int? = nil, height: Int? = nil, size: Int? = nil) {
        self.contentType = contentType
        self.filename = filename
        self.url = url
        self.data = data
        self.width = width
        self.height = height
        self.size = size
    }
}
