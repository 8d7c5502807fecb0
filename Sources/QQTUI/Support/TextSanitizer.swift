/// Makes text from QQ safe to put on a terminal: no control character, escape sequence or bidi
/// override survives; each is replaced by a visible stand-in so nothing is silently hidden.
///
/// It runs on the UI thread for every message, however long: one pass with no allocation per
/// character, and text with nothing to replace is returned as it is.
enum TextSanitizer {
    /// One line: newlines become `⏎`, tabs a space, other C0 controls their Control Pictures glyph
    /// (ESC → `␛`), DEL `␡`, C1 controls and bidi/format overrides `�`.
    static func line(_ text: String) -> String { sanitize(text, keepNewlines: false) }

    /// Like ``line(_:)`` but keeps `\n` (for multi-line views that wrap themselves).
    static func multiline(_ text: String) -> String { sanitize(text, keepNewlines: true) }

    /// True when `scalar` would be passed through unchanged.
    static func isSafe(_ scalar: Unicode.Scalar) -> Bool {
        replacement(for: scalar, keepNewlines: false) == scalar
    }

    private static func sanitize(_ text: String, keepNewlines: Bool) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { replacement(for: $0, keepNewlines: keepNewlines) != $0 }) else {
            return text
        }
        var out = String.UnicodeScalarView()
        out.reserveCapacity(text.utf8.count)
        out.append(contentsOf: scalars[..<first])
        for scalar in scalars[first...] {
            if let r = replacement(for: scalar, keepNewlines: keepNewlines) { out.append(r) }
        }
        return String(out)
    }

    /// What `s` becomes: itself when safe, a stand-in, or nil (dropped: `\r` where newlines are kept).
    private static func replacement(for s: Unicode.Scalar, keepNewlines: Bool) -> Unicode.Scalar? {
        let v = s.value
        // Printable ASCII and most of Unicode: the common case first.
        if (0x20..<0x7F).contains(v) { return s }
        switch v {
        case 0x0A: return keepNewlines ? s : "\u{23CE}"
        case 0x0D: return keepNewlines ? nil : "\u{23CE}"
        case 0x09: return " "
        case 0x00...0x1F: return Unicode.Scalar(0x2400 + v) ?? "\u{FFFD}"
        case 0x7F: return "\u{2421}"
        case 0x80...0x9F: return "\u{FFFD}"
        // Bidi embeddings/overrides/isolates and the invisible formatting that can reorder a line.
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x061C: return "\u{FFFD}"
        // Line and paragraph separators move the cursor on some terminals.
        case 0x2028, 0x2029: return keepNewlines ? "\n" : "\u{23CE}"
        default: return s
        }
    }
}
