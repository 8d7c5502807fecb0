import Foundation
import GRDB
import Logging

/// What could not be written when the store closed.
public struct UnsavedChanges: Sendable, CustomStringConvertible {
    /// How many changes (roughly: messages and status updates).
    public var count: Int
    /// Why.
    public var error: QQError
    public var description: String { "\(count) change(s) could not be saved: \(error.message)" }
}

/// Every conversation, message, send status, ledger entry, ownership change and alias, in SQLite
/// (WAL): what qqtui does not keep is gone, since QQ has no history API.
public final class MessageStore: Sendable {
    /// How the store is opened.
    public enum Mode: Sendable {
        /// The session's store: one per file (an exclusive lock), recovers what a crash left half done.
        case session
        /// Another process reading and writing beside a session (`qqtui send`).
        case shared
        /// Reading only (`qqtui export`).
        case readOnly
    }

    /// The database file.
    public let path: String
    let pool: DatabasePool
    let writer: StoreWriter
    let buffer: StoreBuffer
    private let lock: InstanceLock?
    let logger: Logger
    let health = StoreHealthRelay()
    /// Conversations this process stored the first message of (nothing earlier to read back).
    let started = StartedConversations()
    /// Whether opening it read the whole file for damage (false: unchanged since a clean close).
    public let integrityChecked: Bool

    private init(path: String, pool: DatabasePool, lock: InstanceLock?, logger: Logger, clock: SessionClock,
                 integrityChecked: Bool) {
        self.path = path
        self.integrityChecked = integrityChecked
        self.pool = pool
        self.lock = lock
        self.logger = logger
        let buffer = StoreBuffer()
        self.buffer = buffer
        self.writer = StoreWriter(pool: pool, buffer: buffer, health: health, logger: logger, clock: clock)
    }

