import Foundation
import Synchronization

/// A user pressed a callback button under one of the bot's messages (`INTERACTION_CREATE`).
public struct Interaction: Sendable, Hashable, Codable {
    /// The platform's id (what `PUT /interactions/{id}` acknowledges).
    public var id: String
    public var conversation: ConversationID
    /// Who pressed it (the user in C2C, the member in a group).
    public var userOpenID: String
    public var buttonID: String
    /// The button's callback data.
    public var buttonData: String
    /// The button's label, when qqtui sent that button in this run (else nil: the data says it).
    public var label: String?
    public var receivedAt: Date

    /// What the press reads as on a screen: `pressed “转人工”`.
    public var summary: String { "pressed “\(label ?? buttonData)”" }
}

/// Labels of the callback buttons qqtui sent, by their data: an interaction carries only the data.
final class ButtonLabels: Sendable {
    private let labels = Mutex<[String: String]>([:])
    static let limit = 1000

    func remember(_ keyboard: Keyboard) {
        labels.withLock { map in
            if map.count > Self.limit { map.removeAll(keepingCapacity: true) }
            for b in keyboard.rows.joined() where b.action == .callback { map[b.data] = b.label }
        }
    }

    func label(for data: String) -> String? { labels.withLock { $0[data] } }
}

/// `INTERACTION_CREATE`'s `d` (lenient: only `id` is required).
struct InteractionPayload: Decodable, Sendable {
    var id: String
    /// 0 guild, 1 group, 2 C2C.
    var chatType: Int?
    var groupOpenID: String?
    var groupMemberOpenID: String?
    var userOpenID: String?
    var buttonData: String
    var buttonID: String
    var resolvedUserID: String?

    struct Resolved: Decodable, Sendable {
        var buttonData: String?; var buttonID: String?; var userID: String?
        enum CodingKeys: String, CodingKey { case buttonData = "button_data", buttonID = "button_id", userID = "user_id" }
    }
    struct DataField: Decodable, Sendable { var resolved: Resolved? }

    enum CodingKeys: String, CodingKey {
        case id, chatType = "chat_type", groupOpenID = "group_openid", groupMemberOpenID = "group_member_openid"
        case userOpenID = "user_openid", data
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        chatType = (try? c.decodeIfPresent(Int.self, forKey: .chatType)) ?? nil
        groupOpenID = (try? c.decodeIfPresent(String.self, forKey: .groupOpenID)) ?? nil
        groupMemberOpenID = (try? c.decodeIfPresent(String.self, forKey: .groupMemberOpenID)) ?? nil
        userOpenID = (try? c.decodeIfPresent(String.self, forKey: .userOpenID)) ?? nil
        let resolved = ((try? c.decodeIfPresent(DataField.self, forKey: .data)) ?? nil)?.resolved
        buttonData = resolved?.buttonData ?? ""
        buttonID = resolved?.buttonID ?? ""
        resolvedUserID = resolved?.userID
    }
}
