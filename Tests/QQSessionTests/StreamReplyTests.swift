import Foundation
import QQSession
import QQSimulator
import Testing
import TestSupport

/// Agent replies over the C2C stream protocol (and accumulated in groups), checked by the simulator.
@Suite("Streamed replies", .timeLimit(.minutes(1)))
struct StreamReplyTests {
    /// The frame pacing interval of ``fast(_:)``.
    static let interval = Duration.milliseconds(150)

    static func fast(_ c: inout SessionConfiguration) {
        c.stream.interval = interval
        c.sending.retryBase = .milliseconds(20)
    }

    @Test("one delta: first frame (index 0, no id key), then a closing frame that is just a newline")
    func oneDelta() async throws {
        try await SimHarness.run(configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            #expect(writer.streams)
            await writer.append("今天晴，25 度。")
            let out = await writer.finish()
            #expect(out.status == .sent)
            let streams = await h.streams()
            #expect(streams.count == 1)
            let s = try #require(streams.first)
            #expect(s.closed && !s.rolledBack)
            #expect(s.msgID == msg.id)
            #expect(s.frames.map(\.state) == [1, 10])
            #expect(s.frames.map(\.text) == ["今天晴，25 度。", "\n"])
            let first = try #require(await h.accepted("/v2/users/U1/messages").first)
            guard case .object(let stream)? = first.body?["stream"] else { Issue.record("no stream object"); return }
            #expect(stream["id"] == nil, "the first frame has no id key at all")
            #expect(stream["index"]?.int == 0)
            #expect(Set(s.frames.compactMap(\.msgSeq)).count == 2, "every frame its own msg_seq")
            let transcript = await h.accepted("/v2/users/U1/messages")
            #expect(transcript.map(\.streamID) == [s.id, s.id], "/sim/sent tags each frame with its stream")
            #expect(transcript.last?.streamText == "今天晴，25 度。\n")
        }
    }

