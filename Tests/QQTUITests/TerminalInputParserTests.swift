import FuzzSupport
@testable import QQTUI
import Testing

/// The console reads the terminal's bytes itself: characters cut anywhere, the keys' sequences of
/// every terminal it meets, a lone Esc, and a long paste that arrives in pieces.
@Suite("Terminal input: bytes to keys")
struct TerminalInputParserTests {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    func scalars(_ text: String) -> [RawInput] { text.unicodeScalars.map { .scalar($0.value) } }

    @Test("the keys in their xterm, VT220, tmux/screen and Linux console forms; Ctrl-Left/Right move by word; other modifiers give the plain key")
    func keys() {
        let table: [(String, Key)] = [
            ("\u{1B}[A", .up), ("\u{1B}[B", .down), ("\u{1B}[C", .right), ("\u{1B}[D", .left),
            ("\u{1B}OA", .up), ("\u{1B}OB", .down), ("\u{1B}OC", .right), ("\u{1B}OD", .left),
            ("\u{1B}[H", .home), ("\u{1B}[F", .end), ("\u{1B}OH", .home), ("\u{1B}OF", .end),
            ("\u{1B}[1~", .home), ("\u{1B}[4~", .end), ("\u{1B}[7~", .home), ("\u{1B}[8~", .end),
            ("\u{1B}[3~", .delete), ("\u{1B}[5~", .pageUp), ("\u{1B}[6~", .pageDown), ("\u{1B}[Z", .backTab),
            ("\u{1B}OP", .function(1)), ("\u{1B}OQ", .function(2)), ("\u{1B}OR", .function(3)), ("\u{1B}OS", .function(4)),
            ("\u{1B}[11~", .function(1)), ("\u{1B}[15~", .function(5)), ("\u{1B}[17~", .function(6)),
            ("\u{1B}[21~", .function(10)), ("\u{1B}[23~", .function(11)), ("\u{1B}[24~", .function(12)),
            ("\u{1B}[[A", .function(1)), ("\u{1B}[[E", .function(5)), ("\u{1B}OM", .enter),
            ("\u{1B}\t", .backTab), ("\u{1B}[7$", .home), ("\u{1B}[8^", .end), ("\u{1B}[5$", .pageUp), ("\u{1B}[3@", .delete),
            ("\u{1B}[c", .right), ("\u{1B}[a", .up), ("\u{1B}Oc", .alt("f")), ("\u{1B}Od", .alt("b")),
            ("\u{1B}[1;5C", .alt("f")), ("\u{1B}[1;3D", .alt("b")), ("\u{1B}[1;2C", .right), ("\u{1B}[1;2A", .up), ("\u{1B}[3;5~", .delete), ("\u{1B}[1;2P", .function(1)),
        ]
        for (sequence, key) in table {
            var p = TerminalInputParser()
            let got = p.parse(bytes("a" + sequence + "b"))
            #expect(got == [.scalar(0x61), .key(key), .scalar(0x62)], "\(sequence.debugDescription)")
            #expect(!p.isWaitingForEscape)
        }
    }

    @Test("UTF-8 cut after any byte gives the same characters, none lost; broken bytes show as U+FFFD, the rest kept")
    func characters() {
        let text = "ab你好😀é\r中文"
        let whole = bytes(text)
        for cut in 0...whole.count {
            var p = TerminalInputParser()
            let got = p.parse(whole[..<cut]) + p.parse(whole[cut...])
            #expect(got == scalars(text), "cut at \(cut)")
        }
        var p = TerminalInputParser()
        // A lone continuation byte, a lead byte then text, an overlong form, a surrogate, beyond U+10FFFF.
        let broken: [UInt8] = [0x80, 0x61, 0xE4, 0x62, 0xC0, 0xAF, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80, 0x63]
        let got = p.parse(broken)
        #expect(got.filter { $0 != .scalar(0xFFFD) } == scalars("abc"), "\(got)")
        #expect(got.first == .scalar(0xFFFD))
        // A character's beginning waits for its rest as long as it takes: it is no key.
        #expect(p.parse([0xE4, 0xBD]) == [] && !p.isWaitingForEscape)
        #expect(p.parse([0xA0]) == scalars("你"))
    }

