import Foundation
import GRDB

/// A sent message as a recall needs it.
public struct RecallableMessage: Sendable, Hashable {
    public var uid: String
    public var conversation: ConversationID
    public var text: String
    /// The platform's ids of its delivered parts, in order.
    public var qqMessageIDs: [String]
    public var status: String
    public var recalledAt: Date?
    public var createdAt: Date
}

extension MessageStore {
    /// The outbound message with local id `id` (`out-…`) or with a part the platform knows as `id`.
    public func recallable(id: String) async throws -> RecallableMessage? {
        try await reading { db in
            let row = try Row.fetchOne(db, sql: "SELECT * FROM message WHERE direction = 'out' AND uid = ?", arguments: [id])
                ?? Row.fetchOne(db, sql: "SELECT * FROM message WHERE direction = 'out' AND qq_message_id = ?", arguments: [id])
                ?? Row.fetchOne(db, sql: """
                    SELECT * FROM message WHERE direction = 'out' AND parts LIKE ? ORDER BY rowid DESC LIMIT 1
                    """, arguments: ["%\"qqMessageID\":\"\(id.replacingOccurrences(of: "\"", with: ""))\"%"])
            return row.map(Self.recallable(row:))
        }
    }

    /// The newest message sent to `conversation` that can still be recalled (delivered, not recalled).
    public func lastRecallable(in conversation: ConversationID) async throws -> RecallableMessage? {
        try await reading { db in
            try Row.fetchOne(db, sql: """
                SELECT * FROM message WHERE conversation = ? AND direction = 'out' AND recalled_at IS NULL
                    AND qq_message_id IS NOT NULL ORDER BY rowid DESC LIMIT 1
                """, arguments: [conversation.description]).map(Self.recallable(row:))
        }
    }

    static func recallable(row: Row) -> RecallableMessage {
        let parts = (row["parts"] as String?).flatMap {
            try? StoredMessage.decoder.decode([OutboundMessage.Part].self, from: Data($0.utf8))
        } ?? []
        var ids = parts.compactMap(\.qqMessageID)
        if ids.isEmpty, let id = row["qq_message_id"] as String? { ids = [id] }
        return RecallableMessage(uid: row["uid"] as String? ?? "",
                                 conversation: ConversationID(row["conversation"] as String? ?? "") ?? .c2c("?"),
                                 text: row["text"] as String? ?? "", qqMessageIDs: ids, status: row["status"] as String? ?? "?",
                                 recalledAt: (row["recalled_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                                 createdAt: Date(timeIntervalSince1970: row["created_at"] as Double? ?? 0))
    }
}
