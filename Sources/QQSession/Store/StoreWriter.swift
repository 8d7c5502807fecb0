import Foundation
import GRDB
import Logging
import Synchronization

/// Changes queued from synchronous code (the ledger), in order, for the next commit.
final class StoreBuffer: Sendable {
    private let ops = Mutex<[StoreOp]>([])
    func append(_ new: [StoreOp]) { ops.withLock { $0.append(contentsOf: new) } }
    func drain() -> [StoreOp] { ops.withLock { o in defer { o.removeAll(keepingCapacity: true) }; return o } }
    var isEmpty: Bool { ops.withLock { $0.isEmpty } }
}

/// Commits store changes in groups: every op submitted while a transaction runs goes into the next
/// one, so a burst of thousands of events costs a few transactions, not thousands.
///
/// A failed commit (disk full, database locked) loses nothing: its ops are kept (up to a bound) and
/// retried with the next commit and every few seconds; callers see the error and can say so.
actor StoreWriter {
    private let pool: DatabasePool
    private let buffer: StoreBuffer
    private let logger: Logger
    private var pending: [StoreOp] = []
    private var waiters: [CheckedContinuation<Void, any Error>] = []
    private var committing = false
    private var failed: [StoreOp] = []
    private var retryTask: Task<Void, Never>?
    private var afterCommit: (@Sendable () -> Void)?
    /// Ops kept for retry at most (the oldest go first beyond it, logged).
    static let retryLimit = 200_000
    /// The last commit error, if the last commit failed.
    private(set) var lastError: QQError?

    init(pool: DatabasePool, buffer: StoreBuffer, logger: Logger) {
        self.pool = pool
        self.buffer = buffer
        self.logger = logger
    }

    /// Commits what the synchronous buffer holds (soon, without waiting).
    func kick() { startRounds() }

    /// Runs after each successful commit (the search indexer hooks in here).
    func setAfterCommit(_ hook: @escaping @Sendable () -> Void) { afterCommit = hook }

    /// Commits `ops` (with whatever else is pending) and returns once they are on disk.
    func write(_ ops: [StoreOp]) async throws {
        pending.append(contentsOf: ops)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            waiters.append(continuation)
            startRounds()
        }
    }

    /// Queues `ops` for the next commit without waiting for it.
    func enqueue(_ ops: [StoreOp]) {
        pending.append(contentsOf: ops)
        startRounds()
    }

    /// Waits until everything queued so far is committed (or has failed).
    func flush() async throws {
        try await write([])
    }

    /// Ops waiting for a retry after a failed commit.
    var unsavedCount: Int { failed.count }

    private func startRounds() {
        guard !committing else { return }
        committing = true
        Task { await self.runRounds() }
    }

    private func runRounds() async {
        while !pending.isEmpty || !waiters.isEmpty || !buffer.isEmpty {
            // Buffered (synchronously queued) changes first: they happened before anything awaited.
            let ops = failed + buffer.drain() + pending
            let batchWaiters = waiters
            pending.removeAll(keepingCapacity: true)
            waiters.removeAll(keepingCapacity: true)
            do {
                if !ops.isEmpty {
                    try await pool.write { db in
                        for op in ops { try op.apply(db) }
                    }
                }
                failed.removeAll()
                lastError = nil
                for w in batchWaiters { w.resume() }
                if !ops.isEmpty { afterCommit?() }
            } catch {
                let qq = Self.describe(error, path: pool.path)
                lastError = qq
                failed = ops
                if failed.count > Self.retryLimit {
                    logger.error("store retry buffer full: dropping the oldest changes", metadata: ["dropped": "\(failed.count - Self.retryLimit)"])
                    failed.removeFirst(failed.count - Self.retryLimit)
                }
                logger.error("store commit failed", metadata: ["error": "\(qq)", "kept": "\(failed.count)"])
                for w in batchWaiters { w.resume(throwing: qq) }
                scheduleRetry()
                break
            }
        }
        committing = false
        if !pending.isEmpty || !waiters.isEmpty || (!buffer.isEmpty && failed.isEmpty) { startRounds() }
    }

    private func scheduleRetry() {
        guard retryTask == nil else { return }
        retryTask = Task {
            try? await Task.sleep(for: .seconds(3))
            self.retryNow()
        }
    }

    private func retryNow() {
        retryTask = nil
        if !failed.isEmpty { startRounds() }
    }

    /// A store error a person can act on.
    static func describe(_ error: any Error, path: String) -> QQError {
        if let qq = error as? QQError { return qq }
        if let db = error as? DatabaseError {
            let what: String
            switch db.resultCode {
            case .SQLITE_FULL: what = "the disk is full"
            case .SQLITE_BUSY, .SQLITE_LOCKED: what = "the database is locked by another process"
            case .SQLITE_READONLY: what = "the database is read-only"
            case .SQLITE_CORRUPT, .SQLITE_NOTADB: what = "the database file is damaged"
            case .SQLITE_IOERR: what = "a disk I/O error"
            case .SQLITE_CANTOPEN: what = "the database cannot be opened"
            default: what = db.message ?? "SQLite error \(db.resultCode.rawValue)"
            }
            return QQError(kind: .store, message: "\(what) (\(path))", context: "store")
        }
        return QQError(kind: .store, message: "\(error) (\(path))", context: "store")
    }
}