    @Test("500 deltas: throttled frames, each only the new text, nothing lost or repeated, one reply of the budget")
    func manyDeltas() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            var text = "第0段 "
            await writer.append(text)
            #expect(await h.waitStreams { $0.first?.frames.count == 1 }, "the first frame goes at once")
            // Ten bursts of 50 deltas; after each, one interval passes: the burst goes as one frame.
            for burst in 0..<10 {
                for i in max(1, burst * 50)..<(burst + 1) * 50 {
                    let delta = "第\(i)段 "
                    text += delta
                    await writer.append(delta)
                }
                #expect(await time.fireNextTimer(within: Self.interval), "the burst waits for the throttle")
                #expect(await h.waitStreams { $0.first?.frames.count == burst + 2 })
            }
            let out = await writer.finish()
            #expect(out.status == .sent)
            let s = try #require(await h.streams().first)
            #expect(s.closed)
            #expect(s.text == text + "\n")
            #expect(s.frames.count == 12, "\(s.frames.count) frames: coalesced, one per interval and the closing one")
            #expect(s.frames.map(\.index) == Array(0..<s.frames.count))
            #expect(h.session.ledgerEntry(for: msg.id)?.repliesLeft == 3)
            let count = s.frames.count
            #expect(await h.recorder.wait { $0.filter { if case .streamFrame = $0 { return true }; return false }.count >= count })
            let frames = await h.recorder.events.compactMap { if case .streamFrame(let f) = $0 { return f }; return nil }
            #expect(frames.count == count)
            #expect(frames.allSatisfy { $0.error == nil })
            // At most one frame per interval: the frames before the closing one are an interval apart.
            let times = frames.dropLast().map(\.at)
            let gaps = zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }
            #expect(gaps.allSatisfy { abs($0 - Self.interval.seconds) < 0.001 }, "\(gaps)")
        }
    }

    @Test("bytes cut inside a multi-byte character never reach QQ broken")
    func splitCharacter() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            let characters = Array("你好，世界😀！")
            for (n, character) in characters.enumerated() {
                let bytes = Array(String(character).utf8)
                await writer.append(bytes: Data(bytes.prefix(1)))
                if n >= 2 {
                    // The character before this one waits for the throttle: it goes now, while this
                    // one is cut after its first byte.
                    #expect(await time.fireNextTimer(within: Self.interval))
                    #expect(await h.waitStreams { $0.first?.frames.count == n })
                }
                for b in bytes.dropFirst() { await writer.append(bytes: Data([b])) }
                if n == 0 { #expect(await h.waitStreams { $0.first?.frames.count == 1 }) }
            }
            _ = await writer.finish()
            let s = try #require(await h.streams().first)
            #expect(s.text == "你好，世界😀！\n")
            #expect(!s.frames.contains { $0.text.contains("\u{FFFD}") })
            #expect(s.frames.map(\.text) == ["你", "好", "，", "世", "界", "😀", "！\n"], "whole characters only")
        }
    }

    @Test("an empty final buffer still gets a closing frame")
    func emptyFinal() async throws {
        try await SimHarness.run(configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("all of it")
            #expect(await h.waitStreams { $0.first?.frames.count == 1 })
            #expect(await h.recorder.waitForDeliveredFrames(1), "the writer has sent everything it had")
            _ = await writer.finish()
            let s = try #require(await h.streams().first)
            #expect(s.frames.map(\.text) == ["all of it", "\n"])
            #expect(s.closed)
        }
    }

    @Test("a segment break closes the stream and the next text opens a new one; nothing is sent twice")
    func segmentBreak() async throws {
        try await SimHarness.run(configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("我查一下天气。")
            await writer.segmentBreak()
            await writer.append("查到了：北京晴。")
            _ = await writer.finish()
            let streams = await h.streams()
            #expect(streams.count == 2)
            #expect(streams.map(\.text) == ["我查一下天气。\n", "查到了：北京晴。\n"])
            #expect(streams.allSatisfy { $0.closed })
            #expect(streams.allSatisfy { $0.frames.first?.index == 0 })
        }
    }

    @Test("the first answer without an id: the rest is sent as a normal message; the user gets every word")
    func firstAnswerWithoutID() async throws {
        try await SimHarness.run(configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            await h.platform.apply(.garbleAnswers(count: 1, body: #"{"timestamp":"2026-11-22T10:00:00+08:00"}"#, contentType: "application/json"))
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("第一块。")
            #expect(await h.recorder.waitForDeliveredFrames(1), "the id-less answer is in")
            await writer.append("第二块。")
            let out = await writer.finish()
            #expect(out.status == .sent)
            let stream = try #require(await h.streams().first)
            #expect(stream.text == "第一块。")
            #expect(!stream.closed, "without an id it cannot be closed")
            let normal = await h.accepted("/v2/users/U1/messages").filter { $0.body?["stream"] == nil }
            #expect(normal.compactMap(\.content) == ["第二块。"])
        }
    }

    @Test("a 500 mid-stream is retried with the same frame (no duplicate text); a non-JSON answer keeps the last id")
    func errorsMidStream() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("一、")
            #expect(await h.waitStreams { $0.first?.frames.count == 1 })
            await h.platform.apply(.oddResponses([OddResponse(status: 500, contentType: "text/plain", body: "boom")]))
            await writer.append("二、")
            #expect(await time.fireNextTimer(within: Self.interval), "the frame's turn")
            #expect(await eventually { await h.platform.sent().contains { $0.status == 500 } })
            #expect(await time.fireNextTimer(within: .milliseconds(100)), "the retry pause after the 500")
            #expect(await h.waitStreams { $0.first?.frames.count == 2 })
            await h.platform.apply(.garbleAnswers(count: 1, body: "<html>not json</html>", contentType: "text/html"))
            await writer.append("三、")
            #expect(await time.fireNextTimer(within: Self.interval))
            #expect(await h.waitStreams { $0.first?.frames.count == 3 })
            await writer.append("四。")
            let out = await writer.finish()
            #expect(out.status == .sent)
            let s = try #require(await h.streams().first)
            #expect(s.text == "一、二、三、四。\n")
            #expect(s.closed)
        }
    }

    @Test("a frame that keeps failing: the stream is closed validly and the rest goes as a normal message")
    func frameFailsForGood() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("开头。")
            #expect(await h.waitStreams { $0.first?.frames.count == 1 })
            await h.platform.apply(.oddResponses(Array(repeating: OddResponse(status: 503, contentType: "text/plain", body: "down"), count: 4)))
            await writer.append("中间。")
            #expect(await time.fireNextTimer(within: Self.interval), "the frame's turn")
            for retry in 1...3 {
                #expect(await time.fireNextTimer(within: .milliseconds(200)), "retry pause \(retry)")
            }
            // All four 503s are used up by the frame and its retries before the close is sent.
            #expect(await eventually { await h.platform.sent().count { $0.status == 503 } >= 4 })
            await writer.append("结尾。")
            let out = await writer.finish()
            #expect(out.status == .sent, "\(out.status)")
            let s = try #require(await h.streams().first)
            #expect(s.text == "开头。\n")
            #expect(s.closed)
            let normal = await h.accepted("/v2/users/U1/messages").filter { $0.body?["stream"] == nil }
            #expect(normal.compactMap(\.content).joined() == "中间。结尾。")
        }
    }

    @Test("take-back mid-stream: nothing pending is sent, late deltas are dropped, the stream is closed validly")
    func cancel() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("我正在写")
            #expect(await h.waitStreams { $0.first?.frames.count == 1 })
            await writer.append("一段不该发出的话")   // waits for the throttle, which time never reaches
            let out = await writer.cancel()
            await writer.append("迟到的内容")
            #expect(out.status == .cancelled)
            let s = try #require(await h.streams().first)
            #expect(s.frames.map(\.text) == ["我正在写", "\n"])
            #expect(s.closed)
            #expect(time.noTimer(within: .seconds(1)), "no pacing timer is left to send anything later")
            time.advance(by: .seconds(1))
            #expect(await h.platform.sent().count == 2)
        }
    }

    @Test("groups never stream: the reply is accumulated and sent once, split if long, with no duplicated text")
    func groupAccumulation() async throws {
        try await SimHarness.run(configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.groupMessage()
            let writer = await h.session.openReply(to: .group("G1"))
            #expect(!writer.streams)
            var text = ""
            for i in 0..<300 {
                let delta = "这是第\(i)句话，"
                text += delta
                await writer.append(delta)
            }
            await writer.segmentBreak()
            await writer.append("完。")
            text += "完。"
            let out = await writer.finish()
            #expect(out.status == .sent)
            #expect(await h.platform.sent().allSatisfy { $0.status == 200 }, "nothing the platform refused (no stream attempt)")
            let sent = await h.accepted("/v2/groups/G1/messages")
            #expect(sent.count >= 2)
            #expect(sent.allSatisfy { $0.body?["stream"] == nil && $0.msgID == msg.id })
            #expect(sent.compactMap(\.content).joined() == text)
            #expect(await h.streams().isEmpty)
        }
    }

    @Test("an image inside a reply goes as its own media message, after the text before it")
    func imageInReply() async throws {
        try await SimHarness.run(configure: Self.fast) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("图在下面：")
            await writer.attachImage(Data([0x89, 0x50, 0x4E, 0x47, 0, 1]), filename: "chart.png")
            await writer.append("看完告诉我。")
            let out = await writer.finish()
            #expect(out.status == .sent)
            let streams = await h.streams()
            #expect(streams.map(\.text) == ["图在下面：\n", "看完告诉我。\n"], "the stream before the image is closed first")
            let transcript = await h.platform.sent()
            let imageAt = try #require(transcript.firstIndex { $0.body?["msg_type"]?.int == 7 })
            let firstClose = try #require(transcript.firstIndex { $0.streamID == streams[0].id && $0.body?["stream"]?["state"]?.int == 10 })
            let secondOpen = try #require(transcript.firstIndex { $0.streamID == streams[1].id })
            #expect(firstClose < imageAt && imageAt < secondOpen, "text before the image, the image, then the rest")
        }
    }

    @Test("the newline rule: a frame refused for not ending in a newline is fixed and resent once")
    func newlineError() async throws {
        var sim = SimulatorConfiguration()
        sim.markdownAllowed = true
        sim.streamNewlineRule = .everyMarkdownChunk
        try await SimHarness.run(simulator: sim, configure: { Self.fast(&$0); $0.markdown = true }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("第一行")
            _ = await writer.finish()
            let sent = await h.platform.sent()
            #expect(sent.first?.code == 40034050)
            #expect(sent.first?.message?.contains("流式消息md分片需要\\n结束") == true)
            #expect(sent.first?.content == "第一行", "the refused attempt lacked the newline")
            #expect(sent.dropFirst().first?.content == "第一行\n", "resent once with it")
            #expect(sent.filter { $0.code == 40034050 }.count == 1)
            let s = try #require(await h.streams().first)
            #expect(s.closed)
        }
    }
}
