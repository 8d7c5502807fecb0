import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// The hard cases of streaming: lost answers, refusals, budgets, races with take-back and images.
@Suite("Stream failures and races", .timeLimit(.minutes(1)))
struct StreamFailureTests {
    @Test("a frame taken by QQ whose answer was lost (502) is not sent twice")
    func lostAnswerMidStream() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: StreamReplyTests.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("一、")
            #expect(await h.waitStreams { $0.first?.frames.count == 1 })
            await h.platform.apply(.garbleAnswers(count: 1, body: "bad gateway", contentType: "text/plain", status: 502))
            await writer.append("二、")
            #expect(await time.fireNextTimer(within: StreamReplyTests.interval), "the frame's turn")
            #expect(await h.waitStreams { $0.first?.frames.count == 2 }, "QQ took it; its answer is lost")
            #expect(await time.fireNextTimer(within: .milliseconds(100)), "the retry pause after the 502")
            #expect(await h.recorder.waitForDeliveredFrames(2), "the resend's refusal tells the writer QQ has it")
            await writer.append("三。")
            let out = await writer.finish()
            #expect(out.status == .sent)
            let s = try #require(await h.streams().first)
            #expect(s.text == "一、二、三。\n")
            #expect(s.closed)
            #expect(await h.platform.sent().contains { $0.code == 40054005 }, "the resend was recognised as a duplicate")
            #expect(await h.accepted("/v2/users/U1/messages").filter { $0.body?["stream"] == nil }.isEmpty, "no fallback copy")
        }
    }

    @Test("a first frame whose answer was lost: no id, so the rest goes as a normal message and a notice says so")
    func lostFirstAnswer() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: StreamReplyTests.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            await h.platform.apply(.garbleAnswers(count: 1, body: "", contentType: nil, status: 504))
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("开头，")
            #expect(await time.fireNextTimer(within: .milliseconds(100)), "the retry pause after the 504")
            #expect(await h.recorder.waitForDeliveredFrames(1), "the resend's refusal tells the writer QQ has it")
            await writer.append("后面。")
            let out = await writer.finish()
            #expect(out.status == .sent)
            #expect(await h.streams().map(\.text) == ["开头，"])
            let normal = await h.accepted("/v2/users/U1/messages").filter { $0.body?["stream"] == nil }
            #expect(normal.compactMap(\.content) == ["后面。"])
            #expect(await h.recorder.notices.contains { $0.message.contains("without an id") })
        }
    }

    @Test("a closing frame that fails: QQ rolls the stream back, so what came after the first chunk is sent again",
          arguments: [false, true])
    func closeFails(rateLimitedAfterServerError: Bool) async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: StreamReplyTests.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("第一块。")
            #expect(await h.waitStreams { $0.first?.frames.count == 1 })
            await writer.append("第二块。")
            #expect(await time.fireNextTimer(within: StreamReplyTests.interval), "the frame's turn")
            #expect(await h.waitStreams { $0.first?.frames.count == 2 })
            // After a 503 the frame may have got through, but a 429 says nothing about that: a 503 and
            // then 429s until the retries run out is a failed frame, not a delivered one (the chaos soak
            // found the stream left open while the reply said sent).
            let down = OddResponse(status: 503, contentType: "text/plain", body: "down")
            let limited = OddResponse(status: 429, body: #"{"code":22009,"message":"msg limit exceed"}"#)
            await h.platform.apply(.oddResponses(rateLimitedAfterServerError ? [down, limited, limited, limited] : Array(repeating: down, count: 4)))
            let finishing = Task { await writer.finish() }
            for retry in 1...3 {
                #expect(await time.fireNextTimer(within: .milliseconds(200)), "the closing frame's retry pause \(retry)")
            }
            let out = await finishing.value
            #expect(out.status == .sent, "\(out.status)")
            #expect(out.parts.first?.status != .sent, "the stream's part is not marked sent: \(out.parts)")
            let s = try #require(await h.streams().first)
            #expect(!s.closed)
            let normal = await h.accepted("/v2/users/U1/messages").filter { $0.body?["stream"] == nil }
            #expect(normal.compactMap(\.content) == ["第二块。"], "the rolled-back part goes out again")
        }
    }

    @Test("markdown refused inside a stream: the frame is resent as text and the stream goes on as text")
    func markdownInStream() async throws {
        var refusing = SimulatorConfiguration()
        refusing.markdownAllowed = false
        try await SimHarness.run(simulator: refusing, configure: { StreamReplyTests.fast(&$0); $0.markdown = true }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("**粗体**")
            #expect(await h.waitStreams { $0.first?.frames.count == 1 })
            await writer.append(" 以及更多")
            _ = await writer.finish()
            let sent = await h.platform.sent()
            #expect(sent.first?.code == 40034012)
            #expect(sent.dropFirst().allSatisfy { $0.body?["msg_type"]?.int == 0 && $0.status == 200 })
            let s = try #require(await h.streams().first)
            #expect(s.text == "**粗体** 以及更多\n")
            #expect(s.closed)
        }
    }

    @Test("more segments than the reply budget: the last one goes as a normal (proactive) message")
    func budgetForSegments() async throws {
        var sim = SimulatorConfiguration()
        sim.passiveReplyBudget = 2
        try await SimHarness.run(simulator: sim, configure: { StreamReplyTests.fast(&$0); $0.replyWindow.budget = 2 }) { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("段一")
            await writer.segmentBreak()
            await writer.append("段二")
            await writer.segmentBreak()
            await writer.append("段三")
            let out = await writer.finish()
            #expect(out.status == .sent)
            #expect(await h.streams().map(\.text) == ["段一\n", "段二\n"])
            let normal = await h.accepted("/v2/users/U1/messages").filter { $0.body?["stream"] == nil }
            #expect(normal.map(\.content) == ["段三"])
            #expect(normal.first?.msgID == nil, "proactive")
            #expect(await h.platform.sent().allSatisfy { $0.status == 200 })
            #expect(h.session.ledgerEntry(for: msg.id)?.repliesLeft == 0)
        }
    }

    @Test("a reply opened when no window is open is accumulated and sent proactively at the end")
    func noWindow() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            StreamReplyTests.fast(&$0)
            $0.replyWindow.c2c = .milliseconds(1200)
            $0.sending.windowMargin = .zero
        }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            time.advance(by: .milliseconds(1300))
            let writer = await h.session.openReply(to: .c2c("U1"))
            #expect(!writer.streams)
            await writer.append("迟到的")
            await writer.append("回答")
            #expect(await writer.finish().status == .sent)
            let sent = await h.accepted("/v2/users/U1/messages")
            #expect(sent.map(\.content) == ["迟到的回答"])
            #expect(sent.first?.msgID == nil)
        }
    }

    @Test("the platform's budget is smaller than ours (40034128): the send re-plans to proactive")
    func platformBudget() async throws {
        var sim = SimulatorConfiguration()
        sim.passiveReplyBudget = 2
        try await SimHarness.run(simulator: sim) { h in
            #expect(await h.recorder.waitForReady())
            await h.groupMessage()
            for i in 1...3 { #expect(await h.session.send("第\(i)条", to: .group("G1")).status == .sent) }
            let sent = await h.platform.sent()
            #expect(sent.map(\.code) == [nil, nil, 40034128, nil])
            #expect(sent.last?.msgID == nil)
            #expect(h.session.route(for: .group("G1")) == .proactive, "that message's entry is now spent")
        }
    }

    @Test("22009 (msg limit exceed) is a rate limit: retried, then failed, without spending the window")
    func rateLimit() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: { $0.sending.retryBase = .milliseconds(10) }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let limited = OddResponse(status: 400, body: #"{"code":22009,"message":"msg limit exceed","trace_id":"rl"}"#)
            await h.platform.apply(.oddResponses(Array(repeating: limited, count: 4)))
            let sending = Task { await h.session.send("too fast", to: .c2c("U1")) }
            // 10, 20 and 40 ms (and a little jitter) of backoff, then it gives up.
            for retry in 1...3 {
                #expect(await time.fireNextTimer(within: .milliseconds(100)), "retry pause \(retry)")
            }
            let out = await sending.value
            guard case .failed = out.status else { Issue.record("not failed: \(out.status)"); return }
            #expect(out.error?.qqCode == 22009)
            #expect(h.session.route(for: .c2c("U1")).isPassive, "the window is still there for the next reply")
            #expect(await h.session.send("later", to: .c2c("U1")).status == .sent)
        }
    }

    @Test("take-back while the first frame is in flight: the stream is closed after it, nothing else is sent")
    func cancelDuringFirstFrame() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: StreamReplyTests.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            await h.platform.apply(.delayAnswers(count: 1, delayMs: 400))
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("先说一句")
            // The first frame is at the platform, its answer held until the test moves time 400 ms.
            #expect(await eventually { await h.platform.sent().count == 1 })
            await writer.append("不该发的")
            let cancelling = Task { await writer.cancel() }
            #expect(await eventually { await writer.isCancelled })
            #expect(await time.waitForSleepers { $0 == .milliseconds(400) })
            time.advance(by: .milliseconds(400))
            let out = await cancelling.value
            #expect(out.status == .cancelled)
            let s = try #require(await h.streams().first)
            #expect(s.frames.map(\.text) == ["先说一句", "\n"])
            #expect(s.closed)
        }
    }

    @Test("finish while an image uploads waits for it; take-back while an image waits is not sent")
    func imageRaces() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: StreamReplyTests.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.groupMessage()
            await h.platform.apply(.delayAnswers(count: 1, delayMs: 300))
            let writer = await h.session.openReply(to: .group("G1"))
            let png = Data([0x89, 0x50, 0x4E, 0x47, 9, 9])
            let upload = Task { await writer.attachImage(png, filename: "slow.png") }
            #expect(await eventually { await h.platform.sent().contains { $0.path.hasSuffix("/files") } }, "the upload is at the platform")
            // Its answer is held until the test moves time 300 ms: the reply cannot end before that.
            let finishing = Task { await writer.finish() }
            #expect(await time.waitForSleepers { $0 == .milliseconds(300) })
            #expect(await !h.recorder.events.contains { if case .outbound(let m) = $0 { return m.id == writer.id && m.isFinal }; return false })
            time.advance(by: .milliseconds(300))
            let out = await finishing.value
            await upload.value
            #expect(out.status == .sent)
            #expect(out.parts.contains { $0.text == "slow.png" && $0.status == .sent }, "the image is part of the outcome")

            // A send retrying after a 503 holds the conversation's lane until the test moves time.
            await h.platform.clearSent()
            await h.platform.apply(.oddResponses([OddResponse(status: 503, contentType: "text/plain", body: "down")]))
            let blocker = Task { await h.session.send("占住通道", to: .group("G1")) }
            let retryBy = time.elapsed + .seconds(1)
            #expect(await time.waitForSleepers { $0 <= retryBy }, "the blocker waits for its retry")
            let second = await h.session.openReply(to: .group("G1"))
            let queued = Task { await second.attachImage(png, filename: "late.png") }
            #expect(await eventually { await second.helpersUnderWay == 1 }, "the image waits for the lane")
            let takeBack = Task { await second.cancel() }
            #expect(await eventually { await second.isCancelled })
            #expect(await time.fireNextTimer(within: .seconds(1)), "the blocker's retry: the lane frees")
            #expect(await takeBack.value.status == .cancelled)
            await queued.value
            #expect(await blocker.value.status == .sent)
            #expect(await !h.platform.sent().contains { $0.path.hasSuffix("/files") }, "no upload after the take-back")
        }
    }
}
