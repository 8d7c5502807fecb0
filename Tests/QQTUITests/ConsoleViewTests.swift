import Foundation
@testable import QQSession
@testable import QQTUI
import Testing

/// The console's screens as text: layout, wide characters, wrapping, a growing stream, tiny
/// terminals and hostile text. Snapshots live in Tests/QQTUITests/Snapshots.
@Suite("Console views")
struct ConsoleViewTests {
    static let group = ConversationID.group("C4D8E2F1A3B5C7D9E0F2A4B6C8D0E1F3")
    static let zhang = ConversationID.c2c("E4F4AEA3C1B2D9F0A6B7C8D9E0F1A2B3")
    static let alice = ConversationID.c2c("7A1C0E55D2B94F6E8C3A1B2D4E6F8091")

    func populated(rows: Int = 20, cols: Int = 80) -> ConsoleFixture {
        var f = ConsoleFixture(rows: rows, cols: cols)
        f.state.aliases = [Self.group.openID: "测试群", Self.zhang.openID: "张三"]
        f.receive(Self.alice, from: Self.alice.openID, "Hi! Here is the receipt 🙂", id: "m1",
                  attachments: [QQSession.Attachment(contentType: "image/png", filename: "receipt.png", url: "https://x/r.png", width: 16,
                                           height: 12, state: .downloaded, localPath: "/tmp/att/receipt.png")])
        f.receive(Self.zhang, from: Self.zhang.openID, "你好，请问今天营业吗？我想买一些东西，顺便问一下你们的地址在哪里，谢谢！", id: "m2")
        f.receive(Self.group, from: "3B9F2C7D1E4A5B6C", "今天天气怎么样？", id: "m3")
        f.apply(.ownership(OwnershipChange(conversation: Self.group, owner: "agent", actor: "operator", reason: nil, at: ConsoleFixture.morning)))
        return f
    }

    @Test("the full screen: list with kinds, names, unread and badges; wrapped CJK; image line; status bar; keys")
    func fullScreen() throws {
        var f = populated()
        _ = f.state.select(Self.zhang)
        let routes: [ConversationID: ReplyRoute] = [
            Self.zhang: .passive(msgID: "m2", windowEnds: ConsoleFixture.morning.addingTimeInterval(3532), repliesLeft: 5),
            Self.group: .passive(msgID: "m3", windowEnds: ConsoleFixture.morning.addingTimeInterval(45), repliesLeft: 1),
            Self.alice: .proactive,
        ]
        let screen = f.render(routes: routes)
        try assertSnapshot(screen, named: "full-80x20")
        #expect(screen.line(0).contains("READY s=1234 hb 38ms"))
        #expect(screen.line(1).contains("reply passive 58:52 5/5"))
    }

    @Test("a wide glyph never splits at an edge and every row keeps its width in cells")
    func wideGlyphs() {
        _ = TextWidth.ensureUTF8Locale()
        var b = ScreenBuffer(rows: 2, cols: 7)
        let end = b.put("ab中文字", row: 0, col: 0)
        #expect(end == 7)
        #expect(b.line(0) == "ab中文 ")   // 字 would need cells 6-7: a space instead
        b.put("😀x", row: 1, col: 5)
        #expect(b.line(1) == "     😀")
        #expect(TextWrap.lines("中文混合English words很长的句子", width: 10) == ["中文混合En", "glish", "words很长", "的句子"])
        for line in TextWrap.lines(String(repeating: "天气", count: 30) + " and some English text", width: 11) {
            #expect(TextWidth.cells(line) <= 11)
        }
    }

