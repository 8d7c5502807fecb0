import Foundation
@testable import QQSession
import Testing

/// `[handoff] max_turns`: a burst of questions does not start an agent (and a QQ stream) per
/// conversation at once; the rest wait for a free turn, the longest waiting first, and each still gets
/// its own answer to its own message.
@Suite("Agent turns at once")
struct TurnLimitTests {
    /// The conversations whose turn started, in order, and the most turns that ran at once.
    static func turns(_ events: [SessionEvent]) -> (started: [String], most: Int) {
        var started: [String] = []
        var running = 0, most = 0
        for case .agent(let a) in events {
            switch a.kind {
            case .started: started.append(a.conversation.description); running += 1; most = max(most, running)
            case .finished: running -= 1
            default: break
            }
        }
        return (started, most)
    }

    @Test("max_turns 2: six questions at once run two turns at a time, oldest waiting first; each answer replies to its own message")
    func twoAtATime() async throws {
        let gates = AgentGates()
        try await SimHarness.run(configure: { $0.handoff.defaultOwner = .agent; $0.handoff.maxConcurrentTurns = 2 },
                                 agent: gates.agent("gate go; printf 答")) { h in
            #expect(await h.recorder.waitForReady())
            var ids: [String] = []
            for i in 1...6 { ids.append(await h.c2cMessage(from: "U\(i)", "问题\(i)").id) }
            #expect(await h.recorder.wait { Self.turns($0).started.count == 2 })
            #expect(Self.turns(await h.recorder.events).started == ["c2c:U1", "c2c:U2"], "only two run; the rest wait")
            gates.open("go")
            #expect(await h.recorder.waitForTurns(6))
            let (started, most) = Self.turns(await h.recorder.events)
            #expect(started == (1...6).map { "c2c:U\($0)" }, "the longest waiting first")
            #expect(most == 2)
            for i in 1...6 {
                let replies = await h.accepted("/v2/users/U\(i)/messages")
                #expect(!replies.isEmpty && replies.allSatisfy { $0.body?["msg_id"]?.string == ids[i - 1] }, "U\(i): \(replies.map(\.body))")
            }
        }
    }
}
