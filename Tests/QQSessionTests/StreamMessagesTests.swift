import QQSession
import QQSimulator
import Testing

/// Agent replies over the newer stream_messages endpoint.
@Suite("Streamed replies over stream_messages", .timeLimit(.minutes(1)))
struct StreamMessagesTests {
    @Test("stream_messages (the newer endpoint): same guarantees, one msg_seq per stream, increasing index")
    func streamMessagesAPI() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: { StreamReplyTests.fast(&$0); $0.stream.api = .streamMessages }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            var text = "片0"
            await writer.append("片0")
            #expect(await h.waitStreams { $0.first?.frames.count == 1 })
            for i in 1..<60 {
                text += "片\(i)"
                await writer.append("片\(i)")
                if i % 10 == 0 {
                    // One interval after every ten deltas: they go as one frame.
                    #expect(await time.fireNextTimer(within: StreamReplyTests.interval))
                    #expect(await h.waitStreams { $0.first?.frames.count == 1 + i / 10 })
                }
            }
            await writer.segmentBreak()
            await writer.append("第二段")
            _ = await writer.finish()
            let streams = await h.streams()
            try #require(streams.count == 2)   // (indexing below would crash the whole test run)
            #expect(streams.allSatisfy { $0.api == "stream_messages" && $0.closed })
            #expect(streams[0].text == text + "\n")
            #expect(streams[0].frames.count == 7, "the first frame, five paced ones, the closing one")
            #expect(streams[1].text == "第二段\n")
            #expect(Set(streams[0].frames.compactMap(\.msgSeq)).count == 1, "by default one msg_seq per stream")
            #expect(await h.platform.sent().allSatisfy { $0.path == "/v2/users/U1/stream_messages" && $0.status == 200 })
        }
    }

    @Test("stream_messages with msg_seq per frame (configurable: the sources disagree)")
    func streamMessagesSeqPerFrame() async throws {
        try await SimHarness.run(configure: { StreamReplyTests.fast(&$0); $0.stream.api = .streamMessages; $0.stream.seqPerFrame = true }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            let writer = await h.session.openReply(to: .c2c("U1"))
            await writer.append("一")
            #expect(await h.waitStreams { $0.first?.frames.count == 1 })
            await writer.append("二")
            _ = await writer.finish()
            let s = try #require(await h.streams().first)
            #expect(s.text == "一二\n")
            #expect(Set(s.frames.compactMap(\.msgSeq)).count == s.frames.count)
        }
    }
}
