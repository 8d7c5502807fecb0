import Foundation
import GRDB
import Logging
import Synchronization

/// Changes queued from synchronous code (the ledger, ownership), in order, for the next commit.
/// Each change gets a ticket (its number since the store opened): ``isSaved(_:)`` says whether it is
/// on disk, so whoever keeps a copy in memory knows when the store can give it back.
final class StoreBuffer: Sendable {
    private struct Queue {
        var ops: [StoreOp] = []
        var appended = 0
    }
    private let queue = Mutex(Queue())
    /// The newest ticket committed; `lost` once a change was dropped (nothing counts as saved then).
    private let saved = Mutex((through: 0, lost: false))

    /// Queues `new`; returns the ticket of its last change.
    @discardableResult
    func append(_ new: [StoreOp]) -> Int {
        queue.withLock { q in
            q.ops.append(contentsOf: new)
            q.appended += new.count
            return q.appended
        }
    }

    /// Everything queued, and the ticket of its last change.
    func drain() -> (ops: [StoreOp], through: Int) {
        queue.withLock { q in
            defer { q.ops.removeAll(keepingCapacity: true) }
            return (q.ops, q.appended)
        }
    }

    var isEmpty: Bool { queue.withLock { $0.ops.isEmpty } }

    /// Changes up to `ticket` are committed.
    func markSaved(through ticket: Int) { saved.withLock { $0.through = max($0.through, ticket) } }

    /// Changes were dropped (the retry buffer was full): from now on nothing counts as saved.
    func markLost() { saved.withLock { $0.lost = true } }

    /// Whether the change with `ticket` is committed.
    func isSaved(_ ticket: Int) -> Bool { saved.withLock { !$0.lost && ticket <= $0.through } }
}

/// Tells whoever listens when the store starts failing and when it recovers (set at any time).
final class StoreHealthRelay: Sendable {
    private let observer = CallbackSlot<(failure: QQError?, count: Int)>()
    func set(_ body: (@Sendable (QQError?, Int) -> Void)?) {
        guard let body else { return observer.set(nil) }
        observer.set { report in body(report.failure, report.count) }
    }
    func report(_ failure: QQError?, _ count: Int) { observer.call((failure, count)) }
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
    private let health: StoreHealthRelay
    private let clock: SessionClock
    private var pending: [StoreOp] = []
    private var waiters: [CheckedContinuation<Void, any Error>] = []
    /// Callers of ``write(_:waitingAtMost:)`` still waiting, by id: true once committed, false once
    /// they stopped waiting.
    private var watchers: [Int: CheckedContinuation<Bool, any Error>] = [:]
    private var expired: Set<Int> = []
    private var nextWatcher = 0
    private var committing = false
    private var failed: [StoreOp] = []
    /// The newest buffer ticket among `failed`.
    private var failedThrough = 0
    private var retryTask: Task<Void, Never>?
    private var retryDelay: Duration = .seconds(2)
    /// Changes thrown away because the retry buffer was full (reported, never silent).
    private(set) var droppedCount = 0
    /// Ops kept for retry at most (the oldest go first beyond it, logged).
    static let retryLimit = 200_000
    /// The last commit error, if the last commit failed.
    private(set) var lastError: QQError?
    /// Changes committed since the store opened (the search indexer waits while they pour in).
    nonisolated let committedCount = Mutex(0)

    init(pool: DatabasePool, buffer: StoreBuffer, health: StoreHealthRelay = StoreHealthRelay(), logger: Logger,
         clock: SessionClock = .continuous) {
        self.clock = clock
        self.pool = pool
        self.buffer = buffer
        self.health = health
        self.logger = logger
    }

    /// Commits what the synchronous buffer holds (soon, without waiting).
    func kick() { startRounds() }

    /// Commits `ops` (with whatever else is pending) and returns once they are on disk. While the
    /// store is failing (a locked file, a full disk) nobody waits: the ops are kept for the retry and
    /// the error is thrown at once, even while a retry waits on the lock, so what the session shows
    /// or sends is never held up by the store.
    func write(_ ops: [StoreOp]) async throws {
        if let lastError {
            pending.append(contentsOf: ops)
            startRounds()
            throw lastError
        }
        try await commit(ops)
    }

    /// Like ``write(_:)``, but waits at most `limit` (on the writer's clock): false when the commit
    /// has not finished by then (another process holds the lock); the ops stay queued and are
    /// committed, or kept and retried, as usual. For whoever must not be held up by the file.
    func write(_ ops: [StoreOp], waitingAtMost limit: Duration) async throws -> Bool {
        if let lastError {
            pending.append(contentsOf: ops)
            startRounds()
            throw lastError
        }
        pending.append(contentsOf: ops)
        nextWatcher += 1
        let id = nextWatcher
        return try await withThrowingTaskGroup(of: Bool?.self) { group in
            group.addTask { try await self.watch(id) }
            group.addTask { [clock] in
                try? await clock.sleep(for: limit)   // cancelled once the commit is in: returns at once
                await self.stopWatching(id)
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let committed = result { return committed }
            }
            return false
        }
    }

