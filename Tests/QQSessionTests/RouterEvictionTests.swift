import Foundation
@testable import QQSession
import QQSimulator
import Synchronization
import Testing
import TestSupport

/// Answers with what it was given: the history it saw and the new message.
private struct HistoryEchoAgent: AgentBackend {
    var name: String { "history echo" }
    func startTurn(_ request: TurnRequest) async throws -> any AgentTurn {
        let seen = request.history.map(\.text).joined(separator: "|")
        let new = request.newMessages.map(\.text).joined(separator: "|")
        return ScriptedTurn(chunks: [("history[\(seen)] new[\(new)]", .zero)])
    }
}

@Suite("Hand-off: the router's memory is bounded", .timeLimit(.minutes(1)))
struct RouterEvictionTests {
    /// A session with a store, the agent owning new conversations, at most 4 idle states kept (8 held
    /// before a sweep), one turn at a time (which states are idle is known) and replies sent whole.
    static func run(_ body: (SimHarness, MessageStore) async throws -> Void) async throws {
        let store = try TempStore().open()
        try await SimHarness.run(configure: {
            $0.handoff.defaultOwner = .agent
            $0.handoff.keptConversations = 4
            $0.handoff.maxConcurrentTurns = 1
            $0.stream.enabled = false
        }, store: store, agent: HistoryEchoAgent()) { h in
            #expect(await h.recorder.waitForReady())
            try await body(h, store)
        }
    }

    @Test("beyond twice kept_conversations the least recently used idle states go, a burst's once answered; one that speaks again comes back from the store with its owner and its history")
    func idleStatesGoAndComeBack() async throws {
        try await Self.run { h, _ in
            for i in 0..<12 {
                await h.c2cMessage(from: "U\(i)", "hello-U\(i)")
                #expect(await h.recorder.waitForTurns(i + 1))
                if i == 0 { #expect(await h.session.setOwner(.human, for: .c2c("U0"), by: "alice")) }
            }
            let router = await h.session.router
            let held = await router.heldConversations
            #expect(held <= 8, "\(held) states for 12 idle conversations: nothing was let go")
            let holdsU0 = await router.holds(.c2c("U0")), holdsU2 = await router.holds(.c2c("U2"))
            #expect(!holdsU0 && !holdsU2, "the least recently used went first")
            #expect(await router.holds(.c2c("U11")))

            // U0 was taken back by the operator: read back from the store, it stays with them.
            let again0 = await h.c2cMessage(from: "U0", "again-U0")
            #expect(await h.routed(again0.id, in: .c2c("U0")))
            #expect(await h.session.owner(of: .c2c("U0")) == .human)

            // U2 comes back with its exchange as the agent's history; the answer goes to the new message.
            let again2 = await h.c2cMessage(from: "U2", "again-U2")
            #expect(await h.recorder.waitForTurns(13))
            #expect(await eventually { await h.accepted("/v2/users/U2/messages").count == 2 })
            let replies = await h.accepted("/v2/users/U2/messages")
            #expect(replies.last?.content == "history[hello-U2|history[] new[hello-U2]] new[again-U2]")
            #expect(replies.last?.body?["msg_id"]?.string == again2.id)
            // Events arrive in order: a turn for U0's message would have started before U2's.
            #expect(await h.recorder.startedTurns == 13, "the agent answered a conversation the operator had taken back")
            #expect(await h.accepted("/v2/users/U0/messages").count == 1)

            // A burst of new users: their states are busy when they arrive and let go once answered.
            for i in 20..<32 { await h.c2cMessage(from: "U\(i)", "burst-U\(i)") }
            #expect(await h.recorder.waitForTurns(25))
            let afterBurst = await router.heldConversations
            #expect(afterBurst <= 8, "\(afterBurst) states kept after a burst of 12 was answered")
        }
    }

    @Test("without an agent, conversations waiting for the operator are let go too; one that speaks again is read back, still the operator's")
    func agentlessWaitingStatesGo() async throws {
        let store = try TempStore().open()
        try await SimHarness.run(configure: { $0.handoff.keptConversations = 4 }, store: store) { h async throws in
            #expect(await h.recorder.waitForReady())
            for i in 0..<12 {
                let m = await h.c2cMessage(from: "U\(i)", "hello-U\(i)")
                #expect(await h.routed(m.id, in: .c2c("U\(i)")))
            }
            let router = await h.session.router
            let held = await router.heldConversations
            #expect(held <= 8, "\(held) states for 12 conversations waiting for the operator: nothing was let go")
            #expect(await !router.holds(.c2c("U0")))
            let again = await h.c2cMessage(from: "U0", "again-U0")
            #expect(await h.routed(again.id, in: .c2c("U0")))
            #expect(await h.session.owner(of: .c2c("U0")) == .human)
            #expect(try await store.messages(in: .c2c("U0")).map(\.text) == ["again-U0", "hello-U0"])
        }
    }

    @Test("a conversation read back while its owner cannot be read stays with the operator, unrecorded: the agent does not answer it")
    func unreadableOwnerStaysHuman() async throws {
        try await Self.run { h, store in
            for i in 0..<9 {
                await h.c2cMessage(from: "U\(i)", "hello-U\(i)")
                #expect(await h.recorder.waitForTurns(i + 1))
            }
            let router = await h.session.router
            #expect(await !router.holds(.c2c("U1")))
            // The ownership log cannot be read now (as a damaged or locked file would fail).
            try await store.pool.write { try $0.execute(sql: "ALTER TABLE ownership_log RENAME TO ownership_hidden") }
            let again = await h.c2cMessage(from: "U1", "again-U1")
            #expect(await h.routed(again.id, in: .c2c("U1")))
            #expect(await h.session.owner(of: .c2c("U1")) == .human, "an owner it could not read became the default, the agent")
            try await store.pool.write { try $0.execute(sql: "ALTER TABLE ownership_hidden RENAME TO ownership_log") }
            // Another conversation's turn: had U1's message started one, it would have come first.
            await h.c2cMessage(from: "U5", "again-U5")
            #expect(await h.recorder.waitForTurns(10))
            #expect(await h.recorder.startedTurns == 10)
            #expect(await h.accepted("/v2/users/U1/messages").count == 1)
            #expect(try await store.ownershipLog(.c2c("U1")).map(\.owner) == ["agent"], "nothing was recorded for the unread owner")
        }
    }
}
