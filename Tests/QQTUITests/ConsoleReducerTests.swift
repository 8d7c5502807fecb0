import Foundation
@testable import QQSession
@testable import QQTUI
import Testing

/// What keys and session events do to the console, and what they ask the session to do.
@Suite("Console keys and events")
struct ConsoleReducerTests {
    static let user = ConversationID.c2c("U1")
    static let other = ConversationID.c2c("U2")

    @Test("Enter sends to the conversation on screen; F2 hands it over, Ctrl-T takes it back even mid-stream; Ctrl-A is line start")
    func sendAndHandOff() {
        var f = ConsoleFixture()
        f.receive(Self.user, from: "U1", "你好", id: "m1")
        #expect(f.state.selected == Self.user)   // the first conversation opens by itself
        f.key(.text("你好，"))
        f.key(.paste("人工回复"))
        #expect(f.key(.enter) == [.send("你好，人工回复", to: Self.user)])
        #expect(f.state.composer.isEmpty)
        f.key(.text("abc"))
        #expect(f.key(.ctrl("a")) == [])
        f.key(.text(">"))
        #expect(f.state.composer.text == ">abc")
        f.key(.ctrl("u")); f.key(.ctrl("k"))
        #expect(f.key(.function(2)) == [.setOwner(.agent, Self.user)])
        let turn = UUID()
        f.agent(Self.user, turn: turn, .started(mode: .agent, backend: "demo", outboundID: "out-9", messages: 1))
        f.agent(Self.user, turn: turn, .event(.textDelta("第一段")))
        #expect(f.key(.ctrl("t")) == [.setOwner(.human, Self.user)])
        #expect(f.key(.text("/draft")) == [] && f.key(.enter) == [.setOwner(.draft, Self.user)])
    }

    @Test("without an agent, hand-over is refused on the status bar and nothing is asked of the session")
    func noAgent() {
        var f = ConsoleFixture(agent: nil)
        f.receive(Self.user, from: "U1", "hi", id: "m1")
        #expect(f.key(.function(2)) == [.markRead(Self.user)])   // marked read, nothing else
        #expect(f.state.note?.text.contains("no agent is configured") == true)
    }

    @Test("a new message in a HUMAN conversation off screen rings the bell and notifies; AGENT ones and the one on screen do not")
    func bellAndNotify() {
        var f = ConsoleFixture()
        f.state.settings.notify = true
        f.receive(Self.user, from: "U1", "first", id: "m1")
        #expect(f.receive(Self.user, from: "U1", "on screen", id: "m2") == [])
        let effects = f.receive(Self.other, from: "U2", "你好\u{1B}[31m", id: "m3")
        #expect(effects.contains(.bell))
        #expect(effects.contains(.notify(title: "qqtui · U2", body: "你好␛[31m")))
        #expect(f.state.conversations[Self.other]?.unread == 1)
        f.apply(.ownership(OwnershipChange(conversation: Self.other, owner: "agent", actor: "operator", reason: nil)))
        #expect(f.receive(Self.other, from: "U2", "again", id: "m4") == [])
        f.state.settings.bell = false
        f.state.settings.notify = false
        f.apply(.ownership(OwnershipChange(conversation: Self.other, owner: "human", actor: "operator", reason: nil)))
        #expect(f.receive(Self.other, from: "U2", "quiet", id: "m5") == [])
    }

    @Test("DRAFT: the finished draft lands in the composer; Enter sends it as edited, Esc drops it")
    func draft() {
        var f = ConsoleFixture()
        f.receive(Self.user, from: "U1", "价格多少？", id: "m1")
        let turn = UUID()
        f.agent(Self.user, turn: turn, .started(mode: .draft, backend: "demo", outboundID: nil, messages: 1), replyTo: "m1")
        f.agent(Self.user, turn: turn, .event(.textDelta("一百元")))
        f.agent(Self.user, turn: turn, .finished(.completed(cut: false), text: "一百元"))
        #expect(f.state.composerHoldsDraft && f.state.composer.text == "一百元")
        f.key(.end)   // an editing key: the draft is the operator's to edit
        f.key(.text("，包邮"))
        #expect(f.key(.enter) == [.sendDraft(turn, "一百元，包邮", replyTo: "m1", to: Self.user)])
        let second = UUID()
        f.agent(Self.user, turn: second, .started(mode: .draft, backend: "demo", outboundID: nil, messages: 1))
        f.agent(Self.user, turn: second, .finished(.completed(cut: false), text: "再见"))
        #expect(f.key(.escape) == [.discardDraft(second, Self.user)])
        #expect(f.state.composer.isEmpty && !f.state.composerHoldsDraft)
    }

