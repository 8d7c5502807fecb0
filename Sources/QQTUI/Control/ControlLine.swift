import Foundation
import QQSession

/// The control socket's protocol: one JSON object per line, `t` names the kind. The console sends a
/// `hello` first and serve answers `welcome` (then a `snapshot`) or `refused`; after that, commands
/// go in and events come out. docs/qqbot.md lists every line.
enum ControlProtocol {
    /// Bumped whenever a line changes meaning; serve refuses a console of another version.
    static let version = 1
    /// The longest line either side accepts (an image travels inline, base64).
    static let maxLine = 16 << 20
    /// The largest image a console may send through the socket.
    static let maxImage = 10 << 20
    /// How long serve waits for a new connection's `hello`.
    static let helloTimeout = Duration.seconds(10)

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601withFraction
        e.outputFormatting = [.withoutEscapingSlashes]   // every event is encoded once per run of consoles: no key sorting
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601withFraction
        return d
    }()

    /// `value` as one line (newline included).
    static func line(_ value: some Encodable) -> Data {
        var data = (try? encoder.encode(value)) ?? Data(#"{"t":"error","message":"cannot encode"}"#.utf8)
        data.append(0x0A)
        return data
    }
}

extension JSONEncoder.DateEncodingStrategy {
    /// ISO 8601 with milliseconds (two events in one second keep their order).
    static let iso8601withFraction = JSONEncoder.DateEncodingStrategy.custom { date, encoder in
        var c = encoder.singleValueContainer()
        try c.encode(ControlDates.format(date))
    }
}

extension JSONDecoder.DateDecodingStrategy {
    /// Reads what ``JSONEncoder/DateEncodingStrategy/iso8601withFraction`` writes (and plain ISO 8601).
    static let iso8601withFraction = JSONDecoder.DateDecodingStrategy.custom { decoder in
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let date = ControlDates.parse(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 date: \(text)")
        }
        return date
    }
}

