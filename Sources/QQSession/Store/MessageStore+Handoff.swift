import Foundation
import GRDB

extension MessageStore {
    /// The conversation's owner from its last ownership change (nil: it never changed) and its newest
    /// `limit` messages, oldest first (an agent's context after a restart), in one read.
    func ownerAndRecentMessages(in conversation: ConversationID, limit: Int) throws -> (Owner?, [StoredMessage]) {
        try reading { db in
            let owner = try String.fetchOne(db, sql: "SELECT owner FROM ownership_log WHERE conversation = ? ORDER BY rowid DESC LIMIT 1",
                                            arguments: [conversation.description]).flatMap(Owner.init(rawValue:))
            let recent = try Row.fetchAll(db, sql: Self.pageSQL, arguments: [conversation.description, Int64.max, max(1, limit)])
                .map(StoredMessage.init(row:))
            return (owner, Array(recent.reversed()))
        }
    }
}
