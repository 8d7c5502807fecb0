import Foundation
import FuzzSupport
@testable import QQTUI
import Testing

/// Seeded random hostile text through the sanitizer and the width helpers: no control, escape or
/// bidi character reaches the terminal, nothing is hidden silently, and every row fits its width.
@Suite("Fuzz: text sanitizer and widths", Fuzz.backstop)
struct FuzzTextSanitizerTests {
    /// Scalars that must never reach the terminal from a line.
    static func isUnsafe(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || [0x200E, 0x200F, 0x061C, 0x2028, 0x2029].contains(v)
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    /// The stand-ins the sanitizer may put in place of a scalar.
    static func isStandIn(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\u{23CE}" || s == "\u{2421}" || s == "\u{FFFD}" || (0x2400...0x241F).contains(s.value)
    }

    /// Hostile text: generated strings, or random and mutated bytes read as UTF-8 (as QQ text arrives).
    static func text<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return String(decoding: Hostile.bytes(&rng, maxLength: 120), as: UTF8.self)
        case 1: return String(decoding: Hostile.mutate(Array(Hostile.string(&rng).utf8), &rng), as: UTF8.self)
        default: return Hostile.string(&rng, maxLength: 80)
        }
    }

    @Test("line: no control, escape or bidi character; one visible stand-in per unsafe scalar, the rest unchanged; idempotent")
    func line() async {
        let report = await Fuzz.run("sanitizer-line", iterations: 3000) { c in
            let input = Self.text(&c.rng)
            c.input = input
            let out = TextSanitizer.line(input)
            let a = Array(input.unicodeScalars), b = Array(out.unicodeScalars)
            c.check(!b.contains(where: Self.isUnsafe), "an unsafe scalar is left: \(out)")
            c.check(a.count == b.count, "\(a.count) scalars became \(b.count): something was hidden or added")
            for (x, y) in zip(a, b) where x != y {
                c.check(Self.isUnsafe(x) && Self.isStandIn(y), "\(x.escaped(asASCII: true)) became \(y.escaped(asASCII: true))")
            }
            c.check(TextSanitizer.line(out) == out, "not idempotent")
        }
        #expect(report.passed, "\(report)")
    }

    @Test("multiline: like line but newlines stay (CR goes, U+2028/9 become newlines); idempotent")
    func multiline() async {
        let report = await Fuzz.run("sanitizer-multiline", iterations: 2000) { c in
            let input = Self.text(&c.rng)
            c.input = input
            let out = TextSanitizer.multiline(input)
            c.check(!out.unicodeScalars.contains { $0 != "\n" && Self.isUnsafe($0) }, "an unsafe scalar is left: \(out)")
            let dropped = input.unicodeScalars.filter { $0 == "\r" }.count
            c.check(out.unicodeScalars.count == input.unicodeScalars.count - dropped, "only CR may go")
            c.check(TextSanitizer.multiline(out) == out, "not idempotent")
            c.check(TextSanitizer.line(out).unicodeScalars.allSatisfy { !Self.isUnsafe($0) }, "line of multiline unsafe")
        }
        #expect(report.passed, "\(report)")
    }

    @Test("clip and wrap: every row fits its width in cells, clipping keeps a prefix, wrapping loses no visible character")
    func widths() async {
        TextWidth.ensureUTF8Locale()
        let report = await Fuzz.run("widths", iterations: 1500) { c in
            let text = TextSanitizer.multiline(Self.text(&c.rng))
            let width = c.rng.small(1...100)
            c.input = "width \(width): " + text
            let line = TextSanitizer.line(text)
            let clipped = TextWidth.clip(line, to: width)
            c.check(TextWidth.cells(clipped) <= width, "clip to \(width) gave \(TextWidth.cells(clipped)) cells")
            c.check(clipped == line || (clipped.hasSuffix("…") && line.unicodeScalars.starts(with: clipped.unicodeScalars.dropLast())),
                    "clip is not a prefix of the line")
            let rows = TextWrap.lines(text, width: width)
            for row in rows where TextWidth.cells(row) > width {
                // Only a single glyph wider than the whole width may stick out.
                c.check(row.unicodeScalars.filter { TextWidth.cells($0) > 0 }.count == 1, "row of \(TextWidth.cells(row)) cells in \(width): \(row)")
            }
            let visible = { (s: String) in s.unicodeScalars.filter { $0 != " " && $0 != "\n" } }
            c.check(Array(visible(rows.joined())) == Array(visible(text)), "wrapping changed the visible characters")
        }
        #expect(report.passed, "\(report)")
    }
}
