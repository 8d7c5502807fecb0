import Foundation
import TestSupport
import GRDB
@testable import QQSession
import Testing

@Suite("Message store")
struct StoreTests {
    @Test("created owner-only with WAL; messages, conversations, unread and paging survive reopening")
    func basics() async throws {
        let t = TempStore()
        do {
            let store = try t.open()
            try await store.write([
                .inbound(TempStore.inbound("M1", "你好")),
                .inbound(TempStore.inbound("M2", "在吗？")),
                .inbound(TempStore.inbound("G1", "群消息", in: .group("G"), author: "A")),
                .inbound(TempStore.inbound("M1", "duplicate push")),
            ])
            let mode = try FileManager.default.attributesOfItem(atPath: t.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let journal = try await store.pool.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
            #expect(journal == "wal")
            await store.close()
        }
        let store = try t.open()
        let conversations = try await store.conversations()
        #expect(Set(conversations.map(\.id)) == [.c2c("U1"), .group("G")])
        let u1 = try #require(conversations.first { $0.id == .c2c("U1") })
        #expect(u1.unread == 2 && u1.messageCount == 2)
        #expect(u1.lastPreview == "在吗？")
        let page = try await store.messages(in: .c2c("U1"))
        #expect(page.map(\.text) == ["在吗？", "你好"], "newest first; the duplicate push was ignored")
        let older = try await store.messages(in: .c2c("U1"), before: page[0].rowID, limit: 10)
        #expect(older.map(\.uid) == ["M1"])
        try await store.markRead(.c2c("U1"))
        #expect(try await store.conversations().first { $0.id == .c2c("U1") }?.unread == 0)
    }

    @Test("a conversation waits while its last message to the bot has no reply that went out; group talk and failed sends do not count")
    func waitingSince() async throws {
        let store = try TempStore().open()
        let asked = Date(timeIntervalSince1970: 1_800_000_000)
        var overheard = TempStore.inbound("G2", "闲聊", in: .group("G"), author: "B", at: asked + 5)
        overheard.source = .group
        var failed = OutboundMessage.new(.text, to: .c2c("U2"), text: "没发出去", replyTo: "N1", origin: "operator", createdAt: asked + 2)
        failed.status = .failed(reason: "HTTP 500")
        var answer = OutboundMessage.new(.text, to: .c2c("U3"), text: "好的", replyTo: "P1", origin: "agent", createdAt: asked + 2)
        answer.status = .sent
        try await store.write([
            .inbound(TempStore.inbound("G1", "@bot 在吗", in: .group("G"), author: "A", at: asked)), .inbound(overheard),
            .inbound(TempStore.inbound("N1", "有人吗", in: .c2c("U2"), author: "U2", at: asked + 1)), .outbound(failed),
            .inbound(TempStore.inbound("P1", "谢谢", in: .c2c("U3"), author: "U3", at: asked + 1)), .outbound(answer),
            .inbound(TempStore.inbound("N2", "还在吗", in: .c2c("U2"), author: "U2", at: asked + 3)),
        ])
        let waiting = Dictionary(uniqueKeysWithValues: try await store.conversations().map { ($0.id, $0.waitingSince) })
        #expect(waiting[.group("G")] == .some(asked), "group talk after an @bot question does not answer it")
        #expect(waiting[.c2c("U2")] == .some(asked + 1), "a failed reply does not end the wait; it is counted from the first question")
        #expect(waiting[.c2c("U3")] == .some(nil), "a reply that went out ends it")
    }

    @Test("outbound: stored as sending, then updated to sent with the QQ id, or failed with code and trace id")
    func outbound() async throws {
        let store = try TempStore().open()
        var m = OutboundMessage.new(.text, to: .c2c("U1"), text: "回复", replyTo: "M1", origin: "operator", createdAt: Date())
        try await store.write([.outbound(m)])
        #expect(try await store.message(uid: m.id)?.status == "sending")
        m.status = .sent
        m.parts = [.init(index: 0, text: "回复", route: .proactive, msgSeq: nil, qqMessageID: "QQ-1", status: .sent, attempts: 1)]
        try await store.write([.outbound(m)])
        let sent = try #require(await store.message(uid: m.id))
        #expect(sent.status == "sent" && sent.qqMessageID == "QQ-1")
        var f = OutboundMessage.new(.text, to: .c2c("U1"), text: "失败", replyTo: nil, origin: "operator", createdAt: Date())
        f.error = QQError(kind: .platform, message: "内部错误", httpStatus: 500, code: 50000, errCode: 50001, traceID: "tr-9")
        f.status = .failed(reason: "内部错误")
        try await store.write([.outbound(f)])
        let failed = try #require(await store.message(uid: f.id))
        #expect(failed.status == "failed" && failed.qqCode == 50001 && failed.traceID == "tr-9")
        #expect(try await store.conversations().first?.messageCount == 2)
    }

    @Test("a send a crash interrupted is marked interrupted when the store is opened again")
    func crashRecovery() async throws {
        let t = TempStore()
        do {
            let store = try t.open()
            var m = OutboundMessage.new(.reply, to: .c2c("U1"), text: "写到一半", replyTo: nil, origin: "agent", createdAt: Date())
            try await store.write([.outbound(m)])
            m.text += "……"
            try await store.write([.outbound(m)])
            await store.close()
        }
        let store = try t.open()
        let m = try #require(await store.messages(in: .c2c("U1")).first)
        #expect(m.status == "interrupted")
        #expect(m.text == "写到一半……")
        #expect(m.statusDetail?.contains("stopped") == true)
    }

    @Test("aliases are set, shown with conversations, searchable, and removable")
    func aliases() async throws {
        let store = try TempStore().open()
        try await store.write([.inbound(TempStore.inbound("M1", "hello"))])
        try await store.setAlias("张三", for: "U1")
        #expect(try await store.aliases() == ["U1": "张三"])
        #expect(try await store.conversations().first?.alias == "张三")
        #expect(try await store.search("张三").conversations == [.c2c("U1")])
        try await store.setAlias(nil, for: "U1")
        #expect(try await store.aliases().isEmpty)
    }

    @Test("ownership changes are an append-only audit log")
    func ownership() async throws {
        let store = try TempStore().open()
        try await store.recordOwnership(OwnershipChange(conversation: .group("G"), owner: "agent", actor: "operator", reason: "^A"))
        try await store.recordOwnership(OwnershipChange(conversation: .group("G"), owner: "human", actor: "operator", reason: "take back"))
        let log = try await store.ownershipLog(.group("G"))
        #expect(log.map(\.owner) == ["agent", "human"])
        #expect(try await store.conversations().first?.owner == "human")
        await #expect(throws: (any Error).self) {
            try await store.pool.write { try $0.execute(sql: "UPDATE ownership_log SET owner = 'agent'") }
        }
        await #expect(throws: (any Error).self) {
            try await store.pool.write { try $0.execute(sql: "DELETE FROM ownership_log") }
        }
    }

    @Test("the ledger is kept: counters continue after reopening, closed windows are not loaded")
    func ledger() async throws {
        let t = TempStore()
        let now = Date()
        do {
            let store = try t.open()
            try await store.write([
                .ledger(LedgerEntry(msgID: "OPEN", conversation: .c2c("U"), nextSeq: 4, repliesUsed: 3, budget: 5, windowEnds: now + 600)),
                .ledger(LedgerEntry(msgID: "CLOSED", conversation: .c2c("U"), nextSeq: 2, repliesUsed: 1, budget: 5, windowEnds: now - 1)),
            ])
            await store.close()
        }
        let entries = try t.open().openLedgerEntries(now: now)
        #expect(entries.map(\.msgID) == ["OPEN"])
        #expect(entries.first?.nextSeq == 4 && entries.first?.repliesUsed == 3)
    }

    @Test("CJK search: 3+ characters through the trigram index (and rows not indexed yet), 1-2 characters by scan")
    func search() async throws {
        let store = try TempStore().open()
        try await store.write([
            .inbound(TempStore.inbound("A", "今天天气怎么样？")),
            .inbound(TempStore.inbound("B", "明天会下雨吗", in: .group("G"), author: "X")),
            .inbound(TempStore.inbound("C", "Hello world, 你好世界")),
        ])
        try await store.indexAll()
        try await store.write([.inbound(TempStore.inbound("D", "天气预报说明天晴"))])   // not indexed yet
        #expect(Set(try await store.search("天气").messages.map(\.uid)) == ["A", "D"])
        #expect(Set(try await store.search("天气怎").messages.map(\.uid)) == ["A"])
        #expect(Set(try await store.search("天气预报").messages.map(\.uid)) == ["D"])
        #expect(Set(try await store.search("明天").messages.map(\.uid)) == ["B", "D"])
        #expect(try await store.search("hello wor").messages.map(\.uid) == ["C"], "case-insensitive")
        #expect(try await store.search("你好世界").messages.map(\.uid) == ["C"])
        #expect(try await store.search("\"; DROP TABLE message; --").messages.isEmpty)
        #expect(try await store.search("100%").messages.isEmpty)
        // % and _ are text, not patterns: in the index, among rows not indexed yet, and in short queries.
        try await store.write([
            .inbound(TempStore.inbound("P1", "打折100元")), .inbound(TempStore.inbound("P2", "100%好评")),
            .inbound(TempStore.inbound("P3", "a_b 和 axb")),
        ])
        for round in ["not indexed", "indexed"] {
            #expect(try await store.search("100%").messages.map(\.uid) == ["P2"], "\(round)")
            #expect(try await store.search("0%").messages.map(\.uid) == ["P2"], "\(round)")
            #expect(try await store.search("a_b").messages.map(\.uid) == ["P3"], "\(round)")
            #expect(try await store.search("x_").messages.isEmpty, "\(round)")
            try await store.indexAll()
        }
        #expect(Set(try await store.search("天气预报").messages.map(\.uid)) == ["D"])
    }

    @Test("1,000,000 messages in four conversations: one pages newest first through its index, a page at a time", CPUGate.backstop)
    func millionMessages() async throws {
        try await CPUGate.run(limit: .seconds(300)) { try await millionMessagesAlone() }
    }

    /// ``millionMessages()`` once the CPU gate lets it run.
    func millionMessagesAlone() async throws {
        let store = try TempStore().open()
        try await store.write([.inbound(TempStore.inbound("first", "the first"))])
        try await store.pool.write { db in
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
                INSERT INTO message (uid, conversation, direction, origin, kind, author, text, status, created_at, updated_at, fts_dirty)
                SELECT 'bulk-' || i, CASE i % 4 WHEN 0 THEN 'c2c:U1' ELSE 'group:G' || (i % 4) END, 'in', 'user', 'text',
                       'U1', '第 ' || i || ' 条消息', 'received', i, i, 0 FROM n
                """)
        }
        // The page query walks the conversation index backwards: no scan, no sort, whatever the size.
        let plan = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + MessageStore.pageSQL, arguments: ["c2c:U1", Int64.max, 50])
                .map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("USING INDEX message_conversation") || $0.contains("USING COVERING INDEX message_conversation") },
                "plan: \(plan)")
        #expect(!plan.contains { $0.contains("TEMP B-TREE") || $0.hasPrefix("SCAN message") }, "plan: \(plan)")
        let first = try await store.messages(in: .c2c("U1"), limit: 50)
        #expect(first.count == 50)
        #expect(first.first?.uid == "bulk-1000000")
        var cursor = first.last?.rowID
        var seen = first.count
        for _ in 0..<200 {
            let page = try await store.messages(in: .c2c("U1"), before: cursor, limit: 100)
            #expect(page.count == 100)
            #expect(page.allSatisfy { $0.conversation == .c2c("U1") })
            #expect(zip(page, page.dropFirst()).allSatisfy { $0.rowID > $1.rowID })
            seen += page.count
            cursor = page.last?.rowID
        }
        #expect(seen == 20_050)
        // bulk-4 is row 5; below it only "first" (row 1) is in U1.
        let oldest = try await store.messages(in: .c2c("U1"), before: 6, limit: 10)
        #expect(oldest.map(\.uid) == ["bulk-4", "first"])
        #expect(try await store.messages(in: .group("G1"), limit: 1).first?.uid == "bulk-999997")
        #expect(try await store.counts().messages == 1_000_001)
    }

    @Test("export goes oldest first, a page at a time, filtered by conversation and date")
    func export() async throws {
        let store = try TempStore().open()
        let old = Date(timeIntervalSince1970: 1_700_000_000)
        try await store.write([
            .inbound(TempStore.inbound("1", "old", at: old)),
            .inbound(TempStore.inbound("2", "new")),
            .inbound(TempStore.inbound("3", "other", in: .group("G"), author: "A")),
        ])
        var all: [String] = []
        try store.export(pageSize: 1) { all.append($0.uid) }
        #expect(all == ["1", "2", "3"])
        var filtered: [String] = []
        try store.export(conversation: .c2c("U1"), since: old + 1) { filtered.append($0.uid) }
        #expect(filtered == ["2"])
    }
}

@Suite("Message store: bad things")
struct StoreFailureTests {
    @Test("a file that is not a database is refused with what to do")
    func corrupt() throws {
        let t = TempStore()
        try FileManager.default.createDirectory(atPath: t.directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: t.path, contents: Data(repeating: 0x42, count: 8192))
        do {
            _ = try t.open()
            Issue.record("opened a damaged file")
        } catch let e as QQError {
            #expect(e.kind == .store)
            #expect(e.message.contains("damaged"))
            #expect(e.message.contains("move it away"))
        }
    }

    @Test("damage inside the file (not its header) gives a clear error on read, never a crash")
    func interiorDamage() async throws {
        let t = TempStore()
        do {
            let store = try t.open()
            let text = String(repeating: "损坏测试", count: 300)
            try await store.write((0..<400).map { .inbound(TempStore.inbound("D\($0)", text + "\($0)")) })
            try await store.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            await store.close()
        }
        // Overwrite a run of pages in the middle of the message table with garbage.
        let size = try #require(FileManager.default.attributesOfItem(atPath: t.path)[.size] as? Int)
        let handle = try #require(FileHandle(forWritingAtPath: t.path))
        try handle.seek(toOffset: UInt64(size / 2 / 4096 * 4096))
        handle.write(Data(repeating: 0xFF, count: 4096 * 8))
        try handle.close()
        var errors: [QQError] = []
        do {
            let store = try t.open(.readOnly)
            do { try store.export { _ in } } catch let e as QQError { errors.append(e) }
            do { _ = try await store.search("损坏测试") } catch let e as QQError { errors.append(e) }
        } catch let e as QQError {
            errors.append(e)   // refused at open: also fine, as long as it says so
        }
        #expect(!errors.isEmpty, "reading a damaged file reported nothing")
        #expect(errors.allSatisfy { $0.kind == .store && $0.message.contains("damaged") && $0.message.contains(t.path) },
                "\(errors.map(\.message))")
    }

    @Test("the whole-file check runs at every start except right after a clean close; any write since, or a crash, brings it back")
    func integrityCheckMark() async throws {
        let t = TempStore()
        do {
            let store = try t.open()
            #expect(store.integrityChecked, "a new store is checked")
            try await store.write([.inbound(TempStore.inbound("M1", "一"))])
            await store.close()
        }
        do {
            let store = try t.open()
            #expect(!store.integrityChecked, "unchanged since the clean close: not read again")
            try await store.write([.inbound(TempStore.inbound("M2", "二"))])
            // No clean close (as after kill -9): the next start checks.
        }
        do {
            let store = try t.open()
            #expect(store.integrityChecked, "after a session that did not close cleanly")
            await store.close()
        }
        // Someone else wrote to the file after the clean close.
        let handle = try #require(FileHandle(forWritingAtPath: t.path))
        try handle.seek(toOffset: 4096)
        handle.write(Data(repeating: 0, count: 16))
        try handle.close()
        do {
            _ = try t.open()
            Issue.record("zeroes written into a page went unnoticed")
        } catch let e as QQError {
            #expect(e.message.contains("is damaged"), "\(e.message)")
        }
    }

    @Test("a store written by a newer qqtui is refused")
    func newerSchema() async throws {
        let t = TempStore()
        do {
            let store = try t.open()
            try await store.pool.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
            await store.close()
        }
        do {
            _ = try t.open()
            Issue.record("opened a newer store")
        } catch let e as QQError {
            #expect(e.message.contains("newer qqtui"))
        }
    }

    @Test("a second session on the same store is refused (who holds it is named); readers still work")
    func locked() async throws {
        let t = TempStore()
        let first = try t.open()
        do {
            _ = try t.open()
            Issue.record("two sessions on one store")
        } catch let e as QQError {
            #expect(e.message.contains("in use by another qqtui (pid \(getpid()))"))
        }
        let reader = try t.open(.readOnly)
        #expect(try await reader.counts().messages == 0)
        _ = first
    }

    @Test("an unwritable location is refused with the path")
    func unwritable() throws {
        do {
            _ = try MessageStore.open(path: "/proc/qqtui-cannot-be-here/x.sqlite")
            Issue.record("opened in /proc")
        } catch let e as QQError {
            #expect(e.message.contains("/proc/qqtui-cannot-be-here"))
        }
    }

    @Test("disk full: the write fails with a clear error, nothing is lost, and it goes through once there is room")
    func diskFull() async throws {
        let store = try TempStore().open()
        let pages = try await store.pool.write { db -> Int in
            let count = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(count + 2)")
            return count
        }
        let big = String(repeating: "满", count: 20_000)
        let ops = (0..<20).map { StoreOp.inbound(TempStore.inbound("F\($0)", big)) }
        do {
            try await store.write(ops)
            Issue.record("no disk-full error")
        } catch let e as QQError {
            #expect(e.message.contains("disk is full"))
        }
        #expect(await store.writer.unsavedCount == 20)
        // While it backs off, more writes fail at once (no hammering of a full disk) and join the kept ones.
        await #expect(throws: QQError.self) { try await store.write([.inbound(TempStore.inbound("F20", "再一条"))]) }
        #expect(await store.writer.unsavedCount == 21)
        try await store.pool.write { try $0.execute(sql: "PRAGMA max_page_count = 1073741823") }
        try await store.writer.retryImmediately()
        #expect(try await store.counts().messages == 21)
        #expect(await store.writer.unsavedCount == 0)
        #expect(await store.close() == nil, "nothing unsaved at close")
        _ = pages
    }
}