/// ISO 8601 dates with milliseconds in UTC (`2026-12-04T19:59:13.123Z`), thread-safe.
enum ControlDates {
    /// Written by hand: Foundation's format styles cost more than the rest of an event's encoding.
    static func format(_ date: Date) -> String {
        let ms = (date.timeIntervalSince1970 * 1000).rounded(.down)
        var seconds = time_t(Int64((ms / 1000).rounded(.down)))
        let millis = Int(ms - Double(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var out = [UInt8]()
        out.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var v = max(0, value)
            for _ in 0..<count {
                out.append(UInt8(48 + (v / divisor) % 10))
                v %= divisor
                divisor = max(1, divisor / 10)
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); out.append(45)
        digits(Int(parts.tm_mon) + 1, 2); out.append(45)
        digits(Int(parts.tm_mday), 2); out.append(84)
        digits(Int(parts.tm_hour), 2); out.append(58)
        digits(Int(parts.tm_min), 2); out.append(58)
        digits(Int(parts.tm_sec), 2); out.append(46)
        digits(millis, 3); out.append(90)
        return String(decoding: out, as: UTF8.self)
    }

    static func parse(_ text: String) -> Date? {
        if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return d }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}

/// A line from a console (or `qqtui status`) to serve. Only the fields its `t` needs are set.
struct ClientLine: Codable, Sendable, Equatable {
    var t: String
    /// `hello`: the protocol the console speaks.
    var protocolVersion: Int?
    /// `hello`: the console's operator; `console` or `status`.
    var operatorName: String?
    var role: String?
    var client: String?
    var conversation: ConversationID?
    var text: String?
    var replyTo: String?
    var draft: UUID?
    var owner: Owner?
    var request: String?
    var option: String?
    var before: String?
    var uid: String?
    var openID: String?
    var name: String?
    var query: String?
    /// `image`: the file's name and its bytes, base64.
    var filename: String?
    var data: String?
    /// `image`: what the file is sent as (`image` when absent).
    var kind: String?
    /// `presence`: the operator's composer holds text for this conversation.
    var typing: Bool?

    enum CodingKeys: String, CodingKey {
        case t, protocolVersion = "protocol", operatorName = "operator", role, client, conversation, text, replyTo = "reply_to",
             draft, owner, request, option, before, uid, openID = "openid", name, query, filename, data, kind, typing
    }

    init(t: String) { self.t = t }

    /// The `hello` a console opens with.
    static func hello(operatorName: String, role: String = "console") -> ClientLine {
        var l = ClientLine(t: "hello")
        l.protocolVersion = ControlProtocol.version
        l.operatorName = operatorName
        l.role = role
        l.client = "qqtui " + QQTUIVersion.string
        return l
    }
}

/// A line from serve to a console.
struct ServerLine: Codable, Sendable {
    var t: String
    var protocolVersion: Int?
    /// `welcome`: serve's pid, and the id other consoles know this one by.
    var pid: Int32?
    var console: Int?
    /// `refused`, `error`: why.
    var reason: String?
    var event: SessionEvent?
    var snapshot: ControlSnapshot?
    var conversation: ConversationID?
    var route: ReplyRoute?
    var messages: [StoredMessage]?
    var complete: Bool?
    var query: String?
    var openID: String?
    var name: String?
    var message: String?
    var level: Notice.Level?
    var consoles: [PresenceEntry]?
    var draft: UUID?
    var by: String?
    var status: ServeStatus?

    enum CodingKeys: String, CodingKey {
        case t, protocolVersion = "protocol", pid, console, reason, event, snapshot, conversation, route, messages, complete,
             query, openID = "openid", name, message, level, consoles, draft, by, status
    }

    init(t: String) { self.t = t }

    static func refused(_ reason: String) -> ServerLine {
        var l = ServerLine(t: "refused")
        l.reason = reason
        l.protocolVersion = ControlProtocol.version
        return l
    }

    static func error(_ reason: String) -> ServerLine {
        var l = ServerLine(t: "error")
        l.reason = reason
        return l
    }
}

/// One console attached to serve, as every console sees it.
struct PresenceEntry: Codable, Sendable, Equatable {
    /// The console's id (unique for serve's run).
    var console: Int
    var operatorName: String
    /// The conversation on its screen.
    var open: ConversationID?
    /// When its operator last typed a reply there (stale after ``PresenceEntry/typingLasts``).
    var typingAt: Date?

    enum CodingKeys: String, CodingKey { case console, operatorName = "operator", open, typingAt = "typing_at" }

    /// A composer left alone this long no longer counts as typing.
    static let typingLasts: TimeInterval = 30

    /// True while the operator is typing in `conversation`.
    func isTyping(in conversation: ConversationID, now: Date) -> Bool {
        guard open == conversation, let at = typingAt else { return false }
        return now.timeIntervalSince(at) < Self.typingLasts
    }
}

/// What an attaching console starts with (and gets again when it fell behind or serve restarted).
struct ControlSnapshot: Codable, Sendable {
    var gateway: GatewayStatus
    var agentName: String?
    var conversations: [ConversationSummary]
    var aliases: [String: String]
    var routes: [RouteEntry]
    var drafts: [AgentDraft]
    var turns: [TurnSnapshot]
    var consoles: [PresenceEntry]
    /// serve's passive reply budgets (C2C, group): the console shows `left/budget`.
    var c2cBudget: Int?
    var groupBudget: Int?

    struct RouteEntry: Codable, Sendable {
        var conversation: ConversationID
        var route: ReplyRoute
    }
}

/// An agent turn under way: what a console attaching mid-stream needs to show it growing.
struct TurnSnapshot: Codable, Sendable, Equatable {
    var conversation: ConversationID
    var turnID: UUID
    var mode: Owner
    var backend: String
    var outboundID: String?
    var replyTo: String?
    var startedAt: Date
    /// The answer so far.
    var text: String
    /// With member sessions: the group member it answers.
    var member: String? = nil
}

/// `qqtui status`: a running serve's state.
struct ServeStatus: Codable, Sendable {
    var pid: Int32
    var startedAt: Date
    var appID: String
    var socket: String
    var store: String
    var gateway: GatewayStatus
    var agent: String?
    var consoles: [ConsoleStatus]
    /// Conversations whose user waits for an answer.
    var waiting: Int
    var agentTurns: Int

    struct ConsoleStatus: Codable, Sendable {
        var console: Int
        var operatorName: String
        var open: ConversationID?
        var connectedAt: Date
        /// Bytes queued for it right now.
        var queuedBytes: Int
        /// Times it fell behind and was sent a fresh snapshot instead of the backlog.
        var resyncs: Int
        enum CodingKeys: String, CodingKey { case console, operatorName = "operator", open, connectedAt = "connected_at",
                                             queuedBytes = "queued_bytes", resyncs }
    }

    enum CodingKeys: String, CodingKey { case pid, startedAt = "started_at", appID = "app_id", socket, store, gateway, agent,
                                         consoles, waiting, agentTurns = "agent_turns" }
}
