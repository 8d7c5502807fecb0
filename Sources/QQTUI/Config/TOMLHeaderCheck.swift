/// Finds a table header that would crash the TOML parser, so it is reported as a syntax error instead.
///
/// toml++ 3.4.0 (inside TOMLKit) asserts that a table header's key starts with a key character: `[!]`,
/// `[=`, `[[[x]]]` abort the process in a debug build and are undefined behaviour in a release one
/// (fixed upstream in marzer/tomlplusplus#301, not yet in TOMLKit). The parser only reaches a header at
/// the top level after everything before it parsed, so a scan that follows strings, comments and
/// multi-line arrays like TOML does sees every header it would.
enum TOMLHeaderCheck {
    /// The 1-based line and column of the first top-level table header whose key starts with a
    /// character no key can start with, if any.
    static func firstBrokenHeader(in text: String) -> (line: Int, column: Int)? {
        var scan = Scanner(Array(text.unicodeScalars))
        return scan.run()
    }

    /// `text` with every `\u0000` / `\U00000000` escape of a basic string replaced by one of
    /// ``TOMLSection/nulMark``, so the value reaches the getters whole and is refused by its key.
    static func markingNULEscapes(in text: String) -> String {
        var scan = Scanner(Array(text.unicodeScalars))
        _ = scan.run()
        guard !scan.nulEscapes.isEmpty else { return text }
        var out = String.UnicodeScalarView()
        var next = 0
        for escape in scan.nulEscapes {
            out.append(contentsOf: scan.s[next..<escape.lowerBound])
            out.append(contentsOf: ("\\U00" + String(TOMLSection.nulMark.value, radix: 16, uppercase: true)).unicodeScalars)
            next = escape.upperBound
        }
        out.append(contentsOf: scan.s[next...])
        return String(out)
    }

    private struct Scanner {
        let s: [Unicode.Scalar]
        var i = 0
        /// Where basic strings hold a NUL escape (`\u0000`, `\U00000000`), in order.
        var nulEscapes: [Range<Int>] = []
        var line = 1
        var lineStart = 0
        /// Open `[` and `{` of the value being read (arrays may span lines).
        var depth = 0

        init(_ s: [Unicode.Scalar]) { self.s = s }

        static func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }

        /// A bare key character or a quote: what toml++ requires at the start of a key.
        static func isKeyStart(_ c: Unicode.Scalar) -> Bool {
            switch c {
            case "A"..."Z", "a"..."z", "0"..."9", "_", "-", "\"", "'": true
            default: false
            }
        }

        func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }

        mutating func run() -> (line: Int, column: Int)? {
            var atLineStart = true
            while i < s.count {
                let c = s[i]
                if atLineStart, depth == 0 {
                    if Self.isBlank(c) { i += 1; continue }
                    atLineStart = false
                    if c == "[" {
                        if let bad = header() { return bad }
                        continue
                    }
                }
                switch c {
                case "\n":
                    newline()
                    atLineStart = true
                case "#":
                    while let d = at(i), d != "\n" { i += 1 }
                case "\"", "'":
                    string(quote: c)
                case "[", "{":
                    depth += 1
                    i += 1
                case "]", "}":
                    depth = max(0, depth - 1)
                    i += 1
                default:
                    i += 1
                }
            }
            return nil
        }

        mutating func newline() {
            i += 1
            line += 1
            lineStart = i
        }

        /// At a header's `[`: the position of a key that cannot start there, else skips the header line.
        mutating func header() -> (line: Int, column: Int)? {
            var j = i + 1
            var blank = false
            while let d = at(j), Self.isBlank(d) { j += 1; blank = true }
            if at(j) == "[", !blank {
                j += 1
                while let d = at(j), Self.isBlank(d) { j += 1 }
            } else if at(j) == "[" {
                blank = true   // `[ [`: refused by the parser itself
            }
            if let d = at(j), d != "]", !Self.isKeyStart(d), !(d == "[" && blank) {
                return (line, j - lineStart + 1)
            }
            // A header is one line (its quoted keys hold no line break).
            while let d = at(i), d != "\n" { i += 1 }
            return nil
        }

        /// At a `\` in a basic string: records it when it starts a NUL escape.
        mutating func noteNULEscape() {
            guard let kind = at(i + 1), kind == "u" || kind == "U" else { return }
            let digits = kind == "u" ? 4 : 8
            guard i + 1 + digits < s.count, s[(i + 2)...(i + 1 + digits)].allSatisfy({ $0 == "0" }) else { return }
            nulEscapes.append(i..<(i + 2 + digits))
        }

        /// Skips a string starting at `i`: basic or literal, single- or multi-line.
        mutating func string(quote: Unicode.Scalar) {
            let multi = at(i + 1) == quote && at(i + 2) == quote
            i += multi ? 3 : 1
            while let d = at(i) {
                if quote == "\"", d == "\\" {
                    noteNULEscape()
                    i += at(i + 1) == "\n" ? 1 : 2
                    continue
                }
                if d == "\n" {
                    guard multi else { return }   // an unterminated one-line string ends at the line
                    newline()
                    continue
                }
                if d == quote {
                    if !multi { i += 1; return }
                    if at(i + 1) == quote, at(i + 2) == quote {
                        i += 3
                        // Up to two more quotes belong to the content before the closing three.
                        var extra = 0
                        while extra < 2, at(i) == quote { i += 1; extra += 1 }
                        return
                    }
                }
                i += 1
            }
        }
    }
}
