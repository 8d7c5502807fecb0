/// The operator's input line: UTF-8 text edited by character (grapheme), drawn by cell width.
/// Multi-line with Alt-Enter; pasted text keeps its line breaks; control characters never get in.
struct Composer: Sendable, Equatable {
    private(set) var chars: [Character] = []
    /// Insertion point, 0...chars.count.
    private(set) var cursor = 0

    /// A composer holding `text`, cursor at the end.
    init(_ text: String = "") {
        insert(text)
    }

    /// The text as typed.
    var text: String { String(chars) }
    var isEmpty: Bool { chars.isEmpty }

    /// Inserts text at the cursor (tabs become spaces, `\r\n`/`\r` become `\n`, other controls are dropped).
    mutating func insert(_ text: String) {
        let clean = Self.clean(text)
        chars.insert(contentsOf: clean, at: cursor)
        cursor += clean.count
    }

    mutating func backspace() {
        guard cursor > 0 else { return }
        chars.remove(at: cursor - 1)
        cursor -= 1
    }

    mutating func deleteForward() {
        guard cursor < chars.count else { return }
        chars.remove(at: cursor)
    }

    mutating func left() { cursor = max(0, cursor - 1) }
    mutating func right() { cursor = min(chars.count, cursor + 1) }

    /// To the start of the text.
    mutating func moveToStart() { cursor = 0 }

    /// One visual line up (`-1`) or down (`1`) in `width` cells, keeping the column where it can;
    /// false when there is no line there.
    @discardableResult
    mutating func moveLine(_ step: Int, width: Int) -> Bool {
        let places = positions(width: width)
        let here = places[cursor]
        let target = here.line + step
        guard target >= 0, target <= places.last?.line ?? 0 else { return false }
        // The last index on the target line whose column is not past ours.
        var best: Int?
        for (i, p) in places.enumerated() where p.line == target && p.col <= here.col { best = i }
        cursor = best ?? places.firstIndex { $0.line == target } ?? cursor
        return true
    }

    /// The visual line and column of every cursor index 0...count (as `layout` places them).
    private func positions(width: Int) -> [(line: Int, col: Int)] {
        let width = max(1, width)
        var out: [(line: Int, col: Int)] = []
        var line = 0, used = 0
        for c in chars {
            if c == "\n" { out.append((line, used)); line += 1; used = 0; continue }
            let w = TextWidth.cells(String(c))
            if used + w > width { line += 1; used = 0 }
            out.append((line, used))
            used += w
        }
        out.append(used >= width ? (line + 1, 0) : (line, used))
        return out
    }

    /// To the start of the current line.
    mutating func home() {
        while cursor > 0, chars[cursor - 1] != "\n" { cursor -= 1 }
    }

    /// To the end of the current line.
    mutating func end() {
        while cursor < chars.count, chars[cursor] != "\n" { cursor += 1 }
    }

    /// Deletes the word before the cursor (and the blanks after it), like Ctrl-W in a shell.
    mutating func deleteWordBackward() {
        let start = wordStart(before: cursor)
        chars.removeSubrange(start..<cursor)
        cursor = start
    }

    /// Moves to the start of the word before the cursor.
    mutating func wordLeft() { cursor = wordStart(before: cursor) }

    /// Moves past the end of the word after the cursor.
    mutating func wordRight() {
        while cursor < chars.count, chars[cursor].isWhitespace { cursor += 1 }
        while cursor < chars.count, !chars[cursor].isWhitespace, !Self.isCJK(chars[cursor]) { cursor += 1 }
        if cursor < chars.count, Self.isCJK(chars[cursor]) { cursor += 1 }
    }

    /// Deletes from the start of the line to the cursor (Ctrl-U).
    mutating func killToLineStart() {
        var start = cursor
        while start > 0, chars[start - 1] != "\n" { start -= 1 }
        chars.removeSubrange(start..<cursor)
        cursor = start
    }

    /// Deletes from the cursor to the end of the line (Ctrl-K).
    mutating func killToLineEnd() {
        var end = cursor
        while end < chars.count, chars[end] != "\n" { end += 1 }
        chars.removeSubrange(cursor..<end)
    }

    /// Replaces everything.
    mutating func set(_ text: String) {
        chars = []
        cursor = 0
        insert(text)
    }

    private func wordStart(before index: Int) -> Int {
        var i = index
        while i > 0, chars[i - 1].isWhitespace { i -= 1 }
        // A CJK run has no spaces: a word there is one character.
        if i > 0, Self.isCJK(chars[i - 1]) { return i - 1 }
        while i > 0, !chars[i - 1].isWhitespace, !Self.isCJK(chars[i - 1]) { i -= 1 }
        return i
    }

    private static func isCJK(_ c: Character) -> Bool {
        c.unicodeScalars.first.map { TextWidth.cells($0) == 2 } ?? false
    }

    private static func clean(_ text: String) -> [Character] {
        var out: [Character] = []
        var lastWasCR = false
        for c in text {
            if c == "\r\n" { out.append("\n"); lastWasCR = false; continue }
            if c == "\r" { out.append("\n"); lastWasCR = true; continue }
            if c == "\n" { if !lastWasCR { out.append("\n") }; lastWasCR = false; continue }
            lastWasCR = false
            if c == "\t" { out.append(" "); continue }
            if c.unicodeScalars.allSatisfy(TextSanitizer.isSafe) { out.append(c) }
        }
        return out
    }

    /// The text laid out in `width` cells: visual lines (hard-wrapped, `\n` honoured) and the
    /// cursor's line and cell column.
    func layout(width: Int) -> (lines: [String], cursorLine: Int, cursorCol: Int) {
        let width = max(1, width)
        var lines: [String] = [""]
        var used = 0
        var cursorLine = 0, cursorCol = 0
        for (i, c) in chars.enumerated() {
            if i == cursor { cursorLine = lines.count - 1; cursorCol = used }
            if c == "\n" {
                lines.append(""); used = 0
                continue
            }
            let w = TextWidth.cells(String(c))
            if used + w > width {
                lines.append(""); used = 0
                if i == cursor { cursorLine = lines.count - 1; cursorCol = 0 }
            }
            lines[lines.count - 1].append(c)
            used += w
        }
        if cursor == chars.count {
            cursorLine = lines.count - 1
            cursorCol = used
            // A full line puts the cursor at the start of the next one.
            if used >= width { lines.append(""); cursorLine += 1; cursorCol = 0 }
        }
        return (lines, cursorLine, cursorCol)
    }
}
