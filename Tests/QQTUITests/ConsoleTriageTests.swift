import Foundation
import GRDB
@testable import QQSession
@testable import QQTUI
import Testing

/// The console over a long day: drafts per message, deliberate hand-off, who is waiting, search
/// that lands on the hit, and the guard rails around sending.
@Suite("Console drafts and triage")
struct ConsoleTriageTests {
    static let user = ConversationID.c2c("U1")
    static let other = ConversationID.c2c("U2")

    @Test("two drafts for two questions: each answers its own message, Esc drops only the one shown, the next comes up")
    func draftQueue() {
        var f = ConsoleFixture(rows: 24, cols: 100)
        f.receive(Self.user, from: "U1", "发票怎么开？", id: "q1")
        f.receive(Self.user, from: "U1", "运费多少？", id: "q2")
        let a = UUID(), b = UUID()
        f.draft(Self.user, "发票在订单页申请", replyTo: "q1", turn: a)
        f.draft(Self.user, "运费十元", replyTo: "q2", turn: b)
        #expect(f.state.composerDraft?.id == a && f.state.composer.text == "发票在订单页申请")
        #expect(f.state.waitingDrafts == 1)
        let screen = f.render().snapshot
        #expect(screen.contains("✎ draft answering “发票怎么开？”"), "\(screen)")
        #expect(screen.contains("1 more draft"), "\(screen)")
        // (The conversation opened by itself; the first key that acts in it marks it read.)
        #expect(f.key(.enter) == [.markRead(Self.user), .sendDraft(a, "发票在订单页申请", replyTo: "q1", to: Self.user)])
        #expect(f.state.composerDraft?.id == b && f.state.composer.text == "运费十元")
        #expect(f.key(.escape) == [.discardDraft(b, Self.user)])
        #expect(f.state.composer.isEmpty && !f.state.composerHoldsDraft)
    }

    @Test("typing over a draft the operator never touched starts their own text; the draft waits and the hint says so")
    func typingNeverMergesWithDraft() {
        var f = ConsoleFixture(rows: 24, cols: 100)
        f.receive(Self.user, from: "U1", "你好", id: "q1")
        let a = UUID()
        f.draft(Self.user, "您好，请问有什么可以帮您？", replyTo: "q1", turn: a)
        f.key(.text("/search 发票"))
        #expect(f.state.composer.text == "/search 发票" && !f.state.composerHoldsDraft)
        #expect(f.key(.enter) == [.search("发票", in: nil)])
        f.key(.escape)   // closes the results
        // The draft came back once the composer was empty again.
        #expect(f.state.composerDraft?.id == a)
        f.key(.text("稍等"))
        #expect(f.state.composer.text == "稍等")
        #expect(f.render().snapshot.contains("1 draft waiting: F3 shows it"))
        // F3 keeps the operator's text aside and shows the draft; sending it brings the text back.
        f.key(.function(3))
        #expect(f.state.composerDraft?.id == a)
        #expect(f.key(.enter) == [.sendDraft(a, "您好，请问有什么可以帮您？", replyTo: "q1", to: Self.user)])
        #expect(f.state.composer.text == "稍等" && !f.state.composerHoldsDraft)
    }

    @Test("a draft that starts with a slash is sent as text, never run as a command")
    func slashDraftIsText() {
        var f = ConsoleFixture()
        f.receive(Self.user, from: "U1", "怎么退出？", id: "q1")
        let a = UUID()
        f.draft(Self.user, "/quit 不是命令", replyTo: "q1", turn: a)
        #expect(f.key(.enter) == [.markRead(Self.user), .sendDraft(a, "/quit 不是命令", replyTo: "q1", to: Self.user)])
        #expect(!f.state.quitting)
    }

