import Foundation
import QQSession
import QQSimulator
import Testing
import TestSupport

/// Recalling a sent message (`DELETE …/messages/{id}`) against the simulator: within the 2-minute
/// window, too late, twice, and an id nobody sent. A recalled message stays in the store, marked.
@Suite("Recall")
struct RecallTests {
    @Test("a message recalled within 2 minutes: one DELETE per delivered part, marked in the store and announced")
    func recallWithinWindow() async throws {
        let store = try TempStore().open()
        var sim = SimulatorConfiguration()
        sim.maxContentLength = 30
        try await SimHarness.run(simulator: sim, configure: { $0.sending.maxLength = 30 }, store: store) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            // 50 characters: two parts of at most 30, two QQ messages.
            let long = String(repeating: "错", count: 25) + String(repeating: "误", count: 25)
            let wrong = await h.session.send(long, to: .c2c("U1"), by: "alice")
            let right = await h.session.send("正确的回答", to: .c2c("U1"), by: "alice")
            #expect(wrong.status == .sent && right.status == .sent)
            let wrongIDs = wrong.parts.compactMap(\.qqMessageID)
            #expect(wrongIDs.count == 2)

            let recall = try await h.session.recall(wrong.id, by: "alice")
            #expect(recall.qqMessageIDs == wrongIDs)
            #expect(recall.operatorName == "alice")
            let deletes = await h.platform.sent().filter { $0.method == "DELETE" }
            #expect(deletes.map(\.path) == wrongIDs.map { "/v2/users/U1/messages/\($0)" })
            #expect(deletes.allSatisfy { $0.status == 200 })
            // The user's chat: both parts recalled, the right answer untouched.
            let transcript = await h.platform.sent().filter { $0.method == "POST" && $0.path.hasSuffix("/messages") }
            #expect(transcript.filter { $0.recalledAt != nil }.compactMap(\.id) == wrongIDs)
            #expect(transcript.first { $0.id == right.parts.first?.qqMessageID }?.recalledAt == nil)
            #expect(await h.recorder.wait { $0.contains { if case .recall(let r) = $0 { return r.outboundID == wrong.id }; return false } })

            let stored = try await store.message(uid: wrong.id)
            #expect(stored?.recalledAt != nil)
            #expect(stored?.status == "sent", "a recalled message stays as it was sent, marked recalled")
            #expect(stored?.text == long)

            // Twice: a clear refusal, no second DELETE.
            await #expect(throws: QQError.self) { _ = try await h.session.recall(wrong.id) }
            #expect(await Self.refusal { try await h.session.recall(wrong.id) }?.message.contains("recalled already") == true)
            // By QQ's id of the other message, and then "the last one" finds nothing left.
            _ = try await h.session.recall(right.parts[0].qqMessageID!)
            #expect(await Self.refusal { try await h.session.recallLast(in: .c2c("U1")) }?.message.contains("nothing sent to c2c:U1") == true)
            #expect(await h.platform.sent().filter { $0.method == "DELETE" }.count == 3)
        }
    }

    @Test("too late: after 2 minutes QQ answers 40064004; the error says so and the message is not marked")
    func recallTooLate() async throws {
        let time = ManualClock()
        let store = try TempStore().open(clock: .manual(time))
        try await SimHarness.run(clock: time, store: store) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let sent = await h.session.send("两分钟前的消息", to: .c2c("U1"))
            #expect(sent.status == .sent)
            time.advance(by: .seconds(121))
            let error = await Self.refusal { try await h.session.recallLast(in: .c2c("U1")) }
            #expect(error?.qqCode == 40064004)
            #expect(error?.message.contains("too late to recall") == true)
            #expect(error?.description.contains("40064004") == true)
            let refused = await h.platform.sent().filter { $0.method == "DELETE" }
            #expect(refused.count == 1 && refused.first?.code == 40064004)
            let stored = try await store.message(uid: sent.id)
            #expect(stored != nil && stored?.recalledAt == nil)
            #expect(await h.platform.sent().first { $0.id == sent.parts.first?.qqMessageID }?.recalledAt == nil)
        }
    }

    @Test("an id nobody sent, and a message QQ never got, are refused before any DELETE")
    func recallUnknown() async throws {
        let store = try TempStore().open()
        var sim = SimulatorConfiguration()
        sim.maxContentLength = 10
        try await SimHarness.run(simulator: sim, configure: { $0.sending.proactive = false }, store: store) { h in
            #expect(await h.recorder.waitForReady())
            #expect(await Self.refusal { try await h.session.recall("out-nothing") }?.message.contains("no message sent with id out-nothing") == true)
            // No open window and no proactive sends: refused, so nothing reached QQ.
            let refused = await h.session.send("没有发出去", to: .c2c("U9"))
            guard case .refused = refused.status else { Issue.record("expected refused, got \(refused.status)"); return }
            await h.c2cMessage()
            let failed = await h.session.send(String(repeating: "长", count: 20), to: .c2c("U1"))
            guard case .failed = failed.status else { Issue.record("expected failed, got \(failed.status)"); return }
            #expect(await Self.refusal { try await h.session.recall(refused.id) }?.message.contains("never reached QQ") == true)
            #expect(await Self.refusal { try await h.session.recall(failed.id) }?.message.contains("never reached QQ") == true)
            #expect(await h.platform.sent().filter { $0.method == "DELETE" }.isEmpty)
        }
    }

    /// The error a recall threw (nil, and a recorded issue, when it succeeded).
    static func refusal(_ body: () async throws -> Recall) async -> QQError? {
        do {
            _ = try await body()
            Issue.record("the recall was accepted")
            return nil
        } catch {
            #expect(error is QQError)
            return error as? QQError
        }
    }
}
