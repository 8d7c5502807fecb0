import Foundation
import GRDB
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// The store shared between processes, and the store's bad cases as the command line reports them.
@Suite("qqtui and the store", .timeLimit(.minutes(2)))
struct StoreCLITests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    static func config(sim: QQSimulator?, dir: String) throws -> String { try TestConfig.write(sim: sim, dir: dir) }

    static func tempDir() -> String { TestConfig.tempDir("storecli") }

    @Test("two qqtui send processes beside a running session share the msg_seq ledger; the session resyncs after a clash")
    func sendBesideSession() async throws {
        let sim = try await QQSimulator.start()
        let dir = Self.tempDir()
        let configPath = try Self.config(sim: sim, dir: dir)
        let store = try MessageStore.open(path: dir + "/store.sqlite")
        var sessionConfig = SessionConfiguration.simulator(baseURL: sim.baseURL, appID: sim.configuration.appID,
                                                           appSecret: sim.configuration.appSecret)
        sessionConfig.timeouts.request = .seconds(5)
        let session = Session(configuration: sessionConfig, store: store)
        await session.start()
        let drain = Task { for await _ in session.events {} }
        defer { drain.cancel() }

        #expect(await eventually { if case .ready = session.status.phase { true } else { false } })
        let question = await sim.platform.userSendsC2C(userOpenID: "U1", content: "在吗？")
        #expect(await eventually { session.ledgerEntry(for: question.id) != nil })
        #expect(await eventually { store.inboundStart(question.id) != nil }, "the message reached the store")
        #expect(store.ledgerEntry(question.id) == nil, "an unanswered message's ledger entry is not written: its row implies it")

        for text in ["第一条", "第二条"] {
            let send = try ChildProcess(try binary(), ["send", "--config", configPath, "--to", "c2c:U1", text])
            defer { send.send(SIGKILL) }
            let code = await send.waitForExit()
            #expect(code == 0, "qqtui send \(text): \(send.stderr)")
        }
        func replies() async -> [(seq: Int?, status: Int)] {
            await sim.platform.sent().filter { $0.path == "/v2/users/U1/messages" }.map { record in
                guard case .object(let body)? = record.body, case .number(let seq)? = body["msg_seq"] else { return (nil, record.status) }
                return (Int(seq), record.status)
            }
        }
        #expect(await replies().map(\.seq) == [1, 2], "each process took the next msg_seq from the store")
        #expect(await replies().allSatisfy { $0.status == 200 })

        // The session's memory still says msg_seq 1: QQ refuses it as a duplicate, the session reads the
        // store's ledger and answers with 3, once.
        let own = await session.send("第三条", to: .c2c("U1"))
        #expect(own.status == .sent)
        let after = await replies()
        #expect(after.map(\.seq) == [1, 2, 1, 3], "\(after)")
        #expect(after.map(\.status) == [200, 200, 400, 200])
        #expect(store.ledgerEntry(question.id)?.nextSeq == 4)
        let stored = try await store.messages(in: .c2c("U1")).filter { $0.direction == "out" }
        #expect(Set(stored.map(\.text)) == ["第一条", "第二条", "第三条"])
        #expect(stored.allSatisfy { $0.status == "sent" })

        await session.shutdown()
        await store.close()
        await sim.stop()
    }

    @Test("serve on a store another session holds exits 74 and names the holder")
    func serveOnLockedStore() async throws {
        let dir = Self.tempDir()
        let configPath = try Self.config(sim: nil, dir: dir)
        let holder = try MessageStore.open(path: dir + "/store.sqlite")
        let serve = try ChildProcess(try binary(), ["serve", "--config", configPath])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForExit() == 74)
        #expect(serve.stderr.contains("in use by another qqtui (pid \(getpid()))"), "\(serve.stderr)")
        await holder.close()
    }

    @Test("a store from a newer qqtui: serve and export exit 74 and say so; nothing in the file is changed")
    func newerStore() async throws {
        let dir = Self.tempDir()
        let configPath = try Self.config(sim: nil, dir: dir)
        do {
            let store = try MessageStore.open(path: dir + "/store.sqlite")
            let now = Date()
            try await store.write([.inbound(InboundMessage(
                id: "N1", eventID: "E-N1", conversation: .c2c("U1"), source: .c2c, author: .init(openID: "U1"),
                text: "来自未来", rawContent: "来自未来", timestamp: now, receivedAt: now, attachments: [], messageType: 0,
                referencedMessageID: nil, seq: 1, replyWindowEnds: now + 300))])
            try await store.pool.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
            try await store.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            await store.close()
        }
        for arguments in [["serve", "--config", configPath], ["export", "--config", configPath, "--format", "jsonl"]] {
            let child = try ChildProcess(try binary(), arguments)
            defer { child.send(SIGKILL) }
            #expect(await child.waitForExit() == 74, "\(arguments[0])" as Comment)
            #expect(child.stderr.contains("newer qqtui"), "\(arguments[0]): \(child.stderr)")
            #expect(child.stdout.isEmpty, "\(arguments[0]) printed \(child.stdout)")
        }
        // Nothing was migrated or lost (read with plain SQLite: qqtui itself refuses the file).
        var readOnly = Configuration()
        readOnly.readonly = true
        let db = try DatabaseQueue(path: dir + "/store.sqlite", configuration: readOnly)
        let (text, migrations) = try await db.read { db in
            (try String.fetchOne(db, sql: "SELECT text FROM message WHERE uid = 'N1'"),
             try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
        }
        #expect(text == "来自未来")
        #expect(migrations.last == "v99-from-the-future")
    }

    @Test("damage in the middle of the store is found before serve starts: exit 74 with what to do, no session opened")
    func serveRefusesInteriorDamage() async throws {
        let sim = try await QQSimulator.start()
        let dir = Self.tempDir()
        let configPath = try Self.config(sim: sim, dir: dir)
        do {
            let store = try MessageStore.open(path: dir + "/store.sqlite")
            let text = String(repeating: "损坏测试", count: 300)
            try await store.write((0..<400).map { .inbound(ConsoleFixture.inbound(.c2c("U1"), from: "U1", text + "\($0)", id: "D\($0)")) })
            try await store.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            await store.close()
        }
        // 16 KiB of garbage in the middle of the file (the header and the schema are intact).
        let path = dir + "/store.sqlite"
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: UInt64(size / 2 / 4096 * 4096))
        handle.write(Data(repeating: 0xA5, count: 16 * 1024))
        try handle.close()

        let serve = try ChildProcess(try binary(), ["serve", "--config", configPath])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForExit() == 74, "\(serve.stderr)")
        #expect(serve.stderr.contains("is damaged"), "\(serve.stderr)")
        #expect(serve.stderr.contains("nothing was started"), "\(serve.stderr)")
        #expect(serve.stderr.contains(".recover"), "\(serve.stderr)")
        #expect(await sim.platform.currentStats().identifies == 0, "a session was opened on a damaged store")
        try await sim.stop()
    }

    @Test("export of a damaged store exits 74 with what to do and prints nothing that could pass for an export")
    func exportDamaged() async throws {
        let dir = Self.tempDir()
        let configPath = try Self.config(sim: nil, dir: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/store.sqlite", contents: Data(repeating: 0x42, count: 8192))
        let export = try ChildProcess(try binary(), ["export", "--config", configPath, "--format", "txt"])
        defer { export.send(SIGKILL) }
        #expect(await export.waitForExit() == 74)
        #expect(export.stderr.contains("damaged"), "\(export.stderr)")
        #expect(export.stderr.contains("move it away"), "\(export.stderr)")
        #expect(export.stdout.isEmpty, "\(export.stdout)")
    }
}