    @Test("Up/Down pass through the list without marking read; unread clears when a conversation is opened; WAITING stays until answered or /done")
    func passingKeepsUnread() {
        var f = ConsoleFixture(rows: 24, cols: 100)
        f.receive(Self.user, from: "U1", "在吗", id: "a1")   // opens by itself
        f.receive(Self.other, from: "U2", "一", id: "b1")
        f.receive(Self.other, from: "U2", "二", id: "b2")
        let third = ConversationID.c2c("U3")
        f.receive(third, from: "U3", "三", id: "c1")
        #expect(f.state.conversations[Self.other]?.unread == 2)
        f.key(.down); f.key(.down); f.key(.up)
        #expect(f.state.conversations[Self.other]?.unread == 2 && f.state.conversations[third]?.unread == 1)
        #expect(f.state.waiting.count == 3)
        // Opening (Enter on an empty composer) clears unread; waiting stays.
        _ = f.state.select(Self.other, open: false)
        #expect(f.key(.enter) == [.markRead(Self.other)])
        #expect(f.state.conversations[Self.other]?.unread == 0)
        #expect(f.state.conversations[Self.other]?.waitingSince != nil)
        // An answer that went out ends the wait; /done dismisses one without answering.
        var sent = OutboundMessage.new(.text, to: Self.other, text: "好的", replyTo: "b2", origin: "operator", createdAt: ConsoleFixture.morning)
        sent.status = .sent
        f.apply(.outbound(sent))
        #expect(f.state.conversations[Self.other]?.waitingSince == nil)
        f.key(.text("/done")); f.key(.enter)
        #expect(f.state.conversations[Self.other]?.waitingSince == nil)
        _ = f.state.select(third)
        f.key(.text("/done")); f.key(.enter)
        #expect(f.state.waiting == [Self.user])
    }

    @Test("/next and F4 open the longest-waiting conversation; /goto by number, alias prefix and openid, with Tab completion")
    func nextAndGoto() {
        var f = ConsoleFixture(rows: 24, cols: 100)
        let base = ConsoleFixture.morning
        for (i, name) in ["A1", "B2", "C3"].enumerated() {
            f.apply(.message(ConsoleFixture.inbound(.c2c(name), from: name, "hi", id: "m\(i)", at: base.addingTimeInterval(Double(i)))))
        }
        // A1 opened itself; the longest waiting other than it is B2.
        #expect(f.state.selected == .c2c("A1"))
        f.key(.function(4))
        #expect(f.state.selected == .c2c("B2"))
        f.key(.text("/next")); f.key(.enter)
        #expect(f.state.selected == .c2c("A1"))
        f.state.aliases["C3"] = "张三"
        f.key(.text("/goto 张")); f.key(.tab)
        #expect(f.state.composer.text == "/goto 张三")
        f.key(.enter)
        #expect(f.state.selected == .c2c("C3"))
        // List numbers follow the list order (newest first): 3 is A1.
        f.key(.text("/goto 3")); f.key(.enter)
        #expect(f.state.selected == .c2c("A1"))
        f.key(.text("/goto b2")); f.key(.enter)
        #expect(f.state.selected == .c2c("B2"))
        f.key(.text("/goto nobody")); f.key(.enter)
        #expect(f.state.selected == .c2c("B2") && f.state.note?.text.contains("no conversation") == true)
    }

    @Test("155 conversations: the list counts those above and below the visible rows and how many of them wait")
    func listOverflowMarkers() throws {
        var f = ConsoleFixture(rows: 24, cols: 100)
        for i in 0..<155 {
            f.apply(.message(ConsoleFixture.inbound(.c2c(String(format: "U%03d", i)), from: "x", "hi", id: "m\(i)",
                                                    at: ConsoleFixture.morning.addingTimeInterval(Double(i)))))
        }
        for i in 0..<100 { f.state.conversations[.c2c(String(format: "U%03d", i))]?.waitingSince = nil }
        _ = f.state.select(.c2c("U080"))
        let screen = f.render()
        let list = (0..<24).map { String(screen.line($0).prefix(30)) }
        #expect(list.contains { $0.contains("↑") && $0.contains("more") && $0.contains("waiting") }, "\(list)")
        #expect(list.contains { $0.contains("↓") && $0.contains("more") }, "\(list)")
        #expect(screen.line(0).contains("⏳55 waiting"), "\(screen.line(0))")
        try assertSnapshot(screen, named: "list-overflow-100x24")
    }

