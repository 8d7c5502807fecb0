import Foundation
import QQSession
import QQSimulator
import Testing
import TestSupport

/// Buttons and presses against the simulator: keyboards sent with a message, INTERACTION_CREATE
/// acknowledged and stored, and the human button that hands an AI conversation to a person.
@Suite("Buttons and the human button", .timeLimit(.minutes(1)))
struct HumanButtonTests {
    static func simulator() -> SimulatorConfiguration {
        SimulatorConfiguration()   // markdown allowed, as for every bot since 2026-04 (keyboards go with it)
    }

    static func humanButton(_ c: inout SessionConfiguration) {
        c.handoff.humanButton = "转人工"
        c.handoff.humanAnswer = "好的，马上为您转接人工客服"
        c.intents.formUnion(.interaction)
        c.stream.interval = .milliseconds(50)
    }

    @Test("the human button end to end: under the agent's reply, pressed mid-stream of the next one: stream closed, HUMAN, WAITING, the user told")
    func humanButtonEndToEnd() async throws {
        let store = try TempStore().open()
        let gates = AgentGates()
        let count = gates.directory + "/turns"
        // Turn 1 answers at once; turn 2 streams its first words and then waits for ever (only a stop ends it).
        let agent = gates.agent("""
            n=$(cat '\(count)' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '\(count)'
            if [ $n = 1 ]; then printf '您的订单已发货'; else printf '第二个问题的回答开始 '; gate never; fi
            """)
        try await SimHarness.run(simulator: Self.simulator(), configure: Self.humanButton, store: store, agent: agent) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            let first = await h.c2cMessage(from: "U1", "我的订单呢")
            // The reply streams, then the button follows as one message answering the same question.
            #expect(await h.waitStreams { $0.first?.closed == true })
            var buttonMessage: SentRecord?
            #expect(await eventually {
                buttonMessage = await h.accepted("/v2/users/U1/messages").first { $0.body?["keyboard"] != nil }
                return buttonMessage != nil
            })
            #expect(buttonMessage?.body?["msg_id"]?.string == first.id)
            #expect(buttonMessage?.body?["msg_type"]?.int == 2)
            let button = buttonMessage?.body?["keyboard"]?["content"]?["rows"]?.array?.first?["buttons"]?.array?.first
            #expect(button?["render_data"]?["label"]?.string == "转人工")
            #expect(button?["render_data"]?["visited_label"]?.string == "已通知人工客服", "pressed, the button itself confirms")
            #expect(button?["action"]?["type"]?.int == 1)

            // The user asks again; the agent streams its second answer.
            let second = await h.c2cMessage(from: "U1", "还有一个问题")
            #expect(await h.waitStreams { $0.count == 2 && $0.last?.text.contains("第二个问题") == true })
            // … and presses the button under the first answer.
            let press = try #require(await h.platform.userPresses(button: "转人工", user: "U1"))

            // Acknowledged with code 0.
            #expect(await eventually { await h.platform.pressed().first?.ackedAt != nil })
            #expect(await h.platform.pressed().first?.ackCode == 0)
            // The running turn stopped; its stream closed validly (one closing frame, not rolled back).
            #expect(await h.waitStreams { $0.last?.closed == true })
            let stream = try #require(await h.streams().last)
            #expect(stream.frames.last?.state == 10 && stream.frames.count { $0.state == 10 } == 1 && !stream.rolledBack)
            #expect(await h.session.owner(of: .c2c("U1")) == .human)
            let log = try await store.ownershipLog(.c2c("U1"))
            #expect(log.last?.owner == "human" && log.last?.actor == "user")
            #expect(log.last?.reason?.contains("转人工") == true)
            // The user was told, as a reply to their last question.
            var told: SentRecord?
            #expect(await eventually {
                told = await h.accepted("/v2/users/U1/messages").first { $0.content == "好的，马上为您转接人工客服" }
                return told != nil
            })
            #expect(told?.body?["msg_id"]?.string == second.id)
            // The operator is told, the press is stored, and the conversation waits for a person.
            #expect(await h.recorder.wait { $0.contains { if case .notice(let n) = $0 { return n.kind == .humanRequested }; return false } })
            #expect(await h.recorder.wait { $0.contains { if case .interaction(let i) = $0 { return i.id == press.id && i.label == "转人工" }; return false } })
            try await store.flush()
            let row = try await store.message(uid: press.id)
            #expect(row?.kind == "interaction" && row?.text == "pressed “转人工”" && row?.author == "U1")
            let summary = try await store.conversations().first { $0.id == .c2c("U1") }
            #expect(summary?.waitingSince != nil, "WAITING: the answer that someone is coming answers nobody")
            // No third stream: a press does not start a turn.
            #expect(await h.streams().count == 2)
        }
    }

    @Test("buttons from the operator: a press is acknowledged and stored with its label; a press whose acknowledgement fails is still handled, and said")
    func operatorButtonsAndFailedAck() async throws {
        let store = try TempStore().open()
        try await SimHarness.run(simulator: Self.simulator(), configure: { $0.intents.formUnion(.interaction) }, store: store) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage(from: "U1", "要发票")
            let keyboard = try Keyboard.parse("个人,公司;看说明=https://example.com/invoice")
            let sent = await h.session.send("开个人还是公司发票？", to: .c2c("U1"), keyboard: keyboard)
            #expect(sent.status == .sent)
            let body = await h.accepted("/v2/users/U1/messages").last?.body
            #expect(body?["keyboard"]?["content"]?["rows"]?.array?.count == 2)
            #expect(body?["keyboard"]?["content"]?["rows"]?.array?.last?["buttons"]?.array?.first?["action"]?["type"]?.int == 0)

            _ = try #require(await h.platform.userPresses(button: "公司", user: "U1"))
            #expect(await h.recorder.wait { $0.contains { if case .interaction(let i) = $0 { return i.label == "公司" }; return false } })
            #expect(await eventually { await h.platform.pressed().first?.ackedAt != nil })

            // The platform fails the next acknowledgement: the press still counts, the operator is told.
            await h.platform.apply(.oddResponses([OddResponse(status: 500, body: #"{"code":500000,"message":"内部错误"}"#)]))
            let second = try #require(await h.platform.userPresses(button: "个人", user: "U1"))
            #expect(await h.recorder.wait { $0.contains { if case .notice(let n) = $0 { return n.kind == .interactionError }; return false } })
            #expect(await h.platform.pressed().last?.ackedAt == nil)
            try await store.flush()
            #expect(try await store.message(uid: second.id)?.text == "pressed “个人”")
            // A link button cannot be pressed back: the simulator dispatches only callback buttons.
            #expect(await h.platform.userPresses(button: "看说明", user: "U1") == nil)
        }
    }

    @Test("keyboards the platform would refuse are refused before sending; without markdown they go as text without buttons")
    func keyboardRefusals() async throws {
        #expect(throws: QQError.self) { try Keyboard.parse("a;b;c;d;e;f") }
        #expect(throws: QQError.self) { try Keyboard.parse("1,2,3,4,5,6") }
        #expect(throws: QQError.self) { try Keyboard.parse("长=" + String(repeating: "d", count: 200)) }
        #expect(throws: QQError.self) { try Keyboard.parse(";") }
        var refusing = SimulatorConfiguration()
        refusing.markdownAllowed = false   // a bot not allowed markdown
        try await SimHarness.run(simulator: refusing) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage(from: "U1", "hi")
            let bad = Keyboard(rows: [[.init(id: "x", label: "", data: "d")]])
            let refused = await h.session.send("有按钮", to: .c2c("U1"), keyboard: bad)
            guard case .refused(let reason) = refused.status else { Issue.record("\(refused.status)"); return }
            #expect(reason.contains("no label"))
            #expect(await h.accepted("/v2/users/U1/messages").isEmpty)
            let fallback = await h.session.send("有按钮", to: .c2c("U1"), keyboard: try Keyboard.parse("好"))
            #expect(fallback.status == .sent)
            let sent = await h.accepted("/v2/users/U1/messages")
            #expect(sent.count == 1 && sent.first?.body?["keyboard"] == nil && sent.first?.body?["msg_type"]?.int == 0)
            #expect(await h.recorder.wait { $0.contains { if case .notice(let n) = $0 { return n.message.contains("without its buttons") }; return false } })
        }
    }

    @Test("the operator's last passive reply is never spent: typing, answer and button leave one; a press then gets no words, the button confirms")
    func lastReplyKept() async throws {
        let gates = AgentGates()
        let agent = gates.agent("gate words; printf '查到了'")
        try await SimHarness.run(simulator: Self.simulator(), configure: { Self.humanButton(&$0); $0.handoff.typing = true; $0.handoff.typingDelay = .zero },
                                 agent: agent) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            let question = await h.c2cMessage(from: "U1", "在吗")
            #expect(await eventually { await h.platform.sent().contains { $0.body?["msg_type"]?.int == 6 } })
            gates.open("words")
            // typing + the answer + the button: 3 of 4.
            #expect(await eventually { await h.accepted("/v2/users/U1/messages").contains { $0.body?["keyboard"] != nil } })
            #expect(await eventually { h.session.ledgerEntry(for: question.id)?.repliesLeft == 1 })
            _ = try #require(await h.platform.userPresses(button: "转人工", user: "U1"))
            #expect(await h.recorder.wait { $0.contains { if case .notice(let n) = $0 { return n.message.contains("not answered in words") }; return false } })
            #expect(await h.session.owner(of: .c2c("U1")) == .human)
            #expect(await h.accepted("/v2/users/U1/messages").allSatisfy { $0.content != "好的，马上为您转接人工客服" })
            #expect(h.session.ledgerEntry(for: question.id)?.repliesLeft == 1, "the operator still has their reply")
            #expect(await h.session.send("您好，我是客服小李", to: .c2c("U1")).parts.first?.route?.isPassive == true)
        }
    }
}
