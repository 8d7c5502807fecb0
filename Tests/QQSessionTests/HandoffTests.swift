import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

extension EventRecorder {
    /// Every agent activity so far.
    var activities: [AgentActivity] {
        events.compactMap { if case .agent(let a) = $0 { return a }; return nil }
    }
    /// Finished turns: outcome and text.
    var finishedTurns: [(outcome: AgentActivity.Outcome, text: String)] {
        activities.compactMap { if case .finished(let o, let t) = $0.kind { return (o, t) }; return nil }
    }
    /// Waits for `n` finished turns.
    func waitForTurns(_ n: Int, timeout: Duration = .seconds(10)) async -> Bool {
        await wait(timeout: timeout) { events in
            events.count { if case .agent(let a) = $0, case .finished = a.kind { return true }; return false } >= n
        }
    }
    /// Waits for an answer delta containing `text`.
    func waitForDelta(containing text: String, timeout: Duration = .seconds(10)) async -> Bool {
        await wait(timeout: timeout) { events in
            var all = ""
            for e in events { if case .agent(let a) = e, case .event(.textDelta(let d)) = a.kind { all += d } }
            return all.contains(text)
        }
    }
}

/// A shell command agent.
func shellAgent(_ script: String, grace: Duration = .seconds(3)) -> CommandAgent {
    var config = CommandAgentConfiguration(command: ["/bin/sh", "-c", script])
    config.killGrace = grace
    return CommandAgent(config)
}

@Suite("Hand-off: who answers, and agent turns end to end", .timeLimit(.minutes(1)))
struct HandoffTests {
    @Test("a human-owned conversation never reaches the agent")
    func humanGate() async throws {
        try await SimHarness.run(agent: EchoAgent()) { h in
            #expect(await h.recorder.waitForReady())
            let message = await h.c2cMessage(from: "U1", "你好")
            // Once the router has taken the message in, a turn would have started there and then.
            #expect(await h.routed(message.id, in: .c2c("U1")))
            #expect(await !h.busy(.c2c("U1")))
            #expect(await h.recorder.activities.isEmpty)
            #expect(await h.accepted("/v2/users/U1/messages").isEmpty)
            #expect(await h.session.owner(of: .c2c("U1")) == .human)
        }
    }

