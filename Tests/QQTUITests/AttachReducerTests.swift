import Foundation
@testable import QQSession
@testable import QQTUI
import Testing

/// What an attached console does with serve's snapshot, presence and draft lines (the reducer alone).
@Suite("Attached console: snapshot, presence, drafts")
struct AttachReducerTests {
    static let now = ConsoleFixture.morning

    func attached() -> ConsoleFixture {
        var f = ConsoleFixture()
        f.state.attach = ConsoleState.Attach(pid: 42, console: 1)
        f.state.operatorName = "alice"
        return f
    }

    func snapshot(_ conversations: [ConversationSummary], drafts: [AgentDraft] = [], turns: [TurnSnapshot] = [],
                  consoles: [PresenceEntry] = []) -> ControlSnapshot {
        ControlSnapshot(gateway: GatewayStatus(phase: .ready(sessionID: "S")), agentName: "echo", conversations: conversations,
                        aliases: ["U1": "张三"], routes: [], drafts: drafts, turns: turns, consoles: consoles)
    }

    func summary(_ id: ConversationID, owner: String = "human", unread: Int = 0) -> ConversationSummary {
        ConversationSummary(id: id, alias: nil, lastActivity: Self.now, lastPreview: "", unread: unread, messageCount: 1,
                            owner: owner, waitingSince: nil)
    }

    @Test("a resync keeps the conversation on screen and the operator's unsent text, reloads its messages, and shows a turn under way with its text so far")
    func resyncKeepsComposer() {
        var f = attached()
        f.receive(.c2c("U1"), from: "U1", "你好", id: "m1")
        _ = f.state.select(.c2c("U1"))
        f.key(.text("还没发出去的话"))
        let turn = UUID()
        let effects = f.state.apply(.attach(.snapshot(snapshot(
            [summary(.c2c("U1"), owner: "agent", unread: 3), summary(.c2c("U2"))],
            turns: [TurnSnapshot(conversation: .c2c("U1"), turnID: turn, mode: .agent, backend: "echo", outboundID: "out-1",
                                 replyTo: "m1", startedAt: Self.now, text: "正在回答")]))), now: Self.now)
        #expect(f.state.selected == .c2c("U1"))
        #expect(f.state.composer.text == "还没发出去的话")
        #expect(effects.contains(.loadPage(.c2c("U1"), before: nil)))
        #expect(effects.contains(.markRead(.c2c("U1"))), "the conversation on screen was read")
        #expect(f.state.current?.owner == .agent)
        #expect(f.state.current?.unread == 0)
        #expect(f.state.current?.entry("out-1")?.text == "正在回答")
        #expect(f.state.current?.turn?.id == turn)
        #expect(f.state.conversations[.c2c("U2")] != nil)
        #expect(f.state.name(of: .c2c("U1")) == "张三")
    }

    @Test("another operator typing here: the header says so and Enter asks before sending; the second Enter sends")
    func confirmWhileOtherTypes() {
        var f = attached()
        f.receive(.c2c("U1"), from: "U1", "你好", id: "m1")
        _ = f.state.select(.c2c("U1"))
        _ = f.state.apply(.attach(.presence([PresenceEntry(console: 1, operatorName: "alice", open: .c2c("U1")),
                                             PresenceEntry(console: 2, operatorName: "bob", open: .c2c("U1"), typingAt: Self.now)])),
                          now: Self.now)
        #expect(f.render().snapshot.contains("bob typing"))
        f.key(.text("我来"))
        #expect(f.key(.enter).isEmpty, "sent while bob was typing, without asking")
        #expect(f.state.note?.text.contains("bob is typing here too") == true)
        #expect(f.state.composer.text == "我来", "the text was lost")
        #expect(f.key(.enter) == [.send("我来", to: .c2c("U1"))])
        // Bob stopped typing long ago: no question.
        _ = f.state.apply(.attach(.presence([PresenceEntry(console: 2, operatorName: "bob", open: .c2c("U1"),
                                                           typingAt: Self.now.addingTimeInterval(-60))])), now: Self.now)
        f.key(.text("再来"))
        #expect(f.key(.enter) == [.send("再来", to: .c2c("U1"))])
        #expect(f.render().snapshot.contains("bob here"))
    }

    @Test("presence is told to serve when the conversation or typing changes, not at every key; never by a console of its own session")
    func presenceEffects() {
        var f = attached()
        f.receive(.c2c("U1"), from: "U1", "你好", id: "m1")
        _ = f.state.select(.c2c("U1"))
        #expect(f.state.presenceUpdate(now: Self.now) == .presence(.c2c("U1"), typing: false))
        #expect(f.state.presenceUpdate(now: Self.now) == nil)
        f.key(.text("在"))
        #expect(f.state.presenceUpdate(now: Self.now) == .presence(.c2c("U1"), typing: true))
        f.key(.text("的"))
        #expect(f.state.presenceUpdate(now: Self.now.addingTimeInterval(1)) == nil)
        #expect(f.state.presenceUpdate(now: Self.now.addingTimeInterval(11)) == .presence(.c2c("U1"), typing: true), "typing is refreshed")
        f.key(.ctrl("u"))
        #expect(f.state.presenceUpdate(now: Self.now.addingTimeInterval(12)) == .presence(.c2c("U1"), typing: false))
        var local = ConsoleFixture()
        local.receive(.c2c("U1"), from: "U1", "你好", id: "m1")
        #expect(local.state.presenceUpdate(now: Self.now) == nil)
    }

    @Test("a draft another operator sent leaves this console: from the queue, and from the composer with a note")
    func draftTakenElsewhere() {
        var f = attached()
        f.receive(.c2c("U1"), from: "U1", "退款？", id: "m1")
        _ = f.state.select(.c2c("U1"))
        let first = UUID(), second = UUID()
        f.draft(.c2c("U1"), "答一", replyTo: "m1", turn: first)
        f.draft(.c2c("U1"), "答二", replyTo: "m1", turn: second)
        #expect(f.state.composerDraft?.id == first)
        _ = f.state.apply(.attach(.draftTaken(.c2c("U1"), second, by: "bob")), now: Self.now)
        #expect(f.state.waitingDrafts == 0)
        _ = f.state.apply(.attach(.draftTaken(.c2c("U1"), first, by: "bob")), now: Self.now)
        #expect(f.state.composerDraft == nil)
        #expect(f.state.composer.isEmpty)
        #expect(f.state.note?.text.contains("bob already answered") == true)
        #expect(f.key(.enter).isEmpty, "an empty composer sends nothing")
    }

    @Test("the status bar: attached to serve with its pid; reconnecting while the link is down")
    func statusBar() {
        var f = attached()
        f.state.cols = 100
        #expect(f.render().snapshot.contains("attached to serve, pid 42"))
        _ = f.state.apply(.attach(.lost("serve closed the connection")), now: Self.now)
        #expect(f.render().snapshot.contains("reconnecting to serve"))
        #expect(f.state.presenceUpdate(now: Self.now) == nil, "nothing is told to a serve that is not there")
        _ = f.state.apply(.attach(.welcome(pid: 43, console: 3)), now: Self.now)
        #expect(f.render().snapshot.contains("attached to serve, pid 43"))
    }
}
