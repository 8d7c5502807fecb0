import FuzzSupport

/// A valid C2C or group message dispatch, field by field: generated at random, written as JSON, and
/// compared with what the decoder made of it.
struct MessageFrameModel {
    struct Attachment { var contentType: String?; var filename: String?; var url: String?; var size: Int?; var sizeAsText: Bool
        var width: Int?; var height: Int? }
    struct Mention { var id: String?; var memberOpenID: String?; var isYou: Bool? }

    var s: Int?
    var t: String
    var eventID: String?
    var id: String
    var content: String?
    var timestamp: String?
    var authorID: String?
    var userOpenID: String?
    var memberOpenID: String?
    var username: String?
    var bot: Bool?
    var role: String?
    var attachments: [Attachment]
    var groupOpenID: String?
    var groupID: String?
    var messageType: Int?
    var mentions: [Mention]
    var referencedID: String?

    /// A random valid frame: every optional field present or absent, every string hostile.
    static func random<R: RandomNumberGenerator>(_ rng: inout R) -> MessageFrameModel {
        func maybe<T>(_ make: (inout R) -> T) -> T? { rng.chance(0.7) ? make(&rng) : nil }
        func text(_ rng: inout R) -> String { Hostile.string(&rng, maxLength: rng.chance(0.05) ? 5000 : 30) }
        func int(_ rng: inout R) -> Int { rng.chance(0.8) ? rng.small(-10...1_000_000) : Int.random(in: .min ... .max, using: &rng) }
        let t = rng.pick(Array(GatewayFrameTypes.messages))
        return MessageFrameModel(
            s: maybe(int), t: t, eventID: maybe(text), id: text(&rng), content: maybe(text),
            timestamp: maybe { rng in rng.chance(0.5) ? "2026-11-22T10:00:00+08:00" : text(&rng) },
            authorID: maybe(text), userOpenID: maybe(text), memberOpenID: maybe(text), username: maybe(text),
            bot: maybe { $0.chance(0.5) }, role: maybe(text),
            attachments: (0..<rng.small(0...3)).map { _ in
                Attachment(contentType: maybe(text), filename: maybe(text), url: maybe(text), size: maybe(int),
                           sizeAsText: rng.chance(0.3), width: maybe(int), height: maybe(int))
            },
            groupOpenID: maybe(text), groupID: maybe(text), messageType: maybe(int),
            mentions: (0..<rng.small(0...3)).map { _ in Mention(id: maybe(text), memberOpenID: maybe(text), isYou: maybe { $0.chance(0.5) }) },
            referencedID: maybe(text))
    }

    /// The frame as JSON (absent fields left out, or sometimes written as null where the decoder allows it).
    var json: JSONText {
        func field(_ key: String, _ value: String?) -> [(String, JSONText)] { value.map { [(key, .string($0))] } ?? [] }
        func field(_ key: String, _ value: Int?) -> [(String, JSONText)] { value.map { [(key, .int($0))] } ?? [] }
        func field(_ key: String, _ value: Bool?) -> [(String, JSONText)] { value.map { [(key, .bool($0))] } ?? [] }
        var author: [(String, JSONText)] = field("id", authorID) + field("user_openid", userOpenID)
        author += field("member_openid", memberOpenID) + field("username", username) + field("bot", bot) + field("member_role", role)
        let attachmentList: [JSONText] = attachments.map { a in
            let size: [(String, JSONText)] = a.size.map { [("size", a.sizeAsText ? .string(String($0)) : .int($0))] } ?? []
            return .object(field("content_type", a.contentType) + field("filename", a.filename) + field("url", a.url) + size
                           + field("width", a.width) + field("height", a.height))
        }
        var d: [(String, JSONText)] = [("id", .string(id))] + field("content", content) + field("timestamp", timestamp)
        d += [("author", .object(author)), ("attachments", .array(attachmentList))]
        d += field("group_openid", groupOpenID) + field("group_id", groupID) + field("message_type", messageType)
        d.append(("mentions", .array(mentions.map { .object(field("id", $0.id) + field("member_openid", $0.memberOpenID) + field("is_you", $0.isYou)) })))
        if let referencedID { d.append(("message_reference", .object([("message_id", .string(referencedID))]))) }
        var frame: [(String, JSONText)] = [("op", .int(0))] + field("s", s) + [("t", .string(t))] + field("id", eventID)
        frame.append(("d", .object(d)))
        return .object(frame)
    }
}

/// Dispatch types the decoder gives typed payloads.
enum GatewayFrameTypes {
    static let messages: Set<String> = ["C2C_MESSAGE_CREATE", "GROUP_AT_MESSAGE_CREATE", "GROUP_MESSAGE_CREATE"]
    static let groupRobot: Set<String> = ["GROUP_ADD_ROBOT", "GROUP_DEL_ROBOT", "GROUP_MSG_REJECT", "GROUP_MSG_RECEIVE"]
    static let friend: Set<String> = ["FRIEND_ADD", "FRIEND_DEL", "C2C_MSG_REJECT", "C2C_MSG_RECEIVE"]
    static let all = messages.union(groupRobot).union(friend).union(["READY", "RESUMED", "INTERACTION_CREATE", "AT_MESSAGE_CREATE", ""])
}