    @Test("a growing text re-wrapped from its tail gives exactly the lines of a full wrap (seeded random growth)")
    func incrementalWrap() async {
        _ = TextWidth.ensureUTF8Locale()
        let alphabet = Array("ab cd efgh  ij 中文字天气,.\n😀 klmnop qrstu").map { String($0) } + ["verylongwordwithoutspaces", "  ", " 混合 mixed "]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
        }
        for width in [1, 2, 3, 7, 13, 40] {
            for _ in 0..<10 {
                await Task.yield()   // CPU-bound: let the other tests' tasks run between cases
                var text = ""
                var pieces = TextWrap.pieces("▌", width: width)
                for _ in 0..<40 {
                    for _ in 0..<(1 + next() % 6) { text += alphabet[next() % alphabet.count] }
                    let marked = text + "▌"
                    pieces = TextWrap.extend(pieces, to: marked, width: width)
                    #expect(pieces == TextWrap.pieces(marked, width: width), "width \(width), text \(marked.debugDescription)")
                }
            }
        }
    }

    @Test("an agent reply grows in place: lines above stay as they were, the text appends, the marker goes at the end")
    func streamGrows() throws {
        var f = populated()
        _ = f.state.select(Self.zhang)
        let turn = UUID()
        f.agent(Self.zhang, turn: turn, .started(mode: .agent, backend: "demo", outboundID: "out-1", messages: 1))
        var screens: [ScreenBuffer] = []
        for chunk in ["您好！", "我们今天营业到", "晚上九点。", "地址是人民路 12 号，", "欢迎光临 🙏"] {
            f.agent(Self.zhang, turn: turn, .event(.textDelta(chunk)))
            screens.append(f.render())
        }
        let rect = f.state.layout.messages
        let first = screens[0]
        let last = screens[screens.count - 1]
        // The user's message above the reply does not move or change while the reply grows.
        for row in rect.row..<(rect.row + 3) { #expect(first.line(row) == last.line(row)) }
        #expect(first.snapshot.contains("您好！▌"))
        #expect(last.snapshot.contains("欢迎光临 🙏▌"))
        #expect(f.render().snapshot.contains("▶"))   // the list marks the streaming conversation
        f.agent(Self.zhang, turn: turn, .finished(.completed(cut: false), text: "…"))
        f.apply(.outbound(OutboundMessage.sentReply(id: "out-1", to: Self.zhang)))
        let done = f.render()
        #expect(!done.snapshot.contains("▌"))
        try assertSnapshot(done, named: "stream-finished-80x20")
    }

    @Test("tiny terminals: a too-small notice instead of a broken layout, and no crash at any size", arguments: [
        (1, 1), (1, 10), (3, 10), (7, 40), (8, 39), (5, 200), (100, 12), (0, 0),
    ])
    func tinySizes(rows: Int, cols: Int) {
        var f = populated(rows: rows, cols: cols)
        _ = f.state.select(Self.zhang)
        let screen = f.render()
        #expect(screen.rows == rows && screen.cols == cols)
        if rows > 0, cols > 0 { #expect(screen.line(0).hasPrefix(String("terminal too small".prefix(cols)))) }
    }

    @Test("the smallest full layout (40×8) still has every part")
    func smallestLayout() throws {
        var f = populated(rows: 8, cols: 40)
        _ = f.state.select(Self.zhang)
        try assertSnapshot(f.render(), named: "min-40x8")
    }

    @Test("hostile text from QQ cannot reach the terminal: CSI, OSC, C1, bidi overrides and bells are shown as stand-ins")
    func hostileText() {
        var f = ConsoleFixture()
        let nasty = "clear\u{1B}[2J\u{1B}]52;c;aGk=\u{07} c1\u{9B}31m bidi\u{202E}txt.exe\u{2066} cr\rlf tab\there"
        f.receive(.c2c("EVIL\u{1B}[31m"), from: "EVIL\u{1B}[31m", nasty, id: "bad")
        f.state.aliases["EVIL\u{1B}[31m"] = "name\u{1B}]0;pwned\u{07}"
        f.state.aliasVersion += 1
        let screen = f.render()
        for row in 0..<screen.rows {
            for col in 0..<screen.cols {
                for scalar in screen[row, col].text.unicodeScalars {
                    #expect(TextSanitizer.isSafe(scalar), "cell \(row),\(col) holds U+\(String(scalar.value, radix: 16))")
                }
            }
        }
        #expect(screen.snapshot.contains("clear␛[2J␛]52;c;aGk=␇"))
        #expect(screen.snapshot.contains("name␛]0;pwned␇"))
    }
}

extension OutboundMessage {
    /// A finished agent reply, as the session reports it.
    static func sentReply(id: String, to conversation: ConversationID) -> OutboundMessage {
        var m = OutboundMessage.new(.reply, to: conversation, text: "", replyTo: nil, origin: "agent", id: id, createdAt: ConsoleFixture.morning)
        m.status = .sent
        return m
    }
}