    @Test("an ESC alone waits for the rest of a sequence: flushed it is Esc; with a character, Alt; cut sequences join the next block")
    func escape() {
        var p = TerminalInputParser()
        var d = KeyDecoder()
        #expect(p.parse([0x1B]) == [] && p.isWaitingForEscape)
        #expect(d.decode(p.flush()) == [.escape])
        #expect(!p.isWaitingForEscape && p.flush() == [])
        #expect(d.decode(p.parse(bytes("\u{1B}x"))) == [.alt("x")])
        #expect(p.parse(bytes("\u{1B}[1;")) == [] && p.isWaitingForEscape)
        #expect(p.parse(bytes("5Dz")) == [.key(.alt("b")), .scalar(0x7A)])
        #expect(p.parse(bytes("\u{1B}O")) == [] && p.isWaitingForEscape)
        #expect(p.parse(bytes("P")) == [.key(.function(1))])
        // Alt-[ (no sequence came in escapeWait): ESC and `[`, which could still begin a paste marker,
        // so the KeyDecoder sees what it is at the next key.
        #expect(p.parse(bytes("\u{1B}[")) == [] && p.isWaitingForEscape)
        #expect(d.decode(p.flush()) == [])
        #expect(d.decode(p.parse(bytes("a"))) == [.alt("["), .text("a")])
        // Sequences of no key are dropped; the paste markers go on as characters for the KeyDecoder.
        #expect(p.parse(bytes("\u{1B}[?1;2cq\u{1B}[2~r")) == scalars("qr"))
        #expect(p.parse(bytes("\u{1B}[200~x\u{1B}[201~")) == scalars("\u{1B}[200~x\u{1B}[201~"))
        // The keypad in application mode types its characters; its keys of no character are dropped.
        #expect(p.parse(bytes("\u{1B}Op\u{1B}Oy\u{1B}Ok\u{1B}Om\u{1B}OX\u{1B}OE")) == scalars("09+-="))
        // Alt and a character cut between two blocks: Alt and that character, not Esc and then text.
        #expect(p.parse([0x1B, 0xE4]) == [] && p.isWaitingForEscape)
        #expect(d.decode(p.parse([0xBD, 0xA0])) == [.alt("你")])
        // A run of parameters no key has is not a sequence: ESC is Esc, the rest is text.
        let long = "\u{1B}[" + String(repeating: "1;", count: 20) + "A"
        #expect(p.parse(bytes(long)) == scalars(long))
    }

    @Test("a 4.6 kB bracketed paste in pieces cut anywhere (inside characters and markers) is the whole paste, and Ctrl-C after it is a key")
    func longPasteInPieces() {
        // The tmux repro's paste; ncurses' wget_wch lost the characters cut off at a block's end.
        let text = (1...60).map { "第\($0)行：" + String(repeating: "内容", count: 18) }.joined(separator: "\r")
        let input = bytes("\u{1B}[200~" + text + "\u{1B}[201~\u{03}")
        var rng = SplitMix64(seed: 0x7A57E)
        for round in 0..<200 {
            var p = TerminalInputParser()
            var d = KeyDecoder()
            var keys: [Key] = []
            var i = 0
            while i < input.count {
                let n = round == 0 ? 1 : Int.random(in: 1...700, using: &rng)
                keys += d.decode(p.parse(input[i..<min(input.count, i + n)]))
                i += n
            }
            #expect(keys == [.paste(text), .ctrl("c")], "round \(round): \(keys.count) keys")
            if keys != [.paste(text), .ctrl("c")] { break }
        }
    }
}