    @Test("AGENT in C2C: the reply streams to QQ frame by frame and closes; it is on screen delta by delta and in the store")
    func agentStreamsC2C() async throws {
        let store = try TempStore().open()
        // The agent says each word when the test lets it; frames are paced by the session's (manual) clock.
        let gates = AgentGates()
        let agent = gates.agent("gate 1; printf 今天; gate 2; printf 天气; gate 3; printf 很好; gate 4; printf 。")
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: { $0.stream.interval = .seconds(1) }, store: store, agent: agent) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"), reason: "test")
            await h.c2cMessage(from: "U1", "天气怎么样")
            gates.open("1")
            #expect(await h.recorder.waitForDelta(containing: "今天"))
            #expect(await h.waitStreams { $0.first?.frames.count == 1 }, "the first words go out at once")
            gates.open("2")
            #expect(await h.recorder.waitForDelta(containing: "今天天气"))
            // The next frame waits for the stream interval.
            #expect(await time.waitForSleepers { $0 == .seconds(1) })
            #expect(try #require(await h.streams().first).frames.count == 1)
            time.advance(by: .seconds(1))
            #expect(await h.waitStreams { $0.first?.frames.count == 2 })
            gates.open("3")
            gates.open("4")
            #expect(await h.recorder.waitForTurns(1))
            let finished = try #require(await h.recorder.finishedTurns.first)
            #expect(finished.outcome == .completed(cut: false))
            #expect(finished.text == "今天天气很好。")
            let deltas = await h.recorder.activities.count { if case .event(.textDelta) = $0.kind { return true }; return false }
            #expect(deltas >= 3, "the screen saw the answer arrive in pieces")
            #expect(await h.waitStreams { $0.first?.closed == true })
            let stream = try #require(await h.streams().first)
            #expect(stream.frames.count >= 2, "QQ got it in several frames: \(stream.frames.map(\.text))")
            #expect(stream.visibleText.trimmingCharacters(in: .whitespacesAndNewlines) == "今天天气很好。")
            let reply = try #require(await store.messages(in: .c2c("U1")).first { $0.origin == "agent" })
            #expect(reply.text == "今天天气很好。")
            #expect(reply.status == "sent")
        }
    }

    @Test("AGENT in a group: no stream, one message at the end")
    func agentGroup() async throws {
        // Two pieces, the second when the test says: the group gets them as one message at the end.
        let gates = AgentGates()
        try await SimHarness.run(agent: gates.agent("printf '第一段'; gate 2; printf '第二段'")) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .group("G1"))
            await h.groupMessage("G1", from: "M1", "问个问题")
            #expect(await h.recorder.waitForDelta(containing: "第一段"))
            #expect(await h.accepted("/v2/groups/G1/messages").isEmpty, "nothing goes to a group before the end")
            gates.open("2")
            #expect(await h.recorder.waitForTurns(1))
            #expect(await eventually { await !h.accepted("/v2/groups/G1/messages").isEmpty })
            let sent = await h.accepted("/v2/groups/G1/messages")
            #expect(sent.map(\.content) == ["第一段第二段"])
            #expect(await h.streams().isEmpty)
        }
    }

    @Test("take-back mid-stream: forwarding stops at once, the process is killed, the stream closes validly, the partial reply is kept as cancelled")
    func takeBackMidStream() async throws {
        let store = try TempStore().open()
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-pid-\(UUID().uuidString)").path
        // Writes for hours unless stopped: only the take-back ends this turn.
        let agent = shellAgent("echo $$ > \(pidFile); i=0; while [ $i -lt 100000 ]; do printf '字%d ' $i; i=$((i+1)); sleep 0.05; done")
        try await SimHarness.run(configure: { $0.stream.interval = .milliseconds(100) }, store: store, agent: agent) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            await h.c2cMessage(from: "U1", "讲个长故事")
            #expect(await h.waitStreams { ($0.first?.frames.count ?? 0) >= 2 })
            await h.session.setOwner(.human, for: .c2c("U1"), reason: "I'll answer")
            #expect(await h.recorder.waitForTurns(1))
            let finished = try #require(await h.recorder.finishedTurns.first)
            #expect(finished.outcome == .cancelled(reason: "taken back by operator"))
            let partial = finished.text
            #expect(!partial.isEmpty && !partial.contains("字99999"))
            // The turn's process group is gone.
            let pid = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(await eventually { kill(pid, 0) != 0 }, "the agent process \(pid) still runs")
            #expect(await h.waitStreams { $0.first?.closed == true })
            // The reply is stored as cancelled once its writer is done: no frame can follow after that.
            #expect(await eventually { (try? await store.messages(in: .c2c("U1")).first { $0.origin == "agent" }?.status) == "cancelled" })
            let stream = try #require(await h.streams().first)
            #expect(stream.frames.last?.state == 10 && stream.frames.count { $0.state == 10 } == 1, "no frame after the closing one")
            #expect(!stream.rolledBack)
            #expect(partial.hasPrefix(stream.text.trimmingCharacters(in: .whitespacesAndNewlines)),
                    "QQ saw a prefix of what the screen saw")
            #expect(try await store.messages(in: .c2c("U1")).first { $0.origin == "agent" }?.text.isEmpty == false)
            let log = try await store.ownershipLog(.c2c("U1"))
            #expect(log.map(\.owner) == ["agent", "human"])
            #expect(log.last?.reason == "I'll answer")
        }
    }

    @Test("DRAFT: the answer streams to the operator only; nothing reaches QQ until the operator sends it (edited)")
    func draftMode() async throws {
        let gates = AgentGates()
        try await SimHarness.run(agent: gates.agent("printf '建议回复：'; gate 2; printf '请重启试试'")) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.draft, for: .c2c("U1"))
            await h.c2cMessage(from: "U1", "连不上了")
            #expect(await h.recorder.waitForDelta(containing: "建议回复："))
            gates.open("2")
            #expect(await h.recorder.waitForTurns(1))
            #expect(await h.session.draft(for: .c2c("U1")) == "建议回复：请重启试试")
            // A DRAFT turn has no writer to QQ at all: nothing can go out later either.
            #expect(await h.accepted("/v2/users/U1/messages").isEmpty, "a draft went to QQ")
            let sent = try #require(await h.session.sendDraft(for: .c2c("U1"), text: "您好，请重启路由器试试"))
            #expect(sent.status == .sent)
            #expect(await h.accepted("/v2/users/U1/messages").map(\.content) == ["您好，请重启路由器试试"])
            #expect(await h.session.draft(for: .c2c("U1")) == nil)
            #expect(await h.session.owner(of: .c2c("U1")) == .draft, "sending a draft keeps DRAFT mode")
        }
    }

    @Test("DRAFT: each draft belongs to the message it answers; sending one replies to that msg_id, dropping one keeps the other")
    func draftsPerMessage() async throws {
        // Answers with what it was asked: each draft names its own question.
        try await SimHarness.run(agent: CommandAgent(CommandAgentConfiguration(command: ["/bin/sh", "-c", "printf 'A:'; cat"]))) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.draft, for: .c2c("U1"))
            let first = await h.c2cMessage(from: "U1", "发票怎么开")
            #expect(await h.recorder.waitForTurns(1))
            let second = await h.c2cMessage(from: "U1", "多久到账")
            #expect(await h.recorder.waitForTurns(2))
            let drafts = await h.session.drafts(for: .c2c("U1"))
            #expect(drafts.map(\.replyTo) == [first.id, second.id], "one draft per question, oldest first")
            #expect(drafts.first?.text.contains("发票怎么开") == true)
            #expect(drafts.last?.text.contains("多久到账") == true)
            // The operator answers the newer question first: it goes out with that message's msg_id.
            let sent = try #require(await h.session.sendDraft(drafts[1].id, for: .c2c("U1"), text: "一般三天到账"))
            #expect(sent.status == .sent)
            let out = await h.accepted("/v2/users/U1/messages")
            #expect(out.map { $0.body?["content"]?.string } == ["一般三天到账"])
            #expect(out.map { $0.body?["msg_id"]?.string } == [second.id])
            // Dropping the older one leaves nothing, and sends nothing.
            await h.session.discardDraft(drafts[0].id, for: .c2c("U1"))
            #expect(await h.session.drafts(for: .c2c("U1")).isEmpty)
            #expect(await h.session.sendDraft(drafts[0].id, for: .c2c("U1")) == nil, "a dropped draft cannot be sent")
            #expect(await h.accepted("/v2/users/U1/messages").count == 1)
        }
    }

    @Test("messages during a turn are queued and answered together in the next turn")
    func queueing() async throws {
        // Echoes its prompt once the test opens the gate: each reply shows what that turn was given.
        let gates = AgentGates()
        try await SimHarness.run(agent: gates.agent("gate go; cat")) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            await h.c2cMessage(from: "U1", "第一")
            #expect(await h.recorder.waitForStarts(1))
            await h.c2cMessage(from: "U1", "第二")
            let third = await h.c2cMessage(from: "U1", "第三")
            #expect(await h.routed(third.id, in: .c2c("U1")))
            gates.open("go")
            #expect(await h.recorder.waitForTurns(2))
            let turns = await h.recorder.finishedTurns.map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
            #expect(turns.first == "第一")
            #expect(turns.last?.contains("第二") == true && turns.last?.contains("第三") == true, "\(turns)")
            #expect(await h.recorder.activities.contains { if case .queued = $0.kind { return true }; return false })
            // A next turn starts in the same step that reports one finished: none runs, none will.
            #expect(await !h.busy(.c2c("U1")), "no third turn")
            #expect(await h.recorder.startedTurns == 2)
        }
    }

    @Test("busy = interrupt: a new message cancels the running turn and one turn answers everything")
    func interrupt() async throws {
        // The first question is never answered by itself; the second turn (which has both) answers at once.
        let gates = AgentGates()
        let agent = gates.agent("p=$(cat); case \"$p\" in *换个*) printf '%s' \"$p\" ;; *) gate never; printf '%s' \"$p\" ;; esac")
        try await SimHarness.run(configure: { $0.handoff.busy = .interrupt }, agent: agent) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .c2c("U1"))
            await h.c2cMessage(from: "U1", "第一")
            #expect(await h.recorder.waitForStarts(1))
            await h.c2cMessage(from: "U1", "算了，换个问题")
            #expect(await h.recorder.waitForTurns(2))
            let turns = await h.recorder.finishedTurns
            #expect(turns.first?.outcome == .cancelled(reason: "a newer message arrived"))
            #expect(turns.last?.text.contains("第一") == true && turns.last?.text.contains("换个问题") == true)
        }
    }
}

