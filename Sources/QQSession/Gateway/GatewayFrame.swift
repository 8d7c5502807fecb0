import Foundation

/// Gateway opcodes (qq-protocol.md §3.2).
enum GatewayOpcode {
    static let dispatch = 0
    static let heartbeat = 1
    static let identify = 2
    static let resume = 6
    static let reconnect = 7
    static let invalidSession = 9
    static let hello = 10
    static let heartbeatAck = 11
}

/// One decoded gateway frame `{op, d, s, t, id}`. Decoding never fails on a bad `d`: a payload
/// of the wrong shape becomes `.undecodable` so its `s` still counts and nothing is dropped silently.
struct GatewayFrame: Sendable {
    var op: Int
    var s: Int?
    var t: String?
    var id: String?
    var payload: Payload

    enum Payload: Sendable {
        case none
        case hello(heartbeatIntervalMs: Int?)
        case invalidSession(resumable: Bool)
        case ready(ReadyPayload)
        case message(MessagePayload)
        case groupRobot(GroupRobotPayload)
        case friend(FriendPayload)
        case interaction(InteractionPayload)
        case raw(JSONValue)
        case undecodable(reason: String, raw: JSONValue?)
    }

    /// Dispatch types decoded into typed payloads.
    static let messageTypes: Set<String> = ["C2C_MESSAGE_CREATE", "GROUP_AT_MESSAGE_CREATE", "GROUP_MESSAGE_CREATE"]

    /// Decodes a text frame; throws only when the envelope itself is not a JSON object with an `op`.
    static func decode(_ text: String) throws -> GatewayFrame {
        if let frame = GatewayFrameScanner.decode(text) { return frame }
        return try decode(Data(text.utf8))
    }

    static func decode(_ data: Data) throws -> GatewayFrame {
        try JSONDecoder().decode(GatewayFrame.self, from: data)
    }
}

extension GatewayFrame: Decodable {
    enum CodingKeys: String, CodingKey { case op, s, t, id, d }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        op = try c.decode(Int.self, forKey: .op)
        s = (try? c.decodeIfPresent(Int.self, forKey: .s)) ?? nil
        t = (try? c.decodeIfPresent(String.self, forKey: .t)) ?? nil
        id = (try? c.decodeIfPresent(String.self, forKey: .id)) ?? nil
        payload = Self.decodePayload(op: op, t: t, container: c)
    }

    private static func decodePayload(op: Int, t: String?, container c: KeyedDecodingContainer<CodingKeys>) -> Payload {
        switch op {
        case GatewayOpcode.hello:
            let hello = try? c.decodeIfPresent(HelloPayload.self, forKey: .d)
            return .hello(heartbeatIntervalMs: hello?.heartbeatInterval)
        case GatewayOpcode.invalidSession:
            return .invalidSession(resumable: ((try? c.decodeIfPresent(Bool.self, forKey: .d)) ?? nil) ?? false)
        case GatewayOpcode.dispatch:
            guard let t else { return .undecodable(reason: "dispatch without t", raw: try? c.decodeIfPresent(JSONValue.self, forKey: .d)) }
            return decodeDispatch(t: t, container: c)
        default:
            return .none
        }
    }

    private static func decodeDispatch(t: String, container c: KeyedDecodingContainer<CodingKeys>) -> Payload {
        func typed<P: Decodable>(_ type: P.Type, _ wrap: (P) -> Payload) -> Payload {
            do {
                guard let p = try c.decodeIfPresent(P.self, forKey: .d) else {
                    return .undecodable(reason: "\(t) without d", raw: nil)
                }
                return wrap(p)
            } catch {
                return .undecodable(reason: "\(t): \(RESTClient.describe(error))",
                                    raw: try? c.decodeIfPresent(JSONValue.self, forKey: .d))
            }
        }
        switch t {
        case "READY": return typed(ReadyPayload.self) { .ready($0) }
        case "RESUMED": return .none
        case _ where messageTypes.contains(t): return typed(MessagePayload.self) { .message($0) }
        case "GROUP_ADD_ROBOT", "GROUP_DEL_ROBOT", "GROUP_MSG_REJECT", "GROUP_MSG_RECEIVE":
            return typed(GroupRobotPayload.self) { .groupRobot($0) }
        case "FRIEND_ADD", "FRIEND_DEL", "C2C_MSG_REJECT", "C2C_MSG_RECEIVE":
            return typed(FriendPayload.self) { .friend($0) }
        case "INTERACTION_CREATE":
            return typed(InteractionPayload.self) { .interaction($0) }
        default:
            return .raw((try? c.decodeIfPresent(JSONValue.self, forKey: .d)) ?? .null)
        }
    }
}

struct HelloPayload: Decodable { var heartbeatInterval: Int?
    enum CodingKeys: String, CodingKey { case heartbeatInterval = "heartbeat_interval" }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        heartbeatInterval = (try? c.decodeIfPresent(Int.self, forKey: .heartbeatInterval)) ?? nil
    }
}

/// READY's `d`.
struct ReadyPayload: Decodable, Sendable {
    var version: Int?
    var sessionID: String
    var user: User?
    var shard: [Int]?