    @Test("scrolling: PgUp holds the view while messages arrive, asks the store for older pages at the top; PgDn returns")
    func scrolling() {
        var f = ConsoleFixture(rows: 20, cols: 80)
        f.receive(Self.user, from: "U1", "m0", id: "m0")
        let page = (1...120).map { i in
            MessageEntry(uid: "p\(i)", at: ConsoleFixture.morning, sender: .user(openID: "U1"), text: "older \(i)", status: .received)
        }
        f.state.conversations[Self.user]?.prepend(page: page.reversed(), complete: false)
        let before = f.render()
        #expect(before.snapshot.contains("m0"))
        f.key(.pageUp)
        let scrolled = f.render()
        #expect(!scrolled.snapshot.contains("m0"))
        for i in 1...5 { f.receive(Self.user, from: "U1", "new \(i)", id: "n\(i)") }
        let rect = f.state.layout.messages
        let held = f.render()
        for row in rect.row..<(rect.row + rect.height - 1) { #expect(held.line(row) == scrolled.line(row)) }
        #expect(held.snapshot.contains("↓ 5 new below"))
        var asked: [Effect] = []
        for _ in 0..<20 { asked += f.key(.pageUp) }
        #expect(asked.contains(.loadPage(Self.user, before: "p1")))
        #expect(f.render().snapshot.contains("older 1"))
        for _ in 0..<30 { f.key(.pageDown) }
        #expect(f.state.current?.anchor == nil)
        #expect(f.render().snapshot.contains("new 5"))
    }

    @Test("scrolling: PgUp reaches the first message of a conversation (the 'more below' line does not hide it)")
    func scrollReachesFirst() {
        var f = ConsoleFixture(rows: 20, cols: 80)
        for i in 1...40 { f.receive(Self.user, from: "U1", "第\(i)条", id: "m\(i)") }
        f.state.conversations[Self.user]?.prepend(page: [], complete: true)   // nothing older in the store
        for _ in 0..<12 { f.key(.pageUp) }
        let top = f.render().snapshot
        #expect(top.contains("第1条"), "the first message is not reachable:\n\(top)")
        #expect(top.contains("第2条"))
        #expect(top.contains("↓ more below"))
    }

    @Test("composer: cursor by cell width in CJK, word delete, Home/End, Alt-Enter, history")
    func composer() {
        _ = TextWidth.ensureUTF8Locale()
        var c = Composer("你好 world")
        #expect(c.layout(width: 40).cursorCol == 10)
        c.left(); c.left(); c.left(); c.left(); c.left(); c.left()
        #expect(c.layout(width: 40).cursorCol == 4)
        c.deleteWordBackward()
        #expect(c.text == "你 world")
        c.end(); c.insert("\n第二行"); c.home()
        #expect(c.layout(width: 40).cursorLine == 1 && c.layout(width: 40).cursorCol == 0)
        var f = ConsoleFixture()
        f.receive(Self.user, from: "U1", "hi", id: "m1")
        f.key(.text("one")); f.key(.enter)
        f.key(.text("two")); f.key(.altEnter); f.key(.text("lines")); f.key(.enter)
        f.key(.ctrl("p"))
        #expect(f.state.composer.text == "two\nlines")
        f.key(.ctrl("p"))
        #expect(f.state.composer.text == "one")
    }

    @Test("key decoding: Alt-Enter, Alt-letters, a lone Esc, bracketed paste with line breaks, a paste without brackets")
    func keyDecoding() {
        var d = KeyDecoder()
        let s: (String) -> [RawInput] = { $0.unicodeScalars.map { .scalar($0.value) } }
        #expect(d.decode(s("\u{1B}\r")) == [.altEnter])
        #expect(d.decode(s("\u{1B}b")) == [.alt("b")])
        #expect(d.decode(s("\u{1B}")) == [.escape])
        #expect(d.decode(s("\r")) == [.enter])
        #expect(d.decode(s("ab\r")) == [.text("ab")] && d.holdsLineBreak)   // Enter, or a paste split here?
        #expect(d.releaseHeldLineBreak() == [.enter] && !d.holdsLineBreak)
        #expect(d.releaseHeldLineBreak() == [])
        #expect(d.decode(s("\u{1B}[200~line1\rline2")) == [])
        #expect(d.decode(s("\u{1B}[201~")) == [.paste("line1\rline2")])
        #expect(d.decode(s("x\ry")) == [.text("x\ny")])
        // A paste without brackets split right after a line break: the next read's text continues it.
        #expect(d.decode(s("第一行\n第二行\n")) == [.text("第一行\n第二行")] && d.holdsLineBreak)
        #expect(d.decode(s("第三行")) == [.text("\n第三行")] && !d.holdsLineBreak)
        // Held, then a key that is not text: Enter first, then the key.
        _ = d.decode(s("ok\r"))
        #expect(d.decode([.key(.up)]) == [.enter, .up])
        #expect(d.decode(s("\u{01}\u{14}\u{03}")) == [.ctrl("a"), .ctrl("t"), .ctrl("c")])
    }

    @Test("a bracketed paste cut anywhere into three reads, inside its markers too, is one paste, and the keys after it work")
    func pasteCutAnywhere() {
        // Found by the tmux test of a 4.6 kB paste: a read ended inside ESC[201~, the end went unseen,
        // and every later key (Ctrl-C too) was taken as more of the paste: the console stopped answering.
        let paste = "第1行：内容\n第2行 more\r\u{1B}x第3行"
        let raw = "\u{1B}[200~\(paste)\u{1B}[201~\u{03}".unicodeScalars.map { RawInput.scalar($0.value) }
        var failures: [String] = []
        for a in 0...raw.count where a != 1 {   // a read ending in a lone ESC is the Esc key
            for b in a...raw.count where b != 1 {
                var d = KeyDecoder()
                let keys = d.decode(Array(raw[..<a])) + d.decode(Array(raw[a..<b])) + d.decode(Array(raw[b...]))
                if keys != [.paste(paste), .ctrl("c")] { failures.append("cut at \(a), \(b): \(keys)") }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) cuts failed, e.g. \(failures.prefix(3))")
        // `ESC [` then something that is no marker: Alt-[ and the text, once the next read shows it.
        var d = KeyDecoder()
        #expect(d.decode([.scalar(0x1B), .scalar(0x5B), .scalar(0x32)]) == [])
        #expect(d.decode([.scalar(0x61)]) == [.alt("["), .text("2a")])
    }

    @Test("a paste whose end marker never comes ends when it goes quiet: its text is the paste, later keys are keys, a late end marker types nothing")
    func stalledPaste() {
        func s(_ text: String) -> [RawInput] { text.unicodeScalars.map { RawInput.scalar($0.value) } }
        var d = KeyDecoder()
        #expect(d.decode(s("\u{1B}[200~第1行\r第2")) == [] && d.isPasting)
        #expect(d.endStalledPaste() == [.paste("第1行\r第2")] && !d.isPasting)
        #expect(d.endStalledPaste() == [], "nothing open: nothing to end")
        #expect(d.decode(s("\u{03}")) == [.ctrl("c")], "Ctrl-C is a key again")
        // The lost marker arrives after all, whole or cut: dropped, not typed as Alt-[ and 201~.
        #expect(d.decode(s("\u{1B}[201~x")) == [.text("x")])
        #expect(d.decode(s("\u{1B}[20")) == [])
        #expect(d.decode(s("1~y")) == [.text("y")])
        // A stall inside a cut end marker: the cut start is dropped with it.
        var e = KeyDecoder()
        #expect(e.decode(s("\u{1B}[200~ab\u{1B}[2")) == [])
        #expect(e.endStalledPaste() == [.paste("ab")])
        #expect(e.decode(s("z")) == [.text("z")])
    }
}

/// `/recall` on the console: which message it names, and what a recall looks like on screen.
@Suite("Console recall")
struct ConsoleRecallTests {
    static let user = ConversationID.c2c("U1")

    static func sent(_ text: String, id: String, by name: String? = "alice") -> OutboundMessage {
        var m = OutboundMessage.new(.text, to: user, text: text, replyTo: nil, origin: "operator", id: id,
                                    operatorName: name, createdAt: ConsoleFixture.morning)
        m.status = .sent
        return m
    }

    @Test("/recall names the last sent message (or the N-th last); a recall event marks it ↶ with who did it")
    func recallCommand() {
        var f = ConsoleFixture()
        f.receive(Self.user, from: "U1", "发票", id: "m1")
        f.apply(.outbound(Self.sent("第一条", id: "out-1")))
        f.apply(.outbound(Self.sent("第二条", id: "out-2")))
        f.key(.text("/recall")); #expect(f.key(.enter) == [.recall(nil, Self.user)])
        f.key(.text("/recall 2")); #expect(f.key(.enter) == [.recall("out-1", Self.user)])
        f.key(.text("/recall 3")); #expect(f.key(.enter) == [])
        #expect(f.state.note?.text.contains("choose 1…2") == true)
        f.key(.text("/recall out-7")); #expect(f.key(.enter) == [.recall("out-7", Self.user)])

        f.apply(.recall(Recall(conversation: Self.user, outboundID: "out-2", qqMessageIDs: ["Q2"], operatorName: "bob",
                               at: ConsoleFixture.morning)))
        #expect(f.state.conversations[Self.user]?.entry("out-2")?.recalledBy == "bob")
        let screen = f.render().snapshot
        #expect(screen.contains("↶"), "\(screen)")
        #expect(screen.contains("recalled by bob"), "\(screen)")
        // The recalled one no longer counts: /recall 1 is now the first message.
        f.key(.text("/recall 1")); #expect(f.key(.enter) == [.recall("out-1", Self.user)])
    }
}

/// A button press on the console: shown in its conversation; the human button makes it WAITING.
@Suite("Console button presses")
struct ConsolePressTests {
    static let user = ConversationID.c2c("U1")

    @Test("the human button: the press shows, the conversation is HUMAN and WAITING, the operator is rung and notified")
    func humanPress() {
        var f = ConsoleFixture()
        f.state.settings.notify = true
        f.receive(Self.user, from: "U1", "订单", id: "m1")
        f.receive(.c2c("U2"), from: "U2", "别的", id: "m2")
        f.apply(.ownership(OwnershipChange(conversation: Self.user, owner: "agent", actor: "operator", reason: nil)))
        var reply = OutboundMessage.sentReply(id: "out-1", to: Self.user)
        reply.text = "已发货"
        f.apply(.outbound(reply))
        var offer = OutboundMessage.sentReply(id: "out-0", to: Self.user)
        offer.origin = "auto"
        offer.text = "需要人工服务请点这里"
        offer.keyboard = HandoffPolicy().humanButtonKeyboard ?? Keyboard(rows: [[.init(id: "h", label: "转人工", data: "qqtui:human")]])
        f.apply(.outbound(offer))
        #expect(f.render().snapshot.contains("[转人工]"), "the operator sees the buttons the user got")
        #expect(f.state.conversations[Self.user]?.waitingSince == nil)
        // The session hands it to a person (ownership), then the press arrives.
        f.apply(.ownership(OwnershipChange(conversation: Self.user, owner: "human", actor: "user", reason: "the user pressed “转人工”")))
        let press = Interaction(id: "INT-1", conversation: Self.user, userOpenID: "U1", buttonID: "qqtui-human",
                                buttonData: HandoffPolicy.humanButtonData, label: "转人工", receivedAt: ConsoleFixture.morning)
        let effects = f.apply(.interaction(press))
        #expect(effects.contains(.bell))
        #expect(effects.contains { if case .notify(_, let body) = $0 { return body.contains("asks for a person") }; return false })
        #expect(f.state.conversations[Self.user]?.owner == .human)
        #expect(f.state.conversations[Self.user]?.waitingSince != nil)
        #expect(f.state.conversations[Self.user]?.entry("INT-1")?.text == "pressed “转人工”")
        // "Someone is coming" (qqtui's own line) does not answer the user: still WAITING.
        var answer = OutboundMessage.sentReply(id: "out-2", to: Self.user)
        answer.origin = "auto"
        answer.text = "马上为您转接"
        f.apply(.outbound(answer))
        #expect(f.state.conversations[Self.user]?.waitingSince != nil)
        let screen = f.render().snapshot
        #expect(screen.contains("pressed “转人工”") && screen.contains("HUMAN"), "\(screen)")
        // Any other button is just shown.
        let other = Interaction(id: "INT-2", conversation: .c2c("U2"), userOpenID: "U2", buttonID: "b1", buttonData: "是",
                                label: "是", receivedAt: ConsoleFixture.morning)
        #expect(f.apply(.interaction(other)) == [])
        #expect(f.state.conversations[.c2c("U2")]?.entry("INT-2") != nil)
    }
}

/// `/file` on the console and a file's upload progress on screen.
@Suite("Console files")
struct ConsoleFileTests {
    static let user = ConversationID.c2c("U1")

    @Test("/file PATH [as KIND] asks to send the file; while its parts go up the message shows the progress")
    func fileCommand() {
        var f = ConsoleFixture()
        f.receive(Self.user, from: "U1", "发票", id: "m1")
        f.key(.text("/file /tmp/发票 2026.pdf")); #expect(f.key(.enter) == [.sendFile(path: "/tmp/发票 2026.pdf", kind: nil, to: Self.user)])
        f.key(.text("/file /tmp/a.wav as voice")); #expect(f.key(.enter) == [.sendFile(path: "/tmp/a.wav", kind: .voice, to: Self.user)])
        f.key(.text("/file")); #expect(f.key(.enter) == [])
        #expect(f.state.note?.text.contains("usage: /file PATH") == true)

        var m = OutboundMessage.new(.file, to: Self.user, text: "", replyTo: nil, origin: "operator", id: "out-f", operatorName: "alice",
                                    createdAt: ConsoleFixture.morning)
        m.parts = [.init(index: 0, text: "发票.pdf", status: .sending, attempts: 0, uploaded: 3 << 20, size: 12 << 20)]
        f.apply(.outbound(m))
        var screen = f.render().snapshot
        #expect(screen.contains("[file 发票.pdf]") && screen.contains("uploading 25 % of 12 MiB"), "\(screen)")
        m.parts[0].uploaded = 12 << 20
        m.parts[0].status = .sent
        m.status = .sent
        f.apply(.outbound(m))
        screen = f.render().snapshot
        #expect(!screen.contains("uploading") && screen.contains("✓ alice"), "\(screen)")
    }
}

/// Member sessions on the console: the group stays one conversation; each agent turn names its member.
@Suite("Console member sessions")
struct ConsoleMemberSessionTests {
    @Test("an agent turn for one member of a group shows →member in the sender column")
    func memberLabel() {
        var f = ConsoleFixture()
        let group = ConversationID.group("G1")
        f.receive(group, from: "M1", "问题", id: "m1")
        f.apply(.ownership(OwnershipChange(conversation: group, owner: "agent", actor: "operator", reason: nil)))
        // The reply's own outbound event may come first (the writer announces it before the turn starts).
        var reply = OutboundMessage.new(.reply, to: group, text: "", replyTo: "m1", origin: "agent", id: "out-1", createdAt: ConsoleFixture.morning)
        reply.status = .sending
        f.apply(.outbound(reply))
        var started = AgentActivity(conversation: group, turnID: UUID(),
                                    kind: .started(mode: .agent, backend: "demo", outboundID: "out-1", messages: 1), replyTo: "m1")
        started.member = "M1"
        f.apply(.agent(started))
        f.apply(.agent(AgentActivity(conversation: group, turnID: started.turnID, kind: .event(.textDelta("答复")))))
        let screen = f.render().snapshot
        #expect(screen.contains("→M1") && screen.contains("答复"), "\(screen)")
        #expect(f.state.conversations.keys.filter { $0.isGroup }.count == 1, "the group stays one conversation")
    }
}
