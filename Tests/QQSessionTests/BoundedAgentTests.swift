import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// A runaway agent reply ends: cut at the configured length, paced, and stopped at the turn timeout.
@Suite("Agents: bounded replies", .timeLimit(.minutes(1)))
struct BoundedAgentTests {
    @Test("a 2 MB reply is cut at max_reply_length: the user gets the text up to the cut and a notice, the agent is stopped")
    func cutAtCap() async throws {
        let store = try TempStore().open()
        let agent = shellAgent("head -c 2000000 /dev/zero | tr '\\0' 'a'; sleep 60")
        try await SimHarness.run(configure: { $0.handoff.maxReplyLength = 500; $0.stream.interval = .milliseconds(100) },
                                 store: store, agent: agent) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            await h.c2cMessage(from: "U1", "写一本书")
            #expect(await h.recorder.waitForTurns(1), "the turn ended although the agent would write for a minute more")
            let turn = try #require(await h.recorder.finishedTurns.first)
            #expect(turn.outcome == .completed(cut: true))
            #expect(turn.text == String(repeating: "a", count: 500))
            #expect(await h.recorder.notices.contains { $0.kind == .agentError && $0.message.contains("max_reply_length") })
            #expect(await h.waitStreams { $0.first?.closed == true })
            let stream = try #require(await h.streams().first)
            #expect(stream.visibleText.filter { $0 == "a" }.count == 500)
            #expect(stream.visibleText.contains("已截断"), "the user is told the answer was cut")
            let reply = try #require(await store.messages(in: .c2c("U1")).first { $0.origin == "agent" })
            #expect(reply.status == "sent")
            #expect(reply.text == String(repeating: "a", count: 500) + HandoffPolicy().cutNotice)
        }
    }

    @Test("the turn timeout holds while a long reply is still streaming: the stream is closed validly at the deadline, the reply failed")
    func timeoutWhileStreaming() async throws {
        let store = try TempStore().open()
        let time = ManualClock()
        // 3,000 characters at once; at 100 a frame and one frame a second the stream would take 30 s.
        let agent = shellAgent("head -c 3000 /dev/zero | tr '\\0' 'b'")
        try await SimHarness.run(clock: time, configure: {
            $0.handoff.turnTimeout = .milliseconds(4500)
            $0.stream.interval = .seconds(1)
            $0.stream.maxFrameLength = 100
        }, store: store, agent: agent) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            await h.c2cMessage(from: "U1", "长一点")
            #expect(await h.recorder.waitForDelta(containing: String(repeating: "b", count: 3000)))
            #expect(await h.waitStreams { $0.first?.frames.count == 1 }, "the first frame goes at once")
            // One frame a second: 1 s of the session's clock at a time, four times.
            for second in 1...4 {
                #expect(await time.waitForSleepers { $0 == .seconds(second) }, "the next frame waits for the interval")
                time.advance(to: .seconds(second))
                #expect(await h.waitStreams { $0.first?.frames.count == second + 1 }, "frame \(second + 1) at \(second) s")
            }
            time.advance(to: .milliseconds(4500))
            #expect(await h.recorder.waitForTurns(1))
            let turn = try #require(await h.recorder.finishedTurns.first)
            guard case .failed(let reason) = turn.outcome else { Issue.record("\(turn.outcome)"); return }
            #expect(reason.contains("turn"), "\(reason)")
            #expect(await h.waitStreams { $0.first?.closed == true }, "a valid closing frame went out")
            let stream = try #require(await h.streams().first)
            #expect(stream.frames.count == 6, "\(stream.frames.count) frames: 5 paced ones and the closing one")
            #expect(await eventually { (try? await store.messages(in: .c2c("U1")).first { $0.origin == "agent" }?.status) == "failed" })
            #expect(await h.recorder.notices.contains { $0.kind == .agentError && $0.level == .error && $0.message.contains("turn") })
        }
    }
}