    /// Opens (creating it owner-only, and its folder) and migrates the store at `path`. Every problem
    /// is a `QQError` of kind `.store` that says what to do. `clock` paces the retries after a failed
    /// commit.
    public static func open(path: String, mode: Mode = .session,
                            logger: Logger = Logger(label: "qqtui.store", factory: { _ in SwiftLogNoOpLogHandler() }),
                            clock: SessionClock = .continuous) throws -> MessageStore {
        // The system would open the file named by what comes before it.
        guard !path.unicodeScalars.contains("\u{0}") else {
            throw QQError(kind: .store, message: "the store path holds a NUL character", context: "store")
        }
        let fm = FileManager.default
        let directory = (path as NSString).deletingLastPathComponent
        if mode != .readOnly {
            do {
                try fm.createDirectory(atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true,
                                       attributes: [.posixPermissions: 0o700])
            } catch {
                throw QQError(kind: .store, message: "cannot create the folder \(directory): \(error.localizedDescription)", context: "store")
            }
            // Created empty and owner-only first: SQLite's -wal and -shm files copy its permissions.
            if !fm.fileExists(atPath: path), !fm.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) {
                throw QQError(kind: .store, message: "cannot create \(path) (is the folder writable?)", context: "store")
            }
        } else if !fm.fileExists(atPath: path) {
            throw QQError(kind: .store, message: "\(path) does not exist", context: "store")
        }
        let lock = mode == .session ? try InstanceLock.acquire(for: path) : nil
        // Unchanged since a session closed it cleanly (and checked it when it opened): no need to read
        // it all again. The mark goes at once: a crash in this session means a full check next time.
        let unchanged = mode == .session && StoreCheckMark.matches(path)
        if mode == .session { StoreCheckMark.remove(path) }
        var config = Configuration()
        config.readonly = mode == .readOnly
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            // 1 MiB of pages per connection, not SQLite's 2 MB: serve's peak over a million messages
            // went from 58.2–60.3 to 58.9–59.2 MB (`bench memory`), and neither ingest rate moved
            // (`bench ingest --against botpy`: 0.70–0.72 against 0.70, 33–34 µs a message either way).
            try db.execute(sql: "PRAGMA cache_size = -1024")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try pool.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
        } catch {
            throw damaged(error, path: path)
        }
        let migrator = StoreSchema.migrator
        do {
            if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
                throw QQError(kind: .store, message: "\(path) was written by a newer qqtui (its schema is newer than this one knows): upgrade qqtui, or set [store] path to another file",
                              context: "store")
            }
            if mode != .readOnly { try migrator.migrate(pool) }
        } catch let error as QQError {
            throw error
        } catch {
            throw damaged(error, path: path)
        }
        if mode == .session, !unchanged {
            // Damage anywhere in the file is found now, before a session writes to it for hours and
            // only learns at shutdown that none of it could be saved.
            try checkIntegrity(pool, path: path)
        }
        if mode == .session {
            do { try recoverInterrupted(pool) } catch { throw damaged(error, path: path) }
        }
        return MessageStore(path: path, pool: pool, lock: lock, logger: logger, clock: clock,
                            integrityChecked: mode == .session && !unchanged)
    }

    /// `PRAGMA quick_check`: every page of every table and index is read and its structure checked
    /// (not the index-to-table cross-check of `integrity_check`, which costs several times more).
    /// Its cost grows with the file's size: the README gives what it takes on a large store.
    static func checkIntegrity(_ pool: DatabasePool, path: String) throws {
        let problems: [String]
        do {
            problems = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
        } catch {
            throw damaged(error, path: path)
        }
        guard problems != ["ok"] else { return }
        let first = problems.first.map { " (SQLite: \($0.prefix(160)))" } ?? ""
        throw QQError(kind: .store, message: "\(path) is damaged\(first); nothing was started. Move it away and qqtui will "
                      + "start a new one (`sqlite3 FILE .recover` salvages what is still readable)", context: "store")
    }

    private static func damaged(_ error: any Error, path: String) -> QQError {
        if let db = error as? DatabaseError, [.SQLITE_NOTADB, .SQLITE_CORRUPT].contains(db.resultCode) {
            return QQError(kind: .store, message: "\(path) is not a qqtui store or is damaged; move it away and qqtui will start a new one",
                           context: "store")
        }
        return StoreWriter.describe(error, path: path)
    }

    /// Sends a crash interrupted can never finish: say so instead of leaving them "sending" (the
    /// session then closes the QQ streams among them, ``abandonedStreams(since:)``).
    private static func recoverInterrupted(_ pool: DatabasePool) throws {
        try pool.write { db in
            try db.execute(sql: """
                UPDATE message SET status = 'interrupted', status_detail = ?, fts_dirty = 1
                WHERE direction = 'out' AND status = 'sending'
                """, arguments: [interruptedDetail])
        }
    }

    // MARK: - Writing

    /// Commits `ops` and returns once they are on disk.
    func write(_ ops: [StoreOp]) async throws { try await writer.write(ops) }

    /// Commits `ops`, waiting at most `limit`: false when they are not on disk yet (still queued).
    func write(_ ops: [StoreOp], waitingAtMost limit: Duration) async throws -> Bool {
        try await writer.write(ops, waitingAtMost: limit)
    }

    /// Queues `ops` for the next commit, in call order, without waiting. Returns their ticket, for
    /// ``isSaved(_:)``.
    @discardableResult
    func enqueue(_ ops: [StoreOp]) -> Int {
        let ticket = buffer.append(ops)
        let writer = self.writer
        Task { await writer.kick() }
        return ticket
    }

    /// Whether the changes ``enqueue(_:)`` gave `ticket` are committed (false for good once a change
    /// was ever dropped).
    func isSaved(_ ticket: Int) -> Bool { buffer.isSaved(ticket) }

    /// Waits until everything queued is committed.
    public func flush() async throws { try await writer.flush() }

    /// Commits what is pending (one last try for anything a failure kept) and lets go of the session
    /// lock, so another session can open the file at once. Returns what could not be saved, if anything.
    @discardableResult
    public func close() async -> UnsavedChanges? {
        var unsaved: UnsavedChanges?
        do {
            try await writer.retryImmediately()
        } catch {
            unsaved = UnsavedChanges(count: await writer.unsavedCount + bufferedCount(), error: StoreWriter.describe(error, path: path))
        }
        let dropped = await writer.droppedCount
        if dropped > 0 {
            unsaved = UnsavedChanges(count: (unsaved?.count ?? 0) + dropped, error: unsaved?.error
                ?? QQError(kind: .store, message: "\(dropped) change(s) were dropped while the store was failing", context: "store"))
        }
        if lock != nil, unsaved == nil {
            // Everything into the main file, then the mark that lets the next start skip the check.
            try? await pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            StoreCheckMark.write(path)
        }
        lock?.release()
        return unsaved
    }

    private func bufferedCount() -> Int { buffer.isEmpty ? 0 : 1 }

    /// Calls `body` when writing starts failing (with the error and the changes kept for retry) and
    /// when it works again (nil, with the changes dropped meanwhile: 0 means nothing was lost).
    public func observeHealth(_ body: (@Sendable (_ failure: QQError?, _ count: Int) -> Void)?) {
        health.set(body)
    }

    /// A read whose failure is described for a person (what happened, which file).
    func reading<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch { throw StoreWriter.describe(error, path: path) }
    }

    func reading<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch { throw StoreWriter.describe(error, path: path) }
    }

    /// Changes dropped so far because the store kept failing (0 normally).
    public func droppedChanges() async -> Int { await writer.droppedCount }

    /// Sets (or, with nil, removes) the operator's name for an openid.
    public func setAlias(_ name: String?, for openID: String, note: String? = nil) async throws {
        let trimmed = name?.trimmingCharacters(in: .whitespacesAndNewlines)
        try await write([.alias(openID: openID, name: trimmed?.isEmpty == false ? trimmed : nil, note: note)])
    }

    /// Marks a conversation read (its unread count goes to 0).
    public func markRead(_ conversation: ConversationID) async throws {
        try await write([.markRead(conversation)])
    }

    /// Records who answers a conversation now (an append-only log).
    public func recordOwnership(_ change: OwnershipChange) async throws {
        try await write([.ownership(change)])
    }

    // MARK: - Reading

    /// Conversations, most recent activity first, with unread counts and aliases.
    public func conversations(limit: Int = 1000) async throws -> [ConversationSummary] {
        try await reading { db in
            try Row.fetchAll(db, sql: """
                SELECT c.*, a.name AS alias, (
                    SELECT MIN(m.created_at) FROM message m
                    WHERE m.conversation = c.id AND m.direction = 'in' AND COALESCE(m.source, '') != 'group'
                      AND m.rowid > COALESCE((SELECT o.rowid FROM message o
                                              WHERE o.conversation = c.id AND o.direction = 'out' AND o.status = 'sent' AND o.origin != 'auto'
                                              ORDER BY o.rowid DESC LIMIT 1), 0)) AS waiting_since
                FROM conversation c LEFT JOIN alias a ON a.openid = c.openid
                ORDER BY c.last_activity DESC LIMIT ?
                """, arguments: [limit]).map { row in
                ConversationSummary(id: ConversationID(row["id"] as String) ?? .c2c("?"), alias: row["alias"],
                                    lastActivity: Date(timeIntervalSince1970: row["last_activity"]),
                                    lastPreview: row["last_preview"], unread: row["unread"],
                                    messageCount: row["message_count"], owner: row["owner"],
                                    waitingSince: (row["waiting_since"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    /// A page of a conversation's messages, newest first, older than `before` (a row id) when given.
    /// An index walk: a conversation of a million messages opens as fast as a small one.
    public func messages(in conversation: ConversationID, before: Int64? = nil, limit: Int = 50) async throws -> [StoredMessage] {
        try await reading { db in
            try Row.fetchAll(db, sql: Self.pageSQL, arguments: [conversation.description, before ?? Int64.max, max(1, limit)])
                .map(StoredMessage.init(row:))
        }
    }

    /// A page of one conversation (an index walk on `message_conversation`).
    static let pageSQL = "SELECT * FROM message WHERE conversation = ? AND rowid < ? ORDER BY rowid DESC LIMIT ?"

    /// One message by its uid.
    public func message(uid: String) async throws -> StoredMessage? {
        try await reading { db in
            try Row.fetchOne(db, sql: "SELECT * FROM message WHERE uid = ?", arguments: [uid]).map(StoredMessage.init(row:))
        }
    }

    /// openid → alias.
    public func aliases() async throws -> [String: String] {
        try await reading { db in
            try Row.fetchAll(db, sql: "SELECT openid, name FROM alias").reduce(into: [:]) { $0[$1["openid"]] = $1["name"] }
        }
    }

    /// A conversation's ownership changes, oldest first.
    public func ownershipLog(_ conversation: ConversationID) async throws -> [OwnershipChange] {
        try await reading { db in
            try Row.fetchAll(db, sql: "SELECT * FROM ownership_log WHERE conversation = ? ORDER BY rowid",
                             arguments: [conversation.description]).map { row in
                OwnershipChange(conversation: conversation, owner: row["owner"], actor: row["actor"], reason: row["reason"],
                                at: Date(timeIntervalSince1970: row["at"]))
            }
        }
    }

    /// Ledger entries whose window is still open (to resume the msg_seq counters after a restart).
    func openLedgerEntries(now: Date) throws -> [LedgerEntry] {
        try reading { db in
            try Row.fetchAll(db, sql: "SELECT * FROM ledger WHERE window_ends > ? ORDER BY window_ends",
                             arguments: [now.timeIntervalSince1970]).compactMap { row in
                guard let c = ConversationID(row["conversation"] as String) else { return nil }
                return LedgerEntry(msgID: row["msg_id"], conversation: c, nextSeq: row["next_seq"], repliesUsed: row["replies_used"],
                                   budget: row["budget"], windowEnds: Date(timeIntervalSince1970: row["window_ends"]),
                                   isEvent: row["is_event"])
            }
        }
    }

    /// One ledger entry as stored (another process may have moved its counters on).
    func ledgerEntry(_ msgID: String) -> LedgerEntry? {
        try? pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM ledger WHERE msg_id = ?", arguments: [msgID]).flatMap { row in
                guard let c = ConversationID(row["conversation"] as String? ?? "") else { return nil }
                return LedgerEntry(msgID: msgID, conversation: c, nextSeq: row["next_seq"] as Int? ?? 1,
                                   repliesUsed: row["replies_used"] as Int? ?? 0, budget: row["budget"] as Int? ?? 5,
                                   windowEnds: Date(timeIntervalSince1970: row["window_ends"] as Double? ?? 0),
                                   isEvent: (row["is_event"] as Int? ?? 0) != 0)
            }
        }
    }

    /// Ids of inbound messages received since `date` (the de-duplication memory after a restart).
    func inboundIDs(since date: Date) throws -> [String] {
        try reading { db in
            try String.fetchAll(db, sql: "SELECT uid FROM message WHERE direction = 'in' AND updated_at > ?",
                                arguments: [date.timeIntervalSince1970])
        }
    }

    /// Drops ledger entries whose window closed (the table stays as small as the open windows).
    func pruneLedger(now: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM ledger WHERE window_ends <= ?", arguments: [now.timeIntervalSince1970])
        }
    }

    /// Row counts (for `config check`, tests and benchmarks).
    public func counts() async throws -> (conversations: Int, messages: Int) {
        try await reading { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM conversation") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM message") ?? 0)
        }
    }
}
