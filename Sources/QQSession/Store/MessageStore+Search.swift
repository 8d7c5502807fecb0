import Foundation
import GRDB

extension MessageStore {
    /// Rows indexed per indexer transaction (small: inbound commits wait behind it).
    public static let indexBatch = 500

    /// Indexes messages written since the last run (new and updated ones). Returns how many.
    /// Runs off the write path: ingest never waits for the trigram index.
    @discardableResult
    public func indexPending(limit: Int = MessageStore.indexBatch) async throws -> Int {
        try await pool.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT rowid, text FROM message WHERE fts_dirty = 1 ORDER BY rowid LIMIT ?",
                                        arguments: [limit])
            guard !rows.isEmpty else { return 0 }
            let delete = try db.cachedStatement(sql: "DELETE FROM message_fts WHERE rowid = ?")
            let insert = try db.cachedStatement(sql: "INSERT INTO message_fts (rowid, text) VALUES (?, ?)")
            let clean = try db.cachedStatement(sql: "UPDATE message SET fts_dirty = 0 WHERE rowid = ?")
            for row in rows {
                let id: Int64 = row["rowid"]
                try delete.execute(arguments: [id])
                try insert.execute(arguments: [id, row["text"] as String])
                try clean.execute(arguments: [id])
            }
            return rows.count
        }
    }

    /// Indexes everything pending, in batches.
    public func indexAll() async throws {
        while try await indexPending() > 0 {}
    }

    /// Messages whose text contains `query` (CJK works), newest first, in every conversation; plus
    /// conversations whose alias or openid matches. Three characters or more use the trigram index (and
    /// a scan of the few rows not indexed yet); one or two characters scan the messages' text (the
    /// trigram index cannot answer them), which stays fast on recent history and slows on millions.
    /// With `conversation`, only its messages (an index walk of that conversation).
    public func search(_ query: String, in conversation: ConversationID? = nil, limit: Int = 50) async throws -> SearchResult {
        let q = query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !q.isEmpty else { return SearchResult(messages: [], conversations: []) }
        let like = "%" + q.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
        if let conversation {
            return try await reading { db in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT * FROM message WHERE conversation = ? AND text LIKE ? ESCAPE '\\' ORDER BY rowid DESC LIMIT ?
                    """, arguments: [conversation.description, like, limit])
                return SearchResult(messages: rows.map(StoredMessage.init(row:)), conversations: [conversation])
            }
        }
        return try await reading { db in
            var rows: [Row]
            if q.count >= 3 {
                // The newest `limit` matches from the index, plus matches among rows not indexed yet.
                let phrase = "\"" + q.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                let indexed = try Int64.fetchAll(db, sql: "SELECT rowid FROM message_fts WHERE message_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
                                                 arguments: [phrase, limit])
                let fresh = try Int64.fetchAll(db, sql: """
                    SELECT rowid FROM message WHERE fts_dirty = 1 AND text LIKE ? ESCAPE '\\' ORDER BY rowid DESC LIMIT ?
                    """, arguments: [like, limit])
                let ids = Array(Set(indexed + fresh).sorted(by: >).prefix(limit))
                rows = try ids.compactMap { try Row.fetchOne(db, sql: "SELECT * FROM message WHERE rowid = ?", arguments: [$0]) }
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM message WHERE text LIKE ? ESCAPE '\\' ORDER BY rowid DESC LIMIT ?",
                                        arguments: [like, limit])
            }
            let conversations = try String.fetchAll(db, sql: """
                SELECT c.id FROM conversation c LEFT JOIN alias a ON a.openid = c.openid
                WHERE a.name LIKE ? ESCAPE '\\' OR a.note LIKE ? ESCAPE '\\' OR c.openid LIKE ? ESCAPE '\\'
                ORDER BY c.last_activity DESC LIMIT ?
                """, arguments: [like, like, like, limit]).compactMap(ConversationID.init)
            return SearchResult(messages: rows.map(StoredMessage.init(row:)), conversations: conversations)
        }
    }

    /// Calls `each` for every message (of `conversation`, since `since`), oldest first, a page at a
    /// time so memory stays flat whatever the size.
    public func export(conversation: ConversationID? = nil, since: Date? = nil, pageSize: Int = 1000,
                       _ each: (StoredMessage) throws -> Void) throws {
        var after: Int64 = 0
        while true {
            let page = try reading { db -> [StoredMessage] in
                var sql = "SELECT * FROM message WHERE rowid > ?"
                var arguments: StatementArguments = [after]
                if let conversation { sql += " AND conversation = ?"; arguments += [conversation.description] }
                if let since { sql += " AND created_at >= ?"; arguments += [since.timeIntervalSince1970] }
                sql += " ORDER BY rowid LIMIT ?"
                arguments += [pageSize]
                return try Row.fetchAll(db, sql: sql, arguments: arguments).map(StoredMessage.init(row:))
            }
            for message in page { try each(message) }
            guard let last = page.last, page.count == pageSize else { return }
            after = last.rowID
        }
    }
}

/// What a search found.
public struct SearchResult: Sendable, Hashable {
    /// Matching messages, newest first.
    public var messages: [StoredMessage]
    /// Conversations whose alias (or openid) matches.
    public var conversations: [ConversationID]
}
