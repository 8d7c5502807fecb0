import Foundation
import GRDB

/// A message as the store keeps it: inbound, operator or agent, with its fate.
public struct StoredMessage: Sendable, Hashable, Codable {
    /// Position in the store (paging cursor; later messages have larger ids).
    public var rowID: Int64
    /// The platform's id (inbound) or the local `out-…` id (outbound).
    public var uid: String
    public var conversation: ConversationID
    /// `in` or `out`.
    public var direction: String
    /// `user`, `operator` or `agent`.
    public var origin: String
    /// The operator who sent it (outbound messages from a console that named its operator).
    public var operatorName: String?
    /// `text`, `media`, `image`, `reply`.
    public var kind: String
    /// The author's openid (inbound).
    public var author: String?
    public var authorRole: String?
    public var text: String
    /// `received`, `sending`, `sent`, `failed`, `refused`, `cancelled`, `interrupted`.
    public var status: String
    /// Why it failed, was refused or interrupted.
    public var statusDetail: String?
    public var qqCode: Int?
    public var traceID: String?
    /// The platform's id of a sent message.
    public var qqMessageID: String?
    /// The inbound message it answers, or the one a user quoted.
    public var replyTo: String?
    /// Inbound: `c2c`, `group_at` (the bot was @-mentioned) or `group` (group context).
    public var source: String?
    public var attachments: [Attachment]
    /// When a sent message was recalled from the user's chat (nil: it was not).
    public var recalledAt: Date? = nil
    /// Inbound: the platform's time; outbound: when it was created.
    public var createdAt: Date
    public var updatedAt: Date

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    /// From a row; odd or missing values (a damaged file) become empty ones, never a crash.
    init(row: Row) {
        rowID = row["rowid"] as Int64? ?? 0
        uid = row["uid"] as String? ?? ""
        conversation = ConversationID(row["conversation"] as String? ?? "") ?? .c2c("?")
        direction = row["direction"] as String? ?? "?"
        origin = row["origin"] as String? ?? "?"
        operatorName = row["operator"] as String?
        kind = row["kind"] as String? ?? "text"
        author = row["author"] as String?
        authorRole = row["author_role"] as String?
        text = row["text"] as String? ?? ""
        status = row["status"] as String? ?? "?"
        statusDetail = row["status_detail"] as String?
        qqCode = row["qq_code"] as Int?
        traceID = row["trace_id"] as String?
        qqMessageID = row["qq_message_id"] as String?
        replyTo = row["reply_to"] as String?
        source = row["source"] as String?
        let json = row["attachments"] as String?
        attachments = json.flatMap { try? Self.decoder.decode([Attachment].self, from: Data($0.utf8)) } ?? []
        recalledAt = (row["recalled_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        createdAt = Date(timeIntervalSince1970: row["created_at"] as Double? ?? 0)
        updatedAt = Date(timeIntervalSince1970: row["updated_at"] as Double? ?? 0)
    }
}

/// A conversation as the list shows it.
public struct ConversationSummary: Sendable, Hashable, Codable {
    public var id: ConversationID
    /// The operator's name for it, if any.
    public var alias: String?
    public var lastActivity: Date
    /// The last message's first line.
    public var lastPreview: String
    public var unread: Int
    public var messageCount: Int
    /// `human`, `agent` or `draft`.
    public var owner: String
    /// Since when the user waits: the first message addressed to the bot (private, or @-mentioning it
    /// in a group) after the last reply that went out. Nil when nobody waits.
    public var waitingSince: Date?
}
