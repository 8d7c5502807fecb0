import Foundation
import GRDB

extension MessageStore {
    /// The conversation's owner from its last ownership change (nil: it never changed).
    func lastOwner(_ conversation: ConversationID) throws -> Owner? {
        try reading { db in
            try String.fetchOne(db, sql: "SELECT owner FROM ownership_log WHERE conversation = ? ORDER BY rowid DESC LIMIT 1",
                                arguments: [conversation.description]).flatMap(Owner.init(rawValue:))
        }
    }

    /// The newest `limit` messages of a conversation, oldest first (an agent's context after a restart).
    func recentMessages(in conversation: ConversationID, limit: Int) throws -> [StoredMessage] {
        try reading { db in
            try Row.fetchAll(db, sql: Self.pageSQL, arguments: [conversation.description, Int64.max, max(1, limit)])
                .map(StoredMessage.init(row:))
        }.reversed()
    }
}
