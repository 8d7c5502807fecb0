/// Wraps text to a width in terminal cells: at spaces where possible, anywhere in CJK, never
/// splitting a wide glyph; `\n` starts a new line. Input must already be sanitized.
enum TextWrap {
    /// One wrapped line and where it starts in the text (a UTF-8 offset).
    struct Piece: Equatable {
        var text: String
        var start: Int
    }

    /// The lines of `text` in at most `width` cells each (at least one line, maybe empty).
    static func lines(_ text: String, width: Int) -> [String] {
        pieces(text, width: width).map(\.text)
    }

    /// The lines of `text` with their start offsets, wrapping from `offset` (which must be the start
    /// of a line of an earlier wrap of a prefix of `text` at the same width, or 0).
    static func pieces(_ text: String, width: Int, from offset: Int = 0) -> [Piece] {
        let scalars = text.unicodeScalars
        let begin = text.utf8.index(text.utf8.startIndex, offsetBy: offset)
        guard width > 0 else { return [Piece(text: "", start: offset)] }
        func at(_ i: String.Index) -> Int { text.utf8.distance(from: text.utf8.startIndex, to: i) }
        var out: [Piece] = []
        var i = begin
        var lineStart = i
        var line = String.UnicodeScalarView()
        var used = 0
        // Just after the last space in `line`, to break there: in `line` and in `text`.
        var breakAt: (inLine: String.UnicodeScalarView.Index, inText: String.Index)?
        var widthAtBreak = 0
        func emit(_ s: String, nextStart: String.Index) {
            out.append(Piece(text: s, start: at(lineStart)))
            lineStart = nextStart
        }
        while i < scalars.endIndex {
            let scalar = scalars[i]
            let next = scalars.index(after: i)
            if scalar == "\n" {
                emit(String(line), nextStart: next); line = .init(); used = 0; breakAt = nil
                i = next
                continue
            }
            let w = TextWidth.cells(scalar)
            if used + w > width, !line.isEmpty {
                if scalar == " " {
                    // The space that overflows becomes the break itself.
                    emit(String(line), nextStart: next); line = .init(); used = 0; breakAt = nil
                    i = next
                    continue
                }
                // Back to the last space only to keep a Latin word whole; CJK fills the line.
                if w == 1, let cut = breakAt, cut.inLine < line.endIndex {
                    let head = line[line.startIndex..<cut.inLine], tail = line[cut.inLine...]
                    emit(String(String.UnicodeScalarView(head)).trimmingTrailingSpaces, nextStart: cut.inText)
                    line = String.UnicodeScalarView(tail)
                    used -= widthAtBreak
                } else {
                    emit(String(line), nextStart: i); line = .init(); used = 0
                }
                breakAt = nil
                // What was carried over plus this glyph may still not fit (a wide glyph at the edge).
                if used + w > width, !line.isEmpty { emit(String(line), nextStart: i); line = .init(); used = 0 }
            }
            line.append(scalar)
            used += w
            if scalar == " " { breakAt = (line.endIndex, next); widthAtBreak = used }
            i = next
        }
        out.append(Piece(text: String(line), start: at(lineStart)))
        return out
    }

    /// Re-wraps a text that grew (`text` starts with the text `previous` was wrapped from): the lines
    /// before the last two stay as they were (greedy wrapping never changes a line once a later
    /// character closed it), only the rest is wrapped again. An agent's reply streaming in costs its
    /// new tail, not its whole length, per frame.
    static func extend(_ previous: [Piece], to text: String, width: Int) -> [Piece] {
        guard previous.count > 2 else { return pieces(text, width: width) }
        let keep = previous.count - 2
        return Array(previous[..<keep]) + pieces(text, width: width, from: previous[keep].start)
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