@Suite("Hand-off: groups", .timeLimit(.minutes(1)))
struct HandoffGroupTests {
    @Test("in an agent-owned group only @bot messages start a turn; other chatter is context for the next one")
    func mentionOnly() async throws {
        try await SimHarness.run(agent: shellAgent("cat")) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .group("G1"))
            let chatter = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M2", content: "大家早", mentionBot: false)
            #expect(await h.recorder.waitForMessages(1))
            // Taken in by the router: a turn would have started in that step.
            #expect(await h.routed(chatter.id, in: .group("G1")))
            #expect(await !h.busy(.group("G1")))
            #expect(await h.recorder.activities.isEmpty)
            await h.groupMessage("G1", from: "M1", "机器人，刚才谁说话了？")
            #expect(await h.recorder.waitForTurns(1))
            let prompt = try #require(await h.recorder.finishedTurns.first).text
            #expect(prompt.contains("user: 大家早") && prompt.contains("[New message]\n机器人，刚才谁说话了？"), "\(prompt)")
        }
    }

    @Test("group chatter during a running turn neither queues nor starts another turn")
    func chatterDuringTurn() async throws {
        let gates = AgentGates()
        try await SimHarness.run(agent: gates.agent("gate go; printf '答'")) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .group("G1"))
            await h.groupMessage("G1", from: "M1", "机器人在吗")
            #expect(await h.recorder.waitForStarts(1))
            let chatter = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M2", content: "我们聊我们的", mentionBot: false)
            #expect(await h.routed(chatter.id, in: .group("G1")), "the chatter arrived while the turn ran")
            gates.open("go")
            #expect(await h.recorder.waitForTurns(1))
            #expect(await !h.busy(.group("G1")), "chatter started a turn")
            #expect(await h.recorder.finishedTurns.count == 1, "chatter started a turn")
            #expect(await !h.recorder.activities.contains { if case .queued = $0.kind { return true }; return false })
        }
    }
}
