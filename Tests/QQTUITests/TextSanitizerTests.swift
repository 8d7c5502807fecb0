import Foundation
import QQSession
@testable import QQTUI
import Testing

@Suite("Text sanitizer and event lines")
struct TextSanitizerTests {
    @Test("controls, escapes and bidi overrides become visible stand-ins", arguments: [
        ("plain 中文 😀", "plain 中文 😀"),
        ("a\u{1B}[31mred", "a␛[31mred"),
        ("bell\u{07}", "bell␇"),
        ("csi\u{9B}2J", "csi�2J"),
        ("line1\nline2\r\n", "line1⏎line2⏎⏎"),
        ("tab\there", "tab here"),
        ("rtl \u{202E}cod.exe", "rtl �cod.exe"),
        ("iso \u{2066}x\u{2069}", "iso �x�"),
        ("del\u{7F}", "del␡"),
        ("nul\u{0}", "nul␀"),
    ])
    func sanitize(input: String, expected: String) {
        #expect(TextSanitizer.line(input) == expected)
        #expect(TextSanitizer.line(input).unicodeScalars.allSatisfy { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) })
    }

    @Test("multiline keeps newlines but nothing else")
    func multiline() {
        #expect(TextSanitizer.multiline("a\nb\u{1B}c\r\n") == "a\nb␛c\n")
    }

    @Test("cell widths: CJK and emoji take two cells; clipping never splits a wide character")
    func widths() {
        TextWidth.ensureUTF8Locale()
        #expect(TextWidth.cells("abc") == 3)
        #expect(TextWidth.cells("你好") == 4)
        #expect(TextWidth.cells("😀") == 2)
        #expect(TextWidth.clip("你好世界", to: 5) == "你好…")
        #expect(TextWidth.cells(TextWidth.clip("你好世界abc", to: 6)) <= 6)
        #expect(TextWidth.clip("short", to: 10) == "short")
    }

    @Test("event lines: message with image placeholder, gateway status, JSON round trip")
    func eventLines() throws {
        let printer = EventPrinter(json: false, width: nil, verbose: false)
        let message = InboundMessage(
            id: "M1", eventID: "E1", conversation: .group("G1"), source: .groupAt,
            author: .init(openID: "A1", role: "admin"), text: "看图\u{1B}[2J", rawContent: " 看图", timestamp: Date(),
            receivedAt: Date(), attachments: [Attachment(contentType: "image/png", filename: "a.png", url: "https://x/a.png",
                                                          width: 64, height: 48, state: .downloaded, localPath: "/tmp/a.png")],
            messageType: 0, referencedMessageID: nil, seq: 3, replyWindowEnds: Date())
        let line = try #require(printer.line(for: .message(message)))
        #expect(line.contains("group:G1 A1 (admin) @bot: 看图␛[2J [image 64×48 a.png] → /tmp/a.png"))
        let debug = Notice(level: .debug, kind: .skippedEmpty, message: "x")
        #expect(printer.line(for: .notice(debug)) == nil)
        #expect(EventPrinter(json: false, width: nil, verbose: true).line(for: .notice(debug)) != nil)
        let json = EventPrinter.jsonLine(.message(message))
        #expect(json.hasPrefix(#"{"message":"#) && json.contains(#""type":"message""#))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard case .message(let back) = try decoder.decode(SessionEvent.self, from: Data(json.utf8)) else {
            Issue.record("not a message"); return
        }
        #expect(back.text == message.text)
        #expect(back.attachments.first?.placeholder == "[image 64×48 a.png]")
    }
}
