import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// The real backends behind the router, through the simulator.
@Suite("Hand-off with the openai backend (SSE fixture server)", .timeLimit(.minutes(1)))
struct HandoffOpenAITests {
    @Test("AGENT C2C with an OpenAI-compatible server: streamed frames to QQ; take-back closes the HTTP request and the stream")
    func openAITakeBack() async throws {
        try await SSEFixture.with { fixture in
            try await SimHarness.run(configure: { $0.stream.interval = .milliseconds(100) }, agent: fixture.agent("long")) { h in
                #expect(await h.recorder.waitForReady())
                await h.session.setOwner(.agent, for: .c2c("U1"))
                await h.c2cMessage(from: "U1", "慢慢说")
                // Taken back as soon as QQ has the first frame: the server is still mid-answer.
                #expect(await h.waitStreams { ($0.first?.frames.count ?? 0) >= 1 })
                await h.session.setOwner(.human, for: .c2c("U1"))
                #expect(await fixture.sawDisconnect(), "the server never saw the request go away")
                #expect(await h.waitStreams { $0.first?.closed == true })
                let stream = try #require(await h.streams().first)
                #expect(stream.text.hasPrefix("第0段"))
                #expect(!stream.text.contains("第199段"), "the whole answer reached QQ")
                let body = try await fixture.lastBody()
                let messages = try #require(body["messages"] as? [[String: Any]])
                #expect(messages.last?["content"] as? String == "慢慢说")
            }
        }
    }

    @Test("a group handed to an OpenAI-compatible server gets one message with the whole answer")
    func openAIGroup() async throws {
        try await SSEFixture.with { fixture in
            try await SimHarness.run(agent: fixture.agent("slow")) { h in
                #expect(await h.recorder.waitForReady())
                await h.session.setOwner(.agent, for: .group("G1"))
                await h.groupMessage("G1", from: "M1", "说说看")
                #expect(await h.recorder.waitForTurns(1))
                #expect(await eventually { await !h.accepted("/v2/groups/G1/messages").isEmpty })
                let text = await h.accepted("/v2/groups/G1/messages").first?.content ?? ""
                #expect(text.hasPrefix("第0段") && text.contains("第19段"))
            }
        }
    }
}

@Suite("Hand-off with the acp backend (fixture agent on the official SDK)", .timeLimit(.minutes(1)),
       .enabled(if: ACPFixture.enabled, "the ACP fixture venv .build/peers/venv is missing (bash .ci/peers); skipped"))
struct HandoffACPTests {
    @Test("AGENT C2C with an ACP agent: streamed to QQ; take-back sends session/cancel, closes the stream, and the agent answers again later")
    func acpTakeBack() async throws {
        try await ACPFixture.run { fixture in
            try await SimHarness.run(configure: { $0.stream.interval = .milliseconds(100) }, agent: fixture.backend) { h in
                #expect(await h.recorder.waitForReady())
                await h.session.setOwner(.agent, for: .c2c("U1"))
                await h.c2cMessage(from: "U1", "slow story please")
                #expect(await h.waitStreams { ($0.first?.frames.count ?? 0) >= 3 })
                await h.session.setOwner(.human, for: .c2c("U1"))
                #expect(await fixture.waitForLog { $0.contains { $0["method"]?.stringValue == "session/cancel" } })
                #expect(await h.waitStreams { $0.first?.closed == true })
                // Once the reply ended cancelled its writer is done: a late chunk could not go out after it.
                #expect(await h.recorder.wait { $0.contains { if case .outbound(let m) = $0 { return m.origin == "agent" && m.status == .cancelled }; return false } })
                let streams = await h.streams()
                #expect(streams.count == 1 && streams.first?.frames.last?.state == 10, "a late chunk reached QQ")
                #expect(streams.first?.frames.count { $0.state == 10 } == 1, "a late chunk reached QQ")
                await h.session.setOwner(.agent, for: .c2c("U1"))
                await h.c2cMessage(from: "U1", "你好")
                #expect(await h.recorder.waitForTurns(2))
                let second = try #require(await h.recorder.finishedTurns.last)
                #expect(second.outcome == .completed(cut: false))
                #expect(second.text.contains("你好"))
                #expect(fixture.methods.filter { $0 == "session/new" }.count == 1, "one agent session per conversation")
            }
        }
    }
}
