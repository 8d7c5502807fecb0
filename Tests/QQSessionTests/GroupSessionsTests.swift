import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// Agent sessions per group member (`[handoff] group_sessions = "member"`) against the simulator and
/// a real agent process: two members' questions never reach one turn, each answer replies to its
/// member's message, and each turn says whom it answers.
@Suite("Group agent sessions per member", .timeLimit(.minutes(1)))
struct GroupSessionsTests {
    /// A command agent that keeps each turn's prompt and user in a file and answers `答<user>`.
    static func recordingAgent(_ gates: AgentGates) -> CommandAgent {
        gates.agent("""
            n=$(ls '\(gates.directory)' | grep -c '^turn-'); f='\(gates.directory)/turn-'$((n+1))
            { echo "user=$QQTUI_USER"; cat; } > "$f.tmp"; mv "$f.tmp" "$f"
            gate "go-$((n+1))"; printf '答%s' "$QQTUI_USER"
            """)
    }

    static func turns(_ gates: AgentGates) -> [String] {
        (1...20).compactMap { try? String(contentsOfFile: gates.directory + "/turn-\($0)", encoding: .utf8) }
    }

    @Test("member sessions: M1, then M2 and M1 again while the first turn runs: three turns, each with one member's words, each reply to that member")
    func memberSessions() async throws {
        let gates = AgentGates()
        try await SimHarness.run(configure: { $0.handoff.groupSessions = .member }, agent: Self.recordingAgent(gates)) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .group("G1"))
            let a1 = await h.groupMessage("G1", from: "M1", "M1的问题一")
            #expect(await eventually { Self.turns(gates).count == 1 })
            let b = await h.groupMessage("G1", from: "M2", "M2的问题")
            let a2 = await h.groupMessage("G1", from: "M1", "M1的问题二")
            #expect(await h.routed(a2.id, in: .group("G1")))
            gates.open("go-1")
            #expect(await eventually { Self.turns(gates).count == 2 })
            gates.open("go-2")
            #expect(await eventually { Self.turns(gates).count == 3 })
            gates.open("go-3")
            #expect(await h.recorder.waitForTurns(3))
            let turns = Self.turns(gates)
            #expect(turns[0].hasPrefix("user=M1") && turns[0].contains("M1的问题一") && !turns[0].contains("M2"))
            #expect(turns[1].hasPrefix("user=M2") && turns[1].contains("M2的问题") && !turns[1].contains("M1的"), "\(turns[1])")
            #expect(turns[2].hasPrefix("user=M1") && turns[2].contains("M1的问题二") && !turns[2].contains("M2"), "\(turns[2])")
            // Each answer replies to its member's message.
            #expect(await eventually { await h.accepted("/v2/groups/G1/messages").count == 3 })
            let replies = await h.accepted("/v2/groups/G1/messages")
            #expect(replies.map(\.content) == ["答M1", "答M2", "答M1"])
            #expect(replies.map { $0.body?["msg_id"]?.string } == [a1.id, b.id, a2.id])
            // Each turn is labelled with its member.
            let members = await h.recorder.activities.compactMap { a -> String? in
                if case .started = a.kind { return a.member }
                return nil
            }
            #expect(members == ["M1", "M2", "M1"])
        }
    }

    @Test("one session per group: the same three messages go to the agent together")
    func groupSession() async throws {
        let gates = AgentGates()
        try await SimHarness.run(configure: { $0.handoff.groupSessions = .group }, agent: Self.recordingAgent(gates)) { h in
            #expect(await h.recorder.waitForReady())
            await h.session.setOwner(.agent, for: .group("G1"))
            await h.groupMessage("G1", from: "M1", "M1的问题一")
            #expect(await eventually { Self.turns(gates).count == 1 })
            await h.groupMessage("G1", from: "M2", "M2的问题")
            let last = await h.groupMessage("G1", from: "M1", "M1的问题二")
            #expect(await h.routed(last.id, in: .group("G1")))
            gates.open("go-1")
            #expect(await eventually { Self.turns(gates).count == 2 })
            gates.open("go-2")
            #expect(await h.recorder.waitForTurns(2))
            let second = Self.turns(gates)[1]
            #expect(second.contains("M2的问题") && second.contains("M1的问题二"))
            #expect(await h.recorder.activities.allSatisfy { $0.member == nil })
        }
    }

    @Test("a member's history: their messages, the agent's answers to them and the operator's lines; never another member's")
    func memberHistory() {
        var s = ConversationState(owner: .agent)
        s.append(ChatMessage(role: .user, author: "M1", text: "我的订单号 123"), id: "1", limit: 50, member: "M1", addressed: true)
        s.append(ChatMessage(role: .user, author: "M2", text: "我的手机号 138"), id: "2", limit: 50, member: "M2", addressed: true)
        s.append(ChatMessage(role: .assistant, author: "operator", text: "大家好"), id: "3", limit: 50)
        #expect(s.nextMember == "M1")
        let first = s.markSeen(for: "M1")
        s.insertReply(ChatMessage(role: .assistant, author: "agent", text: "123 已发货"), after: first.last, member: "M1", limit: 50)
        #expect(s.history(limit: 10, for: "M1").map(\.text) == ["我的订单号 123", "大家好", "123 已发货"])
        #expect(s.unseen(for: "M2").map(\.text) == ["我的手机号 138"])
        #expect(s.hasUnseenAddressed && s.nextMember == "M2")
        _ = s.markSeen(for: "M2")
        #expect(s.history(limit: 10, for: "M2").map(\.text) == ["我的手机号 138", "大家好"])
        #expect(!s.hasUnseenAddressed)
    }
}
