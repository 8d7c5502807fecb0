import Foundation
@testable import QQSession
import QQSimulator
import Testing

@Suite("Hand-off: timeouts, crashes, catch-up, audit", .timeLimit(.minutes(1)))
struct HandoffFailureTests {
    /// A script whose behaviour depends on the prompt (the user's text).
    static let moody = """
        p=$(cat)
        case "$p" in
          *沉默*) sleep 30 ;;
          *卡住*) printf '想一想'; sleep 30 ;;
          *话痨*) while true; do printf '啰嗦'; sleep 0.05; done ;;
          *崩溃*) printf '答到一半'; echo 'model server exploded' >&2; exit 3 ;;
          *) printf '好的：%s' "$p" ;;
        esac
        """

    func configure(_ c: inout SessionConfiguration) {
        // Generous for a starved machine: a chatty agent printing every 50 ms must never look idle.
        c.handoff.firstEventTimeout = .milliseconds(1500)
        c.handoff.idleTimeout = .milliseconds(1500)
        c.handoff.turnTimeout = .milliseconds(4000)
        c.stream.interval = .milliseconds(100)
    }

    @Test("first-event, idle and whole-turn timeouts cancel the turn, tell the operator, and the conversation keeps working",
          arguments: [("沉默", "no answer from the agent within"), ("卡住", "went quiet for"), ("话痨", "took longer than")])
    func timeouts(prompt: String, expected: String) async throws {
        let store = try TempStore().open()
        try await SimHarness.run(configure: configure, store: store, agent: shellAgent(Self.moody, grace: .milliseconds(300))) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            await h.c2cMessage(from: "U1", prompt)
            #expect(await h.recorder.waitForTurns(1, timeout: .seconds(15)))
            let first = try #require(await h.recorder.finishedTurns.first)
            guard case .failed(let reason) = first.outcome else { Issue.record("\(first.outcome)"); return }
            #expect(reason.contains(expected), "\(reason)")
            #expect(await h.recorder.notices.contains { $0.kind == .agentError && $0.level == .error && $0.message.contains(expected) })
            if prompt != "沉默" {
                // Text had streamed: the stream is closed validly and the reply is marked failed.
                #expect(await h.waitStreams { $0.first?.closed == true })
                #expect(await eventually { (try? await store.messages(in: .c2c("U1")).first { $0.origin == "agent" }?.status) == "failed" })
            }
            await h.c2cMessage(from: "U1", "还在吗")
            #expect(await h.recorder.waitForTurns(2))
            #expect(await h.recorder.finishedTurns.last?.text.contains("还在吗") == true)
        }
    }

    @Test("a crashing agent ends the turn with its stderr, closes the stream, and the next message is answered")
    func crash() async throws {
        // Default timeouts: a loaded machine must not turn the crash into an idle timeout.
        try await SimHarness.run(configure: { $0.stream.interval = .milliseconds(100) }, agent: shellAgent(Self.moody)) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            await h.c2cMessage(from: "U1", "崩溃吧")
            #expect(await h.recorder.waitForTurns(1))
            let first = try #require(await h.recorder.finishedTurns.first)
            #expect(first.outcome == .failed(reason: "sh exited with status 3: model server exploded"))
            #expect(await h.waitStreams { $0.first?.closed == true && $0.first?.rolledBack == false })
            await h.c2cMessage(from: "U1", "再来")
            #expect(await h.recorder.waitForTurns(2))
            #expect(await h.recorder.finishedTurns.last?.outcome == .completed(cut: false))
        }
    }

    @Test("hand-over after the operator spoke: the agent gets what it missed, labelled, before the new message")
    func catchUp() async throws {
        try await SimHarness.run(configure: { $0.stream.interval = .milliseconds(100) }, agent: shellAgent("cat")) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage(from: "U1", "我的订单没到")
            _ = await h.session.send("我帮您查一下", to: .c2c("U1"))
            await h.session.setOwner(.agent, for: .c2c("U1"))
            try await Task.sleep(for: .milliseconds(200))
            #expect(await h.recorder.activities.isEmpty, "the operator had answered: nobody is waiting")
            await h.c2cMessage(from: "U1", "查到了吗")
            #expect(await h.recorder.waitForTurns(1))
            let prompt = try #require(await h.recorder.finishedTurns.first).text
            #expect(prompt == "[Context since your last reply]\nuser: 我的订单没到\noperator(人工客服): 我帮您查一下\n[New message]\n查到了吗\n")
        }
    }

    @Test("handing over while a user waits answers at once; the operator replying by hand takes the conversation back")
    func handOverAndOperatorReply() async throws {
        let store = try TempStore().open()
        // Default timeouts: only the timeout test shortens them (a loaded machine would trip them here).
        try await SimHarness.run(configure: { $0.stream.interval = .milliseconds(100) }, store: store,
                                 agent: shellAgent("sleep 0.2; printf '机器人回复'")) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage(from: "U1", "有人吗")
            await h.session.setOwner(.agent, for: .c2c("U1"), reason: "night shift")
            #expect(await h.recorder.waitForTurns(1))
            #expect(await h.recorder.finishedTurns.first?.text == "机器人回复")
            _ = await h.session.send("我是人工客服", to: .c2c("U1"))
            #expect(await h.session.owner(of: .c2c("U1")) == .human)
            await h.c2cMessage(from: "U1", "好的")
            try await Task.sleep(for: .milliseconds(400))
            #expect(await h.recorder.finishedTurns.count == 1, "the agent stayed quiet after the operator took over")
            let log = try await store.ownershipLog(.c2c("U1"))
            #expect(log.map(\.owner) == ["agent", "human"])
            #expect(log.map(\.actor) == ["operator", "operator"])
            #expect(log.map(\.reason) == ["night shift", "the operator replied by hand"])
        }
    }

    @Test("owners survive a restart; default_owner applies to new conversations and is recorded")
    func ownersPersist() async throws {
        let t = TempStore()
        do {
            let store = try t.open()
            try await SimHarness.run(store: store, agent: EchoAgent()) { h in
                #expect(await h.recorder.waitForReady())
                await h.session.setOwner(.draft, for: .c2c("U1"))
            }
            await store.close()
        }
        let store = try t.open()
        try await SimHarness.run(configure: { $0.handoff.defaultOwner = .agent }, store: store, agent: EchoAgent()) { h in
            #expect(await h.recorder.waitForReady())
            #expect(await h.session.owner(of: .c2c("U1")) == .draft)
            await h.c2cMessage(from: "U2", "新用户")
            #expect(await h.recorder.waitForTurns(1))
            #expect(await h.session.owner(of: .c2c("U2")) == .agent)
            let log = try await store.ownershipLog(.c2c("U2"))
            #expect(log.map(\.actor) == ["config"])
            #expect(await eventually { await !h.accepted("/v2/users/U2/messages").isEmpty })
        }
    }
}
