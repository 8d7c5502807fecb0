import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

@Suite("Hand-off: timeouts, crashes, catch-up, audit", .timeLimit(.minutes(1)))
struct HandoffFailureTests {
    /// A script whose behaviour depends on the prompt (the user's text).
    static let moody = """
        p=$(cat)
        case "$p" in
          *沉默*) sleep 600 ;;
          *卡住*) printf '想一想'; sleep 600 ;;
          *话痨*) i=0; while true; do gate "w$i"; printf '啰嗦'; i=$((i+1)); done ;;
          *崩溃*) printf '答到一半'; echo 'model server exploded' >&2; exit 3 ;;
          *) printf '好的：%s' "$p" ;;
        esac
        """

    /// Timeouts on the session's (manual) clock: 10 s for the first event and between events, 30 s a turn.
    func configure(_ c: inout SessionConfiguration) {
        c.handoff.firstEventTimeout = .seconds(10)
        c.handoff.idleTimeout = .seconds(10)
        c.handoff.turnTimeout = .seconds(30)
        c.stream.interval = .milliseconds(100)
    }

    @Test("first-event, idle and whole-turn timeouts cancel the turn, tell the operator, and the conversation keeps working",
          arguments: [("沉默", "no answer from the agent within"), ("卡住", "went quiet for"), ("话痨", "took longer than")])
    func timeouts(prompt: String, expected: String) async throws {
        let store = try TempStore().open()
        let time = ManualClock()
        let gates = AgentGates()
        try await SimHarness.run(clock: time, configure: configure, store: store, agent: gates.agent(Self.moody, grace: .milliseconds(300))) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            await h.c2cMessage(from: "U1", prompt)
            #expect(await h.recorder.waitForStarts(1))
            switch prompt {
            case "沉默":
                time.advance(by: .seconds(9))
                #expect(await h.busy(.c2c("U1")), "not before the first-event timeout")
                time.advance(by: .seconds(1))
            case "卡住":
                #expect(await h.recorder.waitForDelta(containing: "想一想"))
                time.advance(by: .seconds(9))
                #expect(await h.busy(.c2c("U1")), "not before the idle timeout")
                time.advance(by: .seconds(1))
            default:
                // It never goes quiet: a word at the current time, then 5 s on, six times, reach the
                // whole-turn limit (30 s) without an idle gap of 10 s.
                for step in 0..<6 {
                    gates.open("w\(step)")
                    #expect(await h.recorder.waitForDelta(containing: String(repeating: "啰嗦", count: step + 1)))
                    if step == 5 { #expect(await h.busy(.c2c("U1")), "not before the turn timeout") }
                    time.advance(by: .seconds(5))
                }
            }
            #expect(await h.recorder.waitForTurns(1))
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
            // A hand-over starts a turn for a waiting user in the same step, or never.
            #expect(await !h.busy(.c2c("U1")), "the operator had answered: nobody is waiting")
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
                                 agent: shellAgent("printf '机器人回复'")) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage(from: "U1", "有人吗")
            await h.session.setOwner(.agent, for: .c2c("U1"), reason: "night shift")
            #expect(await h.recorder.waitForTurns(1))
            #expect(await h.recorder.finishedTurns.first?.text == "机器人回复")
            _ = await h.session.send("我是人工客服", to: .c2c("U1"))
            #expect(await h.session.owner(of: .c2c("U1")) == .human)
            let after = await h.c2cMessage(from: "U1", "好的")
            #expect(await h.routed(after.id, in: .c2c("U1")))
            #expect(await !h.busy(.c2c("U1")), "the agent stayed quiet after the operator took over")
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