    @Test("search opens the conversation at the hit, marked; keys typed over results never reach the composer; /find searches the open conversation")
    func searchOpensAtHit() {
        var f = ConsoleFixture(rows: 20, cols: 80)
        for i in 1...60 { f.receive(Self.user, from: "U1", "第\(i)条", id: "m\(i)") }
        f.state.conversations[Self.user]?.prepend(page: [], complete: true)
        f.receive(Self.other, from: "U2", "hello", id: "o1")
        _ = f.state.select(Self.other)
        f.key(.text("/search 第7条")); f.key(.enter)
        let hit = StoredMessage.fixture(uid: "m7", conversation: Self.user, text: "第7条")
        _ = f.state.apply(.searchResults(query: "第7条", [hit]), now: ConsoleFixture.morning)
        f.key(.text("x"))
        #expect(f.state.composer.isEmpty)
        f.key(.enter)
        #expect(f.state.selected == Self.user && f.state.current?.highlight == "m7")
        let screen = f.render().snapshot
        #expect(screen.contains("▶ U1") && screen.contains("第7条"), "\(screen)")
        #expect(!screen.contains("第60条"))
        f.key(.text("/find 第5")); f.key(.enter)
        #expect(f.state.overlay == .search(.init(query: "第5", results: nil, within: Self.user)))
    }

    @Test("F1 help wraps to the pane and scrolls to its last line")
    func helpScrolls() throws {
        var f = ConsoleFixture(rows: 24, cols: 80)
        f.receive(Self.user, from: "U1", "hi", id: "m1")
        f.key(.function(1))
        let first = f.render()
        #expect(first.snapshot.contains("↓"), "\(first.snapshot)")
        try assertSnapshot(first, named: "help-80x24")
        for _ in 0..<10 { f.key(.pageDown) }
        let end = f.render().snapshot
        #expect(end.contains("✓ … ✗ ⊘ ↶") && !end.contains("more lines"), "\(end)")
        f.key(.escape)
        #expect(f.state.overlay == nil)
    }

    @Test("a narrow pane keeps the reply window in the header and cuts the name instead")
    func narrowHeader() throws {
        var f = ConsoleFixture(rows: 12, cols: 56)
        f.state.aliases["U1"] = "一个很长很长的客户名字用来测试"
        f.receive(Self.user, from: "U1", "hi", id: "m1")
        let route = ReplyRoute.passive(msgID: "m1", windowEnds: ConsoleFixture.morning.addingTimeInterval(200), repliesLeft: 4)
        let screen = f.render(routes: [Self.user: route])
        let header = screen.line(f.state.layout.header.row)
        #expect(header.contains("03:20 4/4"), "a C2C message has 4 passive replies: \(header)")
        #expect(header.contains("HUMAN"))
        try assertSnapshot(screen, named: "narrow-header-56x12")
    }

    @Test("a burst of ten messages rings the bell once; a message after a quiet spell, or another conversation's, rings again")
    func bellsCoalesce() {
        var f = ConsoleFixture()
        f.state.settings.notify = true
        f.receive(Self.user, from: "U1", "first", id: "m0")
        var bells = 0, notes = 0
        for i in 1...10 {
            let effects = f.state.apply(.session(.message(ConsoleFixture.inbound(Self.other, from: "U2", "\(i)", id: "b\(i)"))),
                                        now: ConsoleFixture.morning.addingTimeInterval(Double(i)))
            bells += effects.filter { $0 == .bell }.count
            notes += effects.filter { if case .notify = $0 { return true } else { return false } }.count
        }
        #expect(bells == 1 && notes == 1)
        let later = f.state.apply(.session(.message(ConsoleFixture.inbound(Self.other, from: "U2", "later", id: "late"))),
                                  now: ConsoleFixture.morning.addingTimeInterval(60))
        #expect(later.contains(.bell))
        // A chatty conversation does not silence another one's first message.
        let third = ConversationID.c2c("U3")
        let first = f.state.apply(.session(.message(ConsoleFixture.inbound(third, from: "U3", "新来的", id: "c1"))),
                                  now: ConsoleFixture.morning.addingTimeInterval(65))
        #expect(first.contains(.bell) && first.contains { if case .notify = $0 { return true } else { return false } })
    }

