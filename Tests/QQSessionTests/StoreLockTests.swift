import Foundation
@testable import QQSession
import Testing
import TestSupport

/// A store another connection keeps locked: what the session shows and sends never waits for it,
/// and nothing is lost once the lock goes.
@Suite("A locked store", .timeLimit(.minutes(1)))
struct StoreLockTests {
    /// Another process (Python's sqlite3) that takes the store's write lock and holds it until killed.
    static func lock(_ path: String) async throws -> PeerProcess {
        let script = """
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            time.sleep(600)
            """
        let locker = try PeerProcess("/usr/bin/env", ["python3", "-c", script, path])
        #expect(await locker.firstLine() == "locked", "\(locker.stderrTail)")
        return locker
    }

    @Test("delivery waits a moment for the commit, never the lock: the write gives up waiting after its limit, the commit goes in once the lock goes")
    func boundedWait() async throws {
        let time = ManualClock()
        let t = TempStore()
        let store = try t.open(clock: .manual(time))
        let locker = try await Self.lock(t.path)
        let write = Task { try await store.write([.inbound(TempStore.inbound("A", "锁住时来的"))], waitingAtMost: .milliseconds(500)) }
        #expect(await eventually { await store.writer.isCommitting && !time.sleepers.isEmpty }, "the commit did not start")
        time.advance(by: .milliseconds(500))
        #expect(try await write.value == false, "committed through a lock?")
        #expect(await store.writer.isCommitting, "the write waited for the commit that waits on the lock")
        await locker.kill()
        try await store.flush()
        #expect(try await store.counts().messages == 1)
        #expect(await store.close() == nil)
    }

    @Test("while the store is failing nobody waits on it: a write during a retry that waits on the lock returns at once; all is saved after")
    func writeDuringLockedRetry() async throws {
        let time = ManualClock()
        let t = TempStore()
        let store = try t.open(clock: .manual(time))
        // A first failure, at once: the disk is full.
        try await store.pool.write { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages + 2)")
        }
        let big = String(repeating: "满", count: 20_000)
        await #expect(throws: QQError.self) {
            try await store.write((0..<20).map { .inbound(TempStore.inbound("A\($0)", big)) })
        }
        try await store.pool.write { try $0.execute(sql: "PRAGMA max_page_count = 1073741823") }

        // Another process takes the write lock and holds it; the retry then waits on it (SQLite's
        // busy timeout).
        let locker = try await Self.lock(t.path)
        time.advance(by: .seconds(2))
        #expect(await eventually { await store.writer.isCommitting }, "the retry did not start")

        await #expect(throws: QQError.self) { try await store.write([.inbound(TempStore.inbound("B", "锁住时来的"))]) }
        #expect(await store.writer.isCommitting, "the write waited for the retry that waits on the lock")

        await locker.kill()   // the lock goes with its process
        try await store.writer.retryImmediately()
        #expect(try await store.counts().messages == 21)
        #expect(await store.close() == nil, "nothing unsaved at close")
    }

    @Test("a message shown while another process locks the store reaches the agent only once it is stored, and is answered with its msg_id then")
    func agentWaitsForTheCommit() async throws {
        let t = TempStore()
        let store = try t.open()
        try await SimHarness.run(store: store, agent: shellAgent("cat >/dev/null; printf '收到'")) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            try await store.flush()
            let locker = try await Self.lock(t.path)
            // Shown after the commit's 0.5 s of patience, while the file is still locked.
            let question = await h.c2cMessage(from: "U1", "锁住时的问题")
            #expect(await eventually { await h.session.fence.waiting == 1 }, "the router did not stop at the fence")
            #expect(await h.recorder.activities.isEmpty, "a turn started for a message that is not stored")
            #expect(try await store.message(uid: question.id) == nil)
            await locker.kill()
            #expect(await h.recorder.waitForTurns(1))
            #expect(try await store.message(uid: question.id) != nil)
            #expect(await h.waitStreams { $0.first?.closed == true })
            #expect(await h.streams().first?.msgID == question.id)
        }
    }

    @Test("a queued change counts as saved only once committed: not while the disk is full, and once the retry has put it in")
    func ticketsFollowCommits() async throws {
        let store = try TempStore().open(clock: .manual(ManualClock()))
        let first = store.enqueue([.inbound(TempStore.inbound("T0", "先到的"))])
        try await store.flush()
        #expect(store.isSaved(first))
        try await store.pool.write { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages + 2)")
        }
        let big = String(repeating: "满", count: 20_000)
        let ticket = store.enqueue((0..<20).map { .inbound(TempStore.inbound("A\($0)", big)) })
        await #expect(throws: QQError.self) { try await store.flush() }
        #expect(!store.isSaved(ticket), "counted as saved while the disk was full")
        #expect(store.isSaved(first))
        try await store.pool.write { try $0.execute(sql: "PRAGMA max_page_count = 1073741823") }
        try await store.writer.retryImmediately()
        #expect(store.isSaved(ticket))
        #expect(try await store.counts().messages == 21)
        #expect(await store.close() == nil)
    }
}
