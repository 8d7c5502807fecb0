/// Wraps text to a width in terminal cells: at spaces where possible, anywhere in CJK, never
/// splitting a wide glyph; `\n` starts a new line. Input must already be sanitized.
enum TextWrap {
    /// The lines of `text` in at most `width` cells each (at least one line, maybe empty).
    static func lines(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [""] }
        var out: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            wrap(paragraph, width: width, into: &out)
        }
        return out.isEmpty ? [""] : out
    }

    private static func wrap(_ paragraph: Substring, width: Int, into out: inout [String]) {
        var line = String.UnicodeScalarView()
        var used = 0
        // The position just after the last space in `line`, to break there.
        var breakAt: String.UnicodeScalarView.Index?
        var widthAtBreak = 0
        for scalar in paragraph.unicodeScalars {
            let w = TextWidth.cells(scalar)
            if used + w > width, !line.isEmpty {
                if scalar == " " {
                    // The space that overflows becomes the break itself.
                    out.append(String(line)); line = .init(); used = 0; breakAt = nil
                    continue
                }
                // Back to the last space only to keep a Latin word whole; CJK fills the line.
                if w == 1, let cut = breakAt, cut < line.endIndex {
                    let head = line[line.startIndex..<cut], tail = line[cut...]
                    out.append(String(String.UnicodeScalarView(head)).trimmingTrailingSpaces)
                    line = String.UnicodeScalarView(tail)
                    used -= widthAtBreak
                } else {
                    out.append(String(line)); line = .init(); used = 0
                }
                breakAt = nil
                // What was carried over plus this glyph may still not fit (a wide glyph at the edge).
                if used + w > width, !line.isEmpty { out.append(String(line)); line = .init(); used = 0 }
            }
            line.append(scalar)
            used += w
            if scalar == " " { breakAt = line.endIndex; widthAtBreak = used }
        }
        out.append(String(line))
    }
}

extension String {
    /// Without trailing spaces.
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
