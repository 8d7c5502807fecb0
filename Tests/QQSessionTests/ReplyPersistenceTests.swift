import Foundation
import QQSession
import QQSimulator
import Testing
import TestSupport

/// A reply's partial text reaches the store while it is written, on the session's clock.
@Suite("Reply persistence", .timeLimit(.minutes(1)))
struct ReplyPersistenceTests {
    @Test("the partial text is stored 250 ms after it grows, once for all the text of those 250 ms")
    func partialTextAfter250ms() async throws {
        let store = try TempStore().open()
        let time = ManualClock()
        try await SimHarness.run(clock: time, store: store) { h in
            #expect(await h.recorder.waitForReady())
            await h.groupMessage()
            // A group reply is accumulated: only the persistence timer stores it before the end.
            let writer = await h.session.openReply(to: .group("G1"))
            await writer.append("一半")
            let limit = time.elapsed + .milliseconds(250)
            #expect(await time.waitForSleepers { $0 <= limit }, "the timer is set")
            try await store.flush()
            #expect(try await store.message(uid: writer.id) == nil, "nothing stored before 250 ms")

            time.advance(by: .milliseconds(100))
            await writer.append("的回答")
            #expect(time.sleepers.count { $0 <= time.elapsed + .milliseconds(250) } == 1, "one timer for both deltas")
            time.advance(by: .milliseconds(149))
            try await store.flush()
            #expect(try await store.message(uid: writer.id) == nil, "still nothing at 249 ms")

            time.advance(by: .milliseconds(1))
            #expect(await eventually { (try? await store.message(uid: writer.id))?.text == "一半的回答" })
            #expect(try await store.message(uid: writer.id)?.status == "sending")

            let out = await writer.finish()
            #expect(out.status == .sent)
            #expect(try await store.message(uid: writer.id)?.status == "sent")
        }
    }
}
