import Foundation
import QQSession
import QQSimulator
import Testing
import TestSupport

/// The typing notice (`msg_type 6`) while an agent works on a C2C answer, against the simulator on a
/// manual clock: sent once the agent has thought for a second, refreshed every 50 s, never when it
/// would leave the answer or the operator without a passive reply, and never after the agent's first
/// words.
@Suite("Typing notice", .timeLimit(.minutes(1)))
struct TypingTests {
    static func typing(_ c: inout SessionConfiguration) {
        c.handoff.typing = true
        c.handoff.firstEventTimeout = .seconds(3600)
        c.handoff.idleTimeout = .seconds(3600)
        c.handoff.turnTimeout = .seconds(7200)
    }

    static func notices(_ h: SimHarness) async -> [SentRecord] {
        await h.platform.sent().filter { $0.body?["msg_type"]?.int == 6 }
    }

    @Test("typing while the agent thinks: after 1 s, again 50 s later, then no more (two replies stay: the answer's and the operator's)")
    func typingBudget() async throws {
        let time = ManualClock()
        let gates = AgentGates()
        let agent = gates.agent("gate words; printf '查到了：已发货'")
        try await SimHarness.run(clock: time, configure: Self.typing, agent: agent) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            let message = await h.c2cMessage(from: "U1", "我的快递到哪了")
            // Nothing while the agent has thought for less than a second.
            #expect(await time.waitForSleepers { $0 == .seconds(1) })
            #expect(await Self.notices(h).isEmpty)
            time.advance(by: .seconds(1))
            #expect(await eventually { await Self.notices(h).count == 1 })
            let first = try #require(await Self.notices(h).first)
            #expect(first.status == 200 && first.body?["msg_id"]?.string == message.id)
            #expect(first.body?["input_notify"]?["input_type"]?.int == 1 && first.body?["input_notify"]?["input_second"]?.int == 60)
            // 50 s later the agent still thinks: once more (4 → 3 → 2 replies left).
            #expect(await time.waitForSleepers { $0 == .seconds(51) })
            time.advance(by: .seconds(50))
            #expect(await eventually { await Self.notices(h).count == 2 })
            #expect(h.session.ledgerEntry(for: message.id)?.repliesLeft == 2)
            // Two left are the answer's and the operator's: no third notice, however long it thinks.
            time.advance(by: .seconds(50))
            time.advance(by: .seconds(50))
            gates.open("words")
            #expect(await h.waitStreams { $0.first?.closed == true })
            #expect(await Self.notices(h).count == 2)
            let stream = try #require(await h.streams().first)
            #expect(stream.text.contains("查到了：已发货") && stream.msgID == message.id)
            #expect(h.session.ledgerEntry(for: message.id)?.repliesLeft == 1, "the operator still has a passive reply")
            #expect(await Self.notices(h).allSatisfy { $0.status == 200 })
        }
    }

    @Test("an agent that answers within the second costs no typing notice: its answer leaves the operator two replies, not one")
    func quickAnswerNoTyping() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: Self.typing, agent: shellAgent("printf '已发货'")) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            let message = await h.c2cMessage(from: "U1", "发货了吗")
            #expect(await h.waitStreams { $0.first?.closed == true })
            let stream = try #require(await h.streams().first)
            #expect(stream.text == "已发货\n")
            #expect(stream.msgID == message.id)
            #expect(await h.recorder.waitForTurns(1))
            // The second passes after the answer: still no notice, and 3 of the 4 replies are left.
            time.advance(by: .seconds(120))
            #expect(await Self.notices(h).isEmpty)
            #expect(h.session.ledgerEntry(for: message.id)?.repliesLeft == 3)
        }
        // typing_after_ms = 0: at once, before any time passes.
        let gates = AgentGates()
        try await SimHarness.run(clock: ManualClock(), configure: { Self.typing(&$0); $0.handoff.typingDelay = .zero },
                                 agent: gates.agent("gate words; printf '在的'")) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            let message = await h.c2cMessage(from: "U1", "在吗")
            #expect(await eventually { await Self.notices(h).count == 1 })
            #expect(await Self.notices(h).first?.body?["msg_id"]?.string == message.id)
            gates.open("words")
            #expect(await h.waitStreams { $0.first?.closed == true })
            #expect(await h.streams().first?.text == "在的\n")
        }
    }

    @Test("no typing after the first words, in groups, for drafts, or when [agent] typing is off")
    func noTyping() async throws {
        let time = ManualClock()
        let gates = AgentGates()
        let agent = gates.agent("printf '马上'; gate rest; printf '好了'")
        try await SimHarness.run(clock: time, configure: Self.typing, agent: agent) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            let message = await h.c2cMessage(from: "U1", "在吗")
            #expect(await h.recorder.waitForDelta(containing: "马上"))
            #expect(await h.waitStreams { $0.first?.frames.isEmpty == false })
            // At most the one notice that was already on its way when the words came: it is never cut
            // off, so it may reach the platform after the stream's first frame.
            #expect(await Self.notices(h).count <= 1)
            // The agent has written: time passes, no new notice.
            time.advance(by: .seconds(120))
            gates.open("rest")
            #expect(await h.waitStreams { $0.first?.closed == true })
            // Every notice reserved one of the window's replies, the stream another: once the platform
            // has what was reserved, it is at most that one notice.
            #expect(await eventually {
                let left = h.session.ledgerEntry(for: message.id)?.repliesLeft ?? 0
                return await Self.notices(h).count == 3 - left
            })
            #expect(await Self.notices(h).count <= 1)
            // A group, and a draft: never.
            await h.session.setOwner(.agent, for: .group("G1"))
            await h.groupMessage("G1", from: "M1", "群里问")
            await h.session.setOwner(.draft, for: .c2c("U2"))
            await h.c2cMessage(from: "U2", "草稿问")
            #expect(await h.recorder.waitForTurns(3))
            #expect(await Self.notices(h).allSatisfy { $0.path.hasSuffix("/users/U1/messages") })
        }
        // Off: never.
        try await SimHarness.run(configure: { $0.handoff.typing = false }, agent: shellAgent("printf '好'")) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            await h.c2cMessage(from: "U1", "在吗")
            #expect(await h.recorder.waitForTurns(1))
            #expect(await Self.notices(h).isEmpty)
        }
    }
}