    @Test("review repros: Up at a draft's first line moves through the list; a draft erased to nothing goes back and a command then runs; a follow-up keeps the wait")
    func draftEdgeCases() {
        var f = ConsoleFixture(rows: 24, cols: 100)
        f.receive(Self.user, from: "U1", "问题", id: "q1")
        f.receive(Self.other, from: "U2", "别的", id: "o1")
        let a = UUID()
        f.draft(Self.user, "第一行\n第二行", replyTo: "q1", turn: a)
        #expect(f.state.selected == Self.user && f.state.composerDraft?.id == a)
        f.key(.down)   // reads the draft: moves in it, does not make it the operator's
        #expect(f.state.selected == Self.user && !f.state.draftEngaged)
        f.key(.down)   // past its last line: the next conversation; the draft waits in its own
        #expect(f.state.selected == Self.other && f.state.conversations[Self.user]?.drafts.map(\.id) == [a])
        f.key(.up)
        #expect(f.state.composerDraft?.id == a)
        f.key(.home)
        for _ in 0..<10 { f.key(.delete) }
        #expect(!f.state.composerHoldsDraft && f.state.composer.isEmpty)
        f.key(.text("/takeback"))
        #expect(f.key(.enter) == [.setOwner(.human, Self.user)])
        // The erased draft went back as the agent wrote it.
        #expect(f.state.composerDraft?.text == "第一行\n第二行")
        // A reply written before the user's next message does not answer that message.
        f.receive(Self.user, from: "U1", "还有一个问题", id: "q2")
        var reply = OutboundMessage.new(.text, to: Self.user, text: "好", replyTo: "q1", origin: "operator",
                                        createdAt: ConsoleFixture.morning.addingTimeInterval(-1))
        reply.status = .sent
        f.apply(.outbound(reply))
        #expect(f.state.conversations[Self.user]?.waitingSince == ConsoleFixture.morning)
        // A draft that answers the first of two questions leaves the user waiting for the second.
        let b = UUID()
        f.draft(Self.user, "答一", replyTo: "q1", turn: b)
        var answer = OutboundMessage.new(.text, to: Self.user, text: "答一", replyTo: "q1", origin: "operator",
                                         createdAt: ConsoleFixture.morning.addingTimeInterval(30))
        answer.status = .sent
        f.apply(.outbound(answer))
        #expect(f.state.conversations[Self.user]?.waitingSince == ConsoleFixture.morning, "q2 is still unanswered")
        var second = OutboundMessage.new(.text, to: Self.user, text: "答二", replyTo: "q2", origin: "operator",
                                         createdAt: ConsoleFixture.morning.addingTimeInterval(31))
        second.status = .sent
        f.apply(.outbound(second))
        #expect(f.state.conversations[Self.user]?.waitingSince == nil)
    }

    @Test("at start the first conversation is shown but not marked read: its unread count stays until the operator acts")
    func startupKeepsUnread() {
        var f = ConsoleFixture()
        var summary = ConversationSummary(id: Self.user, alias: nil, lastActivity: ConsoleFixture.morning, lastPreview: "hi", unread: 3,
                                          messageCount: 3, owner: "human", waitingSince: ConsoleFixture.morning)
        summary.unread = 3
        let effects = f.state.apply(.conversationsLoaded([summary], aliases: [:]), now: ConsoleFixture.morning)
        #expect(f.state.selected == Self.user && !effects.contains(.markRead(Self.user)))
        #expect(f.state.conversations[Self.user]?.unread == 3 && f.state.waitingCount == 1)
        #expect(f.key(.enter) == [.markRead(Self.user)])
    }

    @Test("Ctrl-C with unsent text asks first; a second Ctrl-C quits; without text it quits at once")
    func ctrlCAsks() {
        var f = ConsoleFixture()
        f.receive(Self.user, from: "U1", "hi", id: "m1")
        f.key(.text("写了一半"))
        #expect(f.key(.ctrl("c")) == [] && !f.state.quitting)
        #expect(f.render().snapshot.contains("Ctrl-C again quits"))
        f.key(.left)   // any other key stays
        #expect(f.key(.ctrl("c")) == [] && !f.state.quitting)
        #expect(f.key(.ctrl("c")) == [.quit])
        var g = ConsoleFixture()
        #expect(g.key(.ctrl("c")) == [.quit])
    }

