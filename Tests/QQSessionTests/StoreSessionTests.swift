import Foundation
import GRDB
@testable import QQSession
import Synchronization
import QQSimulator
import Testing
import TestSupport

/// The session with a store: nothing is seen before it is stored, and a restart continues.
@Suite("Session with a store", .timeLimit(.minutes(1)))
struct StoreSessionTests {
    /// A simulator and a session configuration for it that restarts can share (no attachment folder).
    static func restartableSimulator() async throws -> (QQSimulator, SessionConfiguration) {
        let sim = try await QQSimulator.start()
        var config = SimHarness.fastConfiguration(for: sim)
        config.attachments.directory = nil
        return (sim, config)
    }

    /// A session on the store at `t`, started and READY.
    func started(_ t: TempStore, _ config: SessionConfiguration) async throws -> (MessageStore, Session, EventRecorder) {
        let store = try t.open()
        let session = Session(configuration: config, store: store)
        let recorder = EventRecorder()
        await recorder.attach(session.events)
        await session.start()
        #expect(await recorder.waitForReady())
        return (store, session, recorder)
    }

    func readySession(_ status: GatewayStatus) -> String? {
        if case .ready(let id) = status.phase { return id }
        return nil
    }

    @Test("the gateway session is kept with the events: a restart resumes it; one the platform no longer has is identified afresh")
    func keptGatewaySession() async throws {
        let t = TempStore()
        let (sim, config) = try await Self.restartableSimulator()
        let key = GatewayPosition.key(appID: config.appID, shard: config.shard)
        do {
            let (store, session, recorder) = try await started(t, config)
            _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "一")
            #expect(await recorder.waitForMessages(1))
            let kept = try #require(try store.gatewayPosition(key: key))
            #expect(kept.sessionID == readySession(session.status))
            #expect(kept.lastSeq == session.status.lastSeq, "the position of the last stored event")
            #expect(kept.tokenExpiresAt.map { $0 > Date() } == true, "the token's expiry is kept (never the token)")
            await session.shutdown()
            await store.close()
        }
        // Nothing but the expiry is kept of the token.
        let raw = try Data(contentsOf: URL(fileURLWithPath: t.path)) + ((try? Data(contentsOf: URL(fileURLWithPath: t.path + "-wal"))) ?? Data())
        #expect(raw.range(of: Data(sim.configuration.appSecret.utf8)) == nil)
        do {
            let (store, session, recorder) = try await started(t, config)
            #expect(session.status.resumeCount == 1 && session.status.identifyCount == 0, "the restart resumed")
            await session.shutdown()
            try await store.write([.gatewayPosition(GatewayPosition(key: key, sessionID: "gone-session", lastSeq: 7, savedAt: Date()))])
            await store.close()
        }
        let (store, session, recorder) = try await started(t, config)
        #expect(session.status.identifyCount == 1, "a session the platform does not know: Identify")
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "二")
        #expect(await recorder.waitForMessages(1))
        #expect(try store.gatewayPosition(key: key)?.sessionID == readySession(session.status))
        await session.shutdown()
        await store.close()
        await sim.stop()
    }

    @Test("a restart keeps everything, continues msg_seq, and does not answer a re-pushed message twice")
    func restart() async throws {
        let t = TempStore()
        let (sim, config) = try await Self.restartableSimulator()
        let msgID: String
        do {
            let (store, session, recorder) = try await started(t, config)
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
        // "第二条" was pushed last: once it is shown, the repeat before it was handled.
        #expect(await recorder.waitForMessages(1))
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

    @Test("a message nobody answered before a restart is answered passively after it: its entry, never written, comes from its stored row; a busy chat keeps its newest 8")
    func unansweredSurvivesRestart() async throws {
        let t = TempStore()
        let (sim, config) = try await Self.restartableSimulator()
        var ids: [String] = []
        do {
            let (store, session, recorder) = try await started(t, config)
            for i in 0..<10 { ids.append(await sim.platform.userSendsC2C(userOpenID: "U1", content: "第\(i)条").id) }
            #expect(await recorder.waitForMessages(10))
            // Shown means stored, with whatever ledger rows the same commit held: none.
            #expect(ids.allSatisfy { store.ledgerEntry($0) == nil }, "an unanswered message's entry is not written")
            await session.shutdown()
            await store.close()
        }
        let (store, session, _) = try await started(t, config)
        #expect(session.ledgerEntry(for: ids[9])?.repliesLeft == config.replyWindow.c2cBudget)
        #expect(session.ledgerEntry(for: ids[2]) != nil && session.ledgerEntry(for: ids[1]) == nil, "the chat's newest 8 are held")
        // Without a msg_id the reply goes to the newest message, passively, with msg_seq 1.
        #expect(await session.send("回复", to: .c2c("U1")).status == .sent)
        #expect(await session.send("再回复", to: .c2c("U1"), replyingTo: ids[4]).status == .sent)
        let sent = await sim.platform.sent().filter { $0.path == "/v2/users/U1/messages" }
        #expect(sent.map { $0.body?["msg_id"]?.string } == [ids[9], ids[4]])
        #expect(sent.map { $0.body?["msg_seq"]?.int } == [1, 1] && sent.allSatisfy { $0.status == 200 })
        #expect(store.ledgerEntry(ids[9])?.nextSeq == 2, "once used, the entry is written")
        await session.shutdown()
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

    /// Every out row of `conversation` in the store, read synchronously (from a simulator hook).
    static func outRows(_ store: MessageStore, _ conversation: ConversationID) -> [(uid: String, status: String, text: String)] {
        (try? store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT uid, status, text FROM message WHERE conversation = ? AND direction = 'out' ORDER BY rowid",
                             arguments: [conversation.description]).map { ($0["uid"], $0["status"], $0["text"]) }
        }) ?? []
    }

    @Test("an outbound message is stored as sending before its POST reaches QQ, then sent with the QQ id")
    func sendingBeforePost() async throws {
        let store = try TempStore().open()
        try await SimHarness.run(store: store) { h in
            #expect(await h.recorder.waitForReady())
            let inbound = await h.c2cMessage()
            // At the instant each send reaches the platform: is it stored, and is its msg_seq reserved on disk?
            let seen = Mutex<[(status: String?, storedNextSeq: Int?)]>([])
            await h.platform.observeRequests { path, body in
                guard path.hasSuffix("/messages"), let text = body?["content"]?.string else { return }
                let row = Self.outRows(store, .c2c("U1")).first { $0.text == text }
                let nextSeq = store.ledgerEntry(inbound.id)?.nextSeq
                seen.withLock { $0.append((row?.status, nextSeq)) }
            }
            let out = await h.session.send("慢慢发", to: .c2c("U1"), replyingTo: inbound.id)
            #expect(out.status == .sent)
            let observed = seen.withLock { $0 }
            #expect(observed.count == 1)
            #expect(observed.first?.status == "sending", "the POST reached QQ before the row existed")
            #expect(observed.first?.storedNextSeq == 2, "msg_seq 1 was not on disk before QQ saw it")
            let after = try #require(await store.message(uid: out.id))
            #expect(after.status == "sent")
            #expect(after.qqMessageID == out.parts.first?.qqMessageID)
        }
    }

    @Test("an operator message waiting for its lane is already stored (a crash while it queues keeps the text)")
    func queuedIsStored() async throws {
        let store = try TempStore().open()
        let time = ManualClock()
        try await SimHarness.run(clock: time, store: store) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let posts = Mutex(0)
            await h.platform.observeRequests { path, _ in if path.hasSuffix("/messages") { posts.withLock { $0 += 1 } } }
            // The platform holds its first answer until the test moves time 1.5 s on.
            await h.platform.apply(.delayAnswers(count: 1, delayMs: 1500))
            let first = Task { await h.session.send("第一条（慢）", to: .c2c("U1")) }
            #expect(await h.waitStats { _ in posts.withLock { $0 } == 1 })
            let second = Task { await h.session.send("第二条（排队中）", to: .c2c("U1")) }
            var queued: (uid: String, status: String, text: String)?
            #expect(await eventually {
                queued = Self.outRows(store, .c2c("U1")).first { $0.text == "第二条（排队中）" }
                return queued != nil
            })
            #expect(queued?.status == "sending")
            #expect(posts.withLock { $0 } == 1, "the second message was stored while the first still held the lane")
            #expect(await time.waitForSleepers { $0 == .milliseconds(1500) })
            time.advance(by: .milliseconds(1500))
            #expect(await first.value.status == .sent)
            #expect(await second.value.status == .sent)
            #expect(Self.outRows(store, .c2c("U1")).map(\.status) == ["sent", "sent"])
        }
    }

    @Test("media: a refused, a failed and a sent image each end in the store with their status (and QQ's code)")
    func mediaStatuses() async throws {
        let store = try TempStore().open()
        try await SimHarness.run(store: store) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 64))
            let unreadable = await h.session.sendImage(path: "/nonexistent/cat.png", to: .c2c("U1"))
            let empty = await h.session.sendImage(Data(), filename: "empty.png", to: .c2c("U1"))
            await h.platform.apply(.oddResponses([OddResponse(status: 400, body: #"{"code":40034013,"message":"上传失败"}"#)]))
            let failed = await h.session.sendImage(png, filename: "a.png", to: .c2c("U1"))
            let sent = await h.session.sendImage(png, filename: "b.png", caption: "看图", to: .c2c("U1"))
            #expect(sent.status == .sent)
            for (out, status) in [(unreadable, "refused"), (empty, "refused"), (failed, "failed"), (sent, "sent")] {
                let row = try #require(await store.message(uid: out.id))
                #expect(row.status == status, "\(out.id): \(row.status)")
            }
            #expect(try await store.message(uid: failed.id)?.qqCode == 40034013)
            #expect(try await store.message(uid: sent.id)?.qqMessageID != nil)
        }
    }

    @Test("the store failing mid-session: messages are still shown, one notice says so, and all is saved once it recovers")
    func storeFailsInSession() async throws {
        let time = ManualClock()
        let store = try TempStore().open(clock: .manual(time))
        try await SimHarness.run(clock: time, store: store) { h in
            #expect(await h.recorder.waitForReady())
            try await store.pool.write { db in
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                try db.execute(sql: "PRAGMA max_page_count = \(pages)")
            }
            let big = String(repeating: "满", count: 3000)
            for i in 0..<5 { _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "\(i) \(big)") }
            #expect(await h.recorder.waitForMessages(5), "messages are shown even though they cannot be saved")
            #expect(await h.recorder.wait { events in
                events.contains { if case .notice(let n) = $0 { return n.kind == .storeError && n.level == .error }; return false }
            })
            let errors = await h.recorder.notices.filter { $0.kind == .storeError && $0.level == .error }
            #expect(errors.count == 1, "one notice when it starts failing, not one per batch")
            #expect(errors.first?.message.contains("disk is full") == true)
            #expect(try await store.counts().messages == 0)
            try await store.pool.write { try $0.execute(sql: "PRAGMA max_page_count = 1073741823") }
            // The store retries on its own, 2 s after the first failure (then backing off): nothing is
            // retried before that time comes.
            #expect(await time.waitForSleepers { $0 == .seconds(2) })
            #expect(try await store.counts().messages == 0)
            time.advance(by: .seconds(2))
            #expect(await h.recorder.wait { events in
                events.contains { if case .notice(let n) = $0 { return n.message.contains("writable again; nothing was lost") }; return false }
            })
            #expect(try await store.counts().messages == 5)
        }
    }

    @Test("a message pushed again after the in-memory window is still recognised (the store remembers it)")
    func duplicateBeyondMemory() async throws {
        // The store on the test's clock too: a commit slower than the inbound path's patience (500 ms,
        // as on a loaded CI machine) shows the message before the store can say it is a repeat.
        let time = ManualClock()
        let store = try TempStore().open(clock: .manual(time))
        try await SimHarness.run(clock: time, configure: { $0.dedupWindow = .seconds(60) }, store: store) { h in
            #expect(await h.recorder.waitForReady())
            let first = await h.c2cMessage(from: "U1", "只说一次")
            time.advance(by: .seconds(61))
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "只说一次", messageID: first.id)
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "新的一条")
            #expect(await h.recorder.waitForMessages(2))
            #expect(await h.recorder.messages.map(\.text) == ["只说一次", "新的一条"])
            #expect(await h.recorder.notices.contains { $0.kind == .duplicate && $0.subject == first.id && $0.message.contains("already stored") })
        }
    }

    @Test("a streaming reply's partial text is in the store while it streams, and its final status after")
    func partialReply() async throws {
        let store = try TempStore().open()
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: { $0.stream.interval = .milliseconds(100) }, store: store) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("一半的回答")
            // The partial text is kept at most every 250 ms, on its own.
            #expect(await time.waitForSleepers { $0 == .milliseconds(250) })
            time.advance(by: .milliseconds(250))
            #expect(await eventually { (try? await store.message(uid: writer.id))?.text == "一半的回答" })
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
