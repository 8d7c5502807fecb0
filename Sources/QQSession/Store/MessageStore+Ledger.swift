import Foundation
import GRDB

/// An inbound message as its reply window sees it: its id, conversation and when the window started.
struct InboundStart: Sendable, Hashable {
    var msgID: String
    var conversation: ConversationID
    var start: Date
}

extension MessageStore {
    /// The window start of a stored message: when it was sent or received, whichever came first
    /// (`created_at` is the platform's timestamp, `updated_at` when it arrived, unless its attachments
    /// were resolved later).
    private static let startColumns = "uid, conversation, min(created_at, updated_at) AS start"

    /// Inbound messages (not button presses) received since `date`, oldest first: the ledger entries a
    /// start derives for those never answered (their entries are not written until used).
    func inboundStarts(since date: Date) throws -> [InboundStart] {
        try reading { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.startColumns) FROM message
                WHERE direction = 'in' AND updated_at > ? AND kind <> 'interaction' ORDER BY rowid
                """, arguments: [date.timeIntervalSince1970]).compactMap(Self.start)
        }
    }

    /// One inbound message's window start, if it is stored.
    func inboundStart(_ msgID: String) -> InboundStart? {
        try? pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.startColumns) FROM message WHERE uid = ? AND direction = 'in' AND kind <> 'interaction'",
                             arguments: [msgID]).flatMap(Self.start)
        }
    }

    private static func start(_ row: Row) -> InboundStart? {
        guard let conversation = ConversationID(row["conversation"] as String? ?? "") else { return nil }
        return InboundStart(msgID: row["uid"], conversation: conversation,
                            start: Date(timeIntervalSince1970: row["start"] as Double? ?? 0))
    }
}