    @Test("a text longer than one QQ message says how many messages and passive replies it will use; the composer scrolls")
    func multiMessageWarning() {
        var f = ConsoleFixture(rows: 30, cols: 100)
        f.receive(Self.user, from: "U1", "hi", id: "m1")
        f.key(.paste((1...46).map { "第\($0)行" + String(repeating: "字", count: 95) }.joined(separator: "\n")))
        let route = ReplyRoute.passive(msgID: "m1", windowEnds: ConsoleFixture.morning.addingTimeInterval(200), repliesLeft: 4)
        let screen = f.render(routes: [Self.user: route]).snapshot
        #expect(screen.contains("Enter sends this as 3 QQ messages: 3 passive replies of 4 left"), "\(screen)")
        #expect(screen.contains("lines 86–93 of 93 (Up/Down)"), "\(screen)")
        f.key(.up)
        #expect(f.state.selected == Self.user)   // Up moves in the composer, not through the list
    }

    @Test("/retry sends the text that failed again; /canned puts a canned reply in the composer, Tab completes its name")
    func retryAndCanned() {
        var f = ConsoleFixture()
        f.state.canned = ["greeting": "您好，这里是客服", "refund": "退款三天到账"]
        f.receive(Self.user, from: "U1", "hi", id: "m1")
        var failed = OutboundMessage.new(.text, to: Self.user, text: "没发出去的话", replyTo: "m1", origin: "operator", createdAt: ConsoleFixture.morning)
        failed.status = .failed(reason: "HTTP 500")
        f.apply(.outbound(failed))
        #expect(f.state.note?.text.contains("/retry") == true)
        f.key(.text("/retry"))
        #expect(f.key(.enter) == [.resend("没发出去的话", replyTo: "m1", to: Self.user)])
        // Of a text split in parts, only the parts QQ did not get go again.
        var partly = OutboundMessage.new(.text, to: Self.user, text: "一\n二", replyTo: "m1", origin: "operator", createdAt: ConsoleFixture.morning)
        partly.parts = [.init(index: 0, text: "一", route: .proactive, msgSeq: nil, qqMessageID: "Q1", status: .sent, attempts: 1),
                        .init(index: 1, text: "二", route: .proactive, msgSeq: nil, qqMessageID: nil, status: .failed(reason: "500"), attempts: 3)]
        partly.status = .failed(reason: "HTTP 500")
        f.apply(.outbound(partly))
        f.key(.text("/retry"))
        #expect(f.key(.enter) == [.resend("二", replyTo: "m1", to: Self.user)])
        f.key(.text("/canned re")); f.key(.tab)
        #expect(f.state.composer.text == "/canned refund")
        f.key(.enter)
        #expect(f.state.composer.text == "退款三天到账")
    }

    @Test("[keys] names parse; fixed editing keys and clashes are refused")
    func keyBindings() throws {
        var k = KeyBindings()
        #expect(KeyBindings.parse("F7") == .function(7) && KeyBindings.parse("C-g") == .ctrl("g") && KeyBindings.parse("alt-x") == .alt("x"))
        #expect(KeyBindings.parse("F13") == nil && KeyBindings.parse("Hyper-x") == nil)
        try k.bind(.handoff, to: .function(7))
        #expect(k.action(for: .function(7)) == .handoff && k.action(for: .function(2)) == nil)
        #expect(throws: KeyBindings.BindingError.self) { try k.bind(.handoff, to: .ctrl("a")) }
        #expect(throws: KeyBindings.BindingError.self) { try k.bind(.next, to: .ctrl("t")) }
    }

    @Test("the draft view: the question quoted over the composer, the draft in full, the list's ✎ and ⏳ markers")
    func draftSnapshot() throws {
        var f = ConsoleFixture(rows: 20, cols: 80)
        f.receive(Self.user, from: "U1", "请问发票怎么开？\n第二行", id: "q1")
        f.draft(Self.user, "您好！发票可以在订单页申请：\n1. 打开订单\n2. 点“申请发票”", replyTo: "q1")
        try assertSnapshot(f.render(), named: "draft-80x20")
    }
}

extension StoredMessage {
    /// A stored inbound message as the store would return it.
    static func fixture(uid: String, conversation: ConversationID, text: String) -> StoredMessage {
        let row: Row = ["rowid": 7, "uid": uid, "conversation": conversation.description, "direction": "in", "origin": "qq",
                        "kind": "text", "author": conversation.openID, "text": text, "status": "received", "source": "c2c",
                        "created_at": ConsoleFixture.morning.timeIntervalSince1970]
        return StoredMessage(row: row)
    }
}
