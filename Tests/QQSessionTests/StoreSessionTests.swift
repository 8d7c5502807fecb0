import Foundation
import GRDB
@testable import QQSession
import Synchronization
import QQSimulator
import Testing

/// The session with a store: nothing is seen before it is stored, and a restart continues.
@Suite("Session with a store", .timeLimit(.minutes(1)))
struct StoreSessionTests {
    @Test("a restart keeps everything, continues msg_seq, and does not answer a re-pushed message twice")
    func restart() async throws {
        let t = TempStore()
        let sim = try await QQSimulator.start()
        var config = SimHarness.fastConfiguration(for: sim)
        config.attachments.directory = nil
        let msgID: String
        do {
            let store = try t.open()
            let session = Session(configuration: config, store: store)
            let recorder = EventRecorder()
            await recorder.attach(session.events)
            await session.start()
            #expect(await recorder.waitForReady())
            let m = await sim.platform.userSendsC2C(userOpenID: "U1", content: "第一条")
            msgID = m.id
            #expect(await recorder.waitForMessages(1))
            #expect(await session.send("回复一", to: .c2c("U1")).status == .sent)
            await session.shutdown()
            await store.close()
        }
        let store = try t.open()
        let history = try await store.messages(in: .c2c("U1"))
        #expect(history.map(\.text) == ["回复一", "第一条"])
        #expect(history.first?.status == "sent")
        let session = Session(configuration: config, store: store)
        let recorder = EventRecorder()
        await recorder.attach(session.events)
        await session.start()
        #expect(await recorder.waitForReady())
        // The platform pushes the same message again (it does): no second turn.
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "第一条", messageID: msgID)
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "第二条")
        #expect(await recorder.waitForMessages(1))
        try await Task.sleep(for: .milliseconds(100))
        #expect(await recorder.messages.map(\.text) == ["第二条"])
        #expect(await recorder.notices.contains { $0.kind == .duplicate && $0.subject == msgID })
        // The old message's msg_seq continues at 2 (1 was used before the restart).
        #expect(await session.send("回复二", to: .c2c("U1"), replyingTo: msgID).status == .sent)
        let sent = await sim.platform.sent().filter { $0.status == 200 }
        #expect(sent.map { $0.body?["msg_seq"]?.int } == [1, 2])
        #expect(sent.allSatisfy { $0.body?["msg_id"]?.string == msgID })
        await session.shutdown()
        #expect(try await store.counts().messages == 4)
        await sim.stop()
    }

    @Test("an inbound message is in the store before anyone sees it")
    func committedBeforeSeen() async throws {
        let store = try TempStore().open()
        let missing = Mutex<[String]>([])
        let checked = Mutex(0)
        try await SimHarness.run(start: false, store: store) { h in
            // At the instant each message event is emitted, read the store on the emitting task.
            h.session.tap.observe { event in
                guard case .message(let m) = event else { return }
                let stored = (try? store.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM message WHERE uid = ?", arguments: [m.id])
                }) ?? 0
                checked.withLock { $0 += 1 }
                if stored != 1 { missing.withLock { $0.append(m.id) } }
            }
            await h.session.start()
            #expect(await h.recorder.waitForReady())
            for i in 0..<50 { _ = await h.platform.userSendsC2C(userOpenID: "U\(i % 3)", content: "消息 \(i)") }
            #expect(await h.recorder.waitForMessages(50))
        }
        #expect(checked.withLock { $0 } == 50)
        #expect(missing.withLock { $0 }.isEmpty)
    }

    @Test("an outbound message is stored as sending before its POST, then sent with the QQ id")
    func sendingBeforePost() async throws {
        let store = try TempStore().open()
        try await SimHarness.run(store: store) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            await h.platform.apply(.delayAnswers(count: 1, delayMs: 400))
            let send = Task { await h.session.send("慢慢发", to: .c2c("U1")) }
            #expect(await h.waitStats { _ in true })
            var during: StoredMessage?
            for _ in 0..<40 {
                if await !h.platform.sent().isEmpty {
                    during = try await store.messages(in: .c2c("U1")).first { $0.direction == "out" }
                    break
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(during?.status == "sending", "the POST was made before the row existed")
            let out = await send.value
            let after = try #require(await store.message(uid: out.id))
            #expect(after.status == "sent")
            #expect(after.qqMessageID == out.parts.first?.qqMessageID)
        }
    }

    @Test("a streaming reply's partial text is in the store while it streams, and its final status after")
    func partialReply() async throws {
        let store = try TempStore().open()
        try await SimHarness.run(configure: { $0.stream.interval = .milliseconds(100) }, store: store) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("一半的回答")
            try await Task.sleep(for: .milliseconds(500))
            let partial = try #require(await store.message(uid: writer.id))
            #expect(partial.text == "一半的回答")
            #expect(partial.status == "sending")
            await writer.append("，另一半")
            let out = await writer.cancel()
            #expect(out.status == .cancelled)
            let final = try #require(await store.message(uid: writer.id))
            #expect(final.status == "cancelled")
            #expect(final.text == "一半的回答，另一半", "what the agent wrote is kept, even the part not sent")
        }
    }
}
