import FuzzSupport
@testable import QQTUI
import Testing

/// The terminal's bytes, however the reads cut them: generated typing (text in any script, keys,
/// Alt, paste markers) gives exactly its input; random and mangled bytes give the same input in
/// pieces as whole, only valid scalars, and never a trap.
@Suite("Fuzz: terminal input", Fuzz.backstop)
struct FuzzTerminalInputTests {
    static let keys: [(String, Key)] = [
        ("\u{1B}[A", .up), ("\u{1B}OB", .down), ("\u{1B}[1;5C", .alt("f")), ("\u{1B}OD", .left), ("\u{1B}[H", .home),
        ("\u{1B}[4~", .end), ("\u{1B}[3~", .delete), ("\u{1B}[5~", .pageUp), ("\u{1B}[6~", .pageDown),
        ("\u{1B}[Z", .backTab), ("\u{1B}OP", .function(1)), ("\u{1B}[15~", .function(5)), ("\u{1B}[24~", .function(12)),
        ("\u{1B}[[B", .function(2)), ("\u{1B}OM", .enter),
    ]

    /// Generated typing: its bytes and the input they stand for.
    static func typing(_ rng: inout SplitMix64) -> (bytes: [UInt8], input: [RawInput]) {
        var bytes: [UInt8] = []
        var input: [RawInput] = []
        for _ in 0..<rng.small(1...30) {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0:
                let (sequence, key) = rng.pick(keys)
                bytes += Array(sequence.utf8)
                input.append(.key(key))
            case 1:   // a paste marker: characters for the KeyDecoder
                let marker = rng.chance(0.5) ? "\u{1B}[200~" : "\u{1B}[201~"
                bytes += Array(marker.utf8)
                input += marker.unicodeScalars.map { .scalar($0.value) }
            case 2:   // Alt and a character that starts no sequence
                let c = rng.pick(Array("abcxyz1!你".unicodeScalars))
                bytes += [0x1B] + Array(String(c).utf8)
                input += [.scalar(0x1B), .scalar(c.value)]
            default:  // text in any script, with controls but no ESC
                let text = String(String.UnicodeScalarView(Hostile.string(&rng).unicodeScalars.filter { $0 != "\u{1B}" }))
                bytes += Array(text.utf8)
                input += text.unicodeScalars.map { .scalar($0.value) }
            }
        }
        return (bytes, input)
    }

    static func parse(_ pieces: [[UInt8]]) -> [RawInput] {
        var p = TerminalInputParser()
        return pieces.flatMap { p.parse($0) } + p.flush()
    }

    @Test("generated typing cut into any pieces gives exactly its text, keys and markers")
    func generated() async {
        let report = await Fuzz.run("terminal-input-generated", iterations: 2000) { c in
            let (bytes, input) = Self.typing(&c.rng)
            let pieces = Hostile.chunks(bytes, &c.rng)
            c.input = "\(pieces.map(\.count)) of \(bytes.count) bytes"
            let got = Self.parse(pieces)
            c.check(got == input, "got \(got.count) inputs, expected \(input.count): \(got.prefix(12)) vs \(input.prefix(12))")
        }
        #expect(report.passed, "\(report)")
    }

    @Test("random and mangled bytes: the same input in pieces as whole, every scalar a valid one, never a trap")
    func mangled() async {
        let report = await Fuzz.run("terminal-input-mangled", iterations: 3000) { c in
            let bytes = c.rng.chance(0.5) ? Hostile.bytes(&c.rng, maxLength: 300)
                : Hostile.mutate(Self.typing(&c.rng).bytes, &c.rng)
            let pieces = Hostile.chunks(bytes, &c.rng)
            c.input = "\(bytes)"
            let whole = Self.parse([bytes])
            c.check(Self.parse(pieces) == whole, "cut into \(pieces.map(\.count)) it differs")
            for case .scalar(let v) in whole { c.check(Unicode.Scalar(v) != nil, "invalid scalar \(v)") }
        }
        #expect(report.passed, "\(report)")
    }
}