    private func watch(_ id: Int) async throws -> Bool {
        if expired.remove(id) != nil { return false }
        return try await withCheckedThrowingContinuation { continuation in
            watchers[id] = continuation
            startRounds()
        }
    }

    private func stopWatching(_ id: Int) {
        if let watcher = watchers.removeValue(forKey: id) { watcher.resume(returning: false) } else { expired.insert(id) }
    }

    private func resumeWatchers(_ ids: some Sequence<Int>, _ result: Result<Bool, QQError>) {
        for id in ids {
            watchers.removeValue(forKey: id)?.resume(with: result.mapError { $0 as any Error })
            expired.remove(id)
        }
    }

    /// Queues `ops` and waits for the round that commits them (or fails).
    private func commit(_ ops: [StoreOp]) async throws {
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

    /// True while a commit round runs (tests watch a retry that waits on a lock).
    var isCommitting: Bool { committing }

    private func startRounds() {
        guard !committing else { return }
        committing = true
        Task { await self.runRounds() }
    }

    private func runRounds() async {
        // Kept ops count too: a retry round may have nothing new to commit.
        while !failed.isEmpty || !pending.isEmpty || !waiters.isEmpty || !watchers.isEmpty || !buffer.isEmpty {
            if let error = lastError, retryTask != nil {
                // Backing off after a failure: new changes join the kept ones and wait for the retry
                // timer instead of hammering a full disk with every batch.
                let drained = buffer.drain()
                failed += drained.ops + pending
                failedThrough = max(failedThrough, drained.through)
                pending.removeAll(keepingCapacity: true)
                trimFailed()
                let batchWaiters = waiters
                waiters.removeAll(keepingCapacity: true)
                for w in batchWaiters { w.resume(throwing: error) }
                resumeWatchers(Array(watchers.keys), .failure(error))
                break
            }
            // Buffered (synchronously queued) changes first: they happened before anything awaited.
            let drained = buffer.drain()
            let ops = failed + drained.ops + pending
            let through = max(failedThrough, drained.through)
            let batchWaiters = waiters
            let batchWatchers = Array(watchers.keys)
            pending.removeAll(keepingCapacity: true)
            waiters.removeAll(keepingCapacity: true)
            do {
                if !ops.isEmpty {
                    try await pool.write { db in
                        for op in ops { try op.apply(db) }
                    }
                }
                committedCount.withLock { $0 += ops.count }
                buffer.markSaved(through: through)
                failed.removeAll()
                if lastError != nil {
                    logger.notice("store writable again", metadata: ["dropped": "\(droppedCount)"])
                    health.report(nil, droppedCount)
                }
                lastError = nil
                retryDelay = .seconds(2)
                for w in batchWaiters { w.resume() }
                resumeWatchers(batchWatchers, .success(true))
            } catch {
                let qq = Self.describe(error, path: pool.path)
                let wasFailing = lastError != nil
                lastError = qq
                failed = ops
                failedThrough = through
                trimFailed()
                if !wasFailing { health.report(qq, failed.count) }
                logger.error("store commit failed", metadata: ["error": "\(qq)", "kept": "\(failed.count)"])
                for w in batchWaiters { w.resume(throwing: qq) }
                resumeWatchers(batchWatchers, .failure(qq))
                scheduleRetry()
                break
            }
        }
        committing = false
        if !pending.isEmpty || !waiters.isEmpty || !watchers.isEmpty || (!buffer.isEmpty && failed.isEmpty) { startRounds() }
    }

    private func trimFailed() {
        guard failed.count > Self.retryLimit else { return }
        let dropped = failed.count - Self.retryLimit
        droppedCount += dropped
        buffer.markLost()
        logger.critical("store retry buffer full: dropping the oldest changes", metadata: ["dropped": "\(dropped)"])
        failed.removeFirst(dropped)
    }

    private func scheduleRetry() {
        guard retryTask == nil else { return }
        let delay = retryDelay
        retryDelay = min(retryDelay * 2, .seconds(30))
        // The deadline is fixed now, when the commit failed, not whenever the task first runs.
        let due = clock.now + delay
        retryTask = Task { [clock] in
            guard (try? await clock.sleep(until: due)) != nil else { return }
            self.retryNow()
        }
    }

    private func retryNow() {
        retryTask = nil
        if !failed.isEmpty || !buffer.isEmpty { startRounds() }
    }

    /// Tries the kept changes right now (when the operator freed some space, and at shutdown).
    func retryImmediately() async throws {
        retryTask?.cancel()
        retryTask = nil
        try await commit([])
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
            case .SQLITE_CORRUPT, .SQLITE_NOTADB: what = "the database file is damaged (move it away and qqtui will start a new one)"
            case .SQLITE_IOERR: what = "a disk I/O error"
            case .SQLITE_CANTOPEN: what = "the database cannot be opened"
            default: what = db.message ?? "SQLite error \(db.resultCode.rawValue)"
            }
            return QQError(kind: .store, message: "\(what) (\(path))", context: "store")
        }
        return QQError(kind: .store, message: "\(error) (\(path))", context: "store")
    }
}