    struct User: Decodable, Sendable { var id: String?; var username: String?; var bot: Bool? }
    enum CodingKeys: String, CodingKey { case version, sessionID = "session_id", user, shard }
}

/// A C2C or group message's `d` (lenient: only `id` is required).
struct MessagePayload: Decodable, Sendable {
    var id: String
    var content: String
    var timestamp: String?
    var author: Author
    var attachments: [AttachmentPayload]
    var groupOpenID: String?
    var groupID: String?
    var messageType: Int?
    var mentions: [Mention]
    var referencedMessageID: String?

    struct Author: Decodable, Sendable {
        var id: String?; var userOpenID: String?; var memberOpenID: String?; var unionOpenID: String?
        var username: String?; var bot: Bool?; var memberRole: String?
        enum CodingKeys: String, CodingKey {
            case id, userOpenID = "user_openid", memberOpenID = "member_openid", unionOpenID = "union_openid"
            case username, bot, memberRole = "member_role"
        }
    }
    struct Mention: Decodable, Sendable {
        var id: String?; var memberOpenID: String?; var isYou: Bool?; var bot: Bool?; var scope: String?
        enum CodingKeys: String, CodingKey { case id, memberOpenID = "member_openid", isYou = "is_you", bot, scope }
    }
    struct Reference: Decodable { var messageID: String?
        enum CodingKeys: String, CodingKey { case messageID = "message_id" } }

    enum CodingKeys: String, CodingKey {
        case id, content, timestamp, author, attachments, groupOpenID = "group_openid", groupID = "group_id"
        case messageType = "message_type", mentions, reference = "message_reference"
    }

    init(id: String, content: String, timestamp: String?, author: Author, attachments: [AttachmentPayload], groupOpenID: String?,
         groupID: String?, messageType: Int?, mentions: [Mention], referencedMessageID: String?) {
        self.id = id
        self.content = content
        self.timestamp = timestamp
        self.author = author
        self.attachments = attachments
        self.groupOpenID = groupOpenID
        self.groupID = groupID
        self.messageType = messageType
        self.mentions = mentions
        self.referencedMessageID = referencedMessageID
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        content = try c.decodeIfPresent(String.self, forKey: .content) ?? ""
        timestamp = (try? c.decodeIfPresent(String.self, forKey: .timestamp)) ?? nil
        author = try c.decodeIfPresent(Author.self, forKey: .author)
            ?? Author(id: nil, userOpenID: nil, memberOpenID: nil, unionOpenID: nil, username: nil, bot: nil, memberRole: nil)
        attachments = try c.decodeIfPresent([AttachmentPayload].self, forKey: .attachments) ?? []
        groupOpenID = try c.decodeIfPresent(String.self, forKey: .groupOpenID)
        groupID = (try? c.decodeIfPresent(String.self, forKey: .groupID)) ?? nil
        messageType = (try? c.decodeIfPresent(Int.self, forKey: .messageType)) ?? nil
        mentions = ((try? c.decodeIfPresent([Mention].self, forKey: .mentions)) ?? nil) ?? []
        referencedMessageID = ((try? c.decodeIfPresent(Reference.self, forKey: .reference)) ?? nil)?.messageID
    }
}

/// One entry of `attachments`.
struct AttachmentPayload: Decodable, Sendable {
    var contentType: String?
    var filename: String?
    var url: String?
    var size: Int?
    var width: Int?
    var height: Int?

    enum CodingKeys: String, CodingKey {
        case contentType = "content_type", filename, url, size, width, height
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        contentType = (try? c.decodeIfPresent(String.self, forKey: .contentType)) ?? nil
        filename = (try? c.decodeIfPresent(String.self, forKey: .filename)) ?? nil
        url = (try? c.decodeIfPresent(String.self, forKey: .url)) ?? nil
        size = Self.flexibleInt(c, .size)
        width = Self.flexibleInt(c, .width)
        height = Self.flexibleInt(c, .height)
    }

    /// The platform has sent sizes both as numbers and as strings.
    private static func flexibleInt(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) -> Int? {
        if let n = (try? c.decodeIfPresent(Int.self, forKey: key)) ?? nil { return n }
        if let s = (try? c.decodeIfPresent(String.self, forKey: key)) ?? nil { return Int(s) }
        return nil
    }
}

/// GROUP_ADD_ROBOT / GROUP_DEL_ROBOT / GROUP_MSG_REJECT / GROUP_MSG_RECEIVE.
struct GroupRobotPayload: Decodable, Sendable {
    var groupOpenID: String
    var opMemberOpenID: String?
    var timestamp: JSONValue?
    enum CodingKeys: String, CodingKey { case groupOpenID = "group_openid", opMemberOpenID = "op_member_openid", timestamp }
}

/// FRIEND_ADD / FRIEND_DEL / C2C_MSG_REJECT / C2C_MSG_RECEIVE.
struct FriendPayload: Decodable, Sendable {
    var openID: String
    var timestamp: JSONValue?
    enum CodingKeys: String, CodingKey { case openID = "openid", timestamp }
}
