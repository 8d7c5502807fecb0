/// Building blocks of hostile input: characters, escape sequences, broken UTF-8, JSON escapes.
public enum Hostile {
    /// Scalars that have broken text handling somewhere: controls, C1, bidi and format characters,
    /// line separators, BOM, noncharacters, combining marks, ZWJ, wide glyphs, odd blanks.
    public static let scalars: [Unicode.Scalar] = [
        "\u{0}", "\u{7}", "\u{8}", "\t", "\n", "\u{B}", "\u{C}", "\r", "\u{1B}", "\u{1F}", "\u{7F}",
        "\u{80}", "\u{85}", "\u{9B}", "\u{9D}", "\u{9F}", "\u{A0}", "\u{AD}",
        "\u{061C}", "\u{200B}", "\u{200D}", "\u{200E}", "\u{200F}", "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}",
        "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}", "\u{2028}", "\u{2029}", "\u{3000}",
        "\u{FEFF}", "\u{FFFD}", "\u{FFFE}", "\u{FFFF}", "\u{10FFFF}", "\u{D7FF}", "\u{E000}",
        "\u{0301}", "\u{20DD}", "中", "文", "😀", "\u{1F468}", "ﬁ", "א", "ع", "<", ">", "@", "!", "\"", "\\", "/", "=",
    ]

    /// Terminal escape sequences (CSI, OSC, DCS, 8-bit CSI), some cut short.
    public static let escapes: [String] = [
        "\u{1B}[2J", "\u{1B}[31m", "\u{1B}]0;owned\u{7}", "\u{1B}]8;;http://x\u{1B}\\", "\u{1B}P+q\u{1B}\\",
        "\u{9B}6n", "\u{1B}[", "\u{1B}]", "\u{1B}c", "\u{1B}[?1049h", "\u{1B}(0", "\r\u{1B}[K",
    ]

    /// Byte sequences that are not valid UTF-8: stray continuation, lone lead, overlong, surrogate,
    /// beyond U+10FFFF, truncated 4-byte, 0xFE/0xFF.
    public static let invalidUTF8: [[UInt8]] = [
        [0x80], [0xBF], [0xC3], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
        [0xF4, 0x90, 0x80, 0x80], [0xF0, 0x9F, 0x98], [0xFE], [0xFF], [0xF8, 0x88, 0x80, 0x80, 0x80],
    ]

    /// JSON string escapes: lone and reversed surrogates, NUL, a valid pair, a cut escape.
    public static let jsonEscapes: [String] = [
        #"\uD800"#, #"\uDC00"#, #"\uDBFF\uDFFF"#, #"\uD83D\uDE00"#, #"\uDE00\uD83D"#, #"\u0000"#, #"\u001b[2J"#,
        #"\u202e"#, #"\uFFFF"#, #"\u"#, #"\uZZZZ"#, #"\"#, #"\/"#, #"\n\r\t"#,
    ]

    /// Numbers a parser may choke on.
    public static let numbers: [String] = [
        "0", "-0", "1", "-1", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "1e308", "1e309", "-1e400", "1.5", "1E2", "0.0000000001", "123456789012345678901234567890",
        "01", "+1", ".5", "NaN", "Infinity", "-", "1e", "0x10",
    ]

    /// A string of up to `maxLength` scalars mixing ASCII words, CJK and the hostile scalars.
    public static func string<R: RandomNumberGenerator>(_ rng: inout R, maxLength: Int = 40) -> String {
        var out = String.UnicodeScalarView()
        let length = rng.small(0...maxLength)
        while out.count < length {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0...3:
                out.append(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng)))
            case 4:
                out.append(contentsOf: rng.pick(["你好", "世界", "机器人", " ", "  ", "\u{3000}", "\u{A0}"]).unicodeScalars)
            case 5, 6:
                out.append(rng.pick(scalars))
            case 7:
                out.append(contentsOf: rng.pick(escapes).unicodeScalars)
            case 8:
                // Any valid scalar at all.
                var v = UInt32.random(in: 0...0x10FFFF, using: &rng)
                if (0xD800...0xDFFF).contains(v) { v -= 0x800 }
                if let s = Unicode.Scalar(v) { out.append(s) }
            default:
                let c = rng.pick(["a", "中", "\u{1B}", " ", "<"] as [Unicode.Scalar])
                out.append(contentsOf: repeatElement(c, count: rng.small(1...64)))
            }
        }
        return String(out)
    }

    /// Up to `maxLength` random bytes, with a bias to the bytes that matter to text formats.
    public static func bytes<R: RandomNumberGenerator>(_ rng: inout R, maxLength: Int = 200) -> [UInt8] {
        let special: [UInt8] = [0x00, 0x0A, 0x0D, 0x1B, 0x20, 0x22, 0x3A, 0x3C, 0x3E, 0x5B, 0x5C, 0x5D, 0x7B, 0x7D, 0x80, 0xC3, 0xEF, 0xFF]
        return (0..<rng.small(0...maxLength)).map { _ in
            rng.chance(0.3) ? rng.pick(special) : UInt8.random(in: 0...255, using: &rng)
        }
    }

    /// `bytes` with one to three random edits: truncation, bit flips, insertions of hostile bytes,
    /// deletions, duplications, swaps of a byte for a random one.
    public static func mutate<R: RandomNumberGenerator>(_ bytes: [UInt8], _ rng: inout R) -> [UInt8] {
        var b = bytes
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let at = b.isEmpty ? 0 : Int.random(in: 0...b.count, using: &rng)
            switch Int.random(in: 0..<8, using: &rng) {
            case 0:
                b = Array(b.prefix(at))
            case 1 where at < b.count:
                b[at] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            case 2:
                b.insert(contentsOf: rng.pick(invalidUTF8), at: at)
            case 3:
                b.insert(contentsOf: Array(rng.pick(escapes + ["\u{0}", "\r\n", "\n", "\r", "\"", "\\", "{", "}", "]"]).utf8), at: at)
            case 4 where at < b.count:
                b.removeSubrange(at..<min(b.count, at + rng.small(1...16)))
            case 5 where at < b.count:
                let end = min(b.count, at + rng.small(1...64))
                let piece = Array(b[at..<end])
                b.insert(contentsOf: piece, at: end)
            case 6 where at < b.count:
                b[at] = UInt8.random(in: 0...255, using: &rng)
            default:
                b.insert(contentsOf: Hostile.bytes(&rng, maxLength: 8), at: at)
            }
        }
        return b
    }

    /// `bytes` cut into random pieces (empty ones and single bytes included), in order.
    public static func chunks<R: RandomNumberGenerator>(_ bytes: [UInt8], _ rng: inout R) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            let n = rng.chance(0.1) ? 0 : rng.chance(0.3) ? 1 : rng.small(1...max(1, bytes.count - i))
            out.append(Array(bytes[i..<min(bytes.count, i + n)]))
            i += n
        }
        if rng.chance(0.2) { out.append([]) }
        return out
    }
}
