/// Positions in a conversation's laid-out lines, for drawing from the bottom and for PgUp/PgDn.
/// A position is an entry and a line inside it; the view's anchor is its bottom line.
struct MessageScroller {
    struct Position: Equatable {
        var entry: Int
        var line: Int
    }

    let conversation: ConversationModel
    let width: Int
    let state: ConsoleState

    private func count(_ i: Int) -> Int {
        state.wraps.count(conversation.entries[i], width: width, state: state)
    }

    /// The bottom line on screen: the anchor, or the last line.
    var bottom: Position? {
        let entries = conversation.entries
        guard !entries.isEmpty else { return nil }
        if let anchor = conversation.anchor, let i = conversation.position(of: anchor.uid) {
            return Position(entry: i, line: min(anchor.line, count(i) - 1))
        }
        return Position(entry: entries.count - 1, line: count(entries.count - 1) - 1)
    }

    /// `n` lines up from `p`; `hitTop` when the first line stopped it.
    func up(_ p: Position, by n: Int) -> (Position, hitTop: Bool) {
        var p = p, left = n
        while left > 0 {
            if p.line >= left { p.line -= left; return (p, false) }
            left -= p.line + 1
            if p.entry == 0 { p.line = 0; return (p, true) }
            p.entry -= 1
            p.line = count(p.entry) - 1
        }
        return (p, p.entry == 0 && p.line == 0)
    }

    /// `n` lines down from `p`; nil when that passes the last line (the view follows the bottom again).
    func down(_ p: Position, by n: Int) -> Position? {
        var p = p, left = n
        let last = conversation.entries.count - 1
        while left > 0 {
            let c = count(p.entry)
            if p.line + left < c { p.line += left; return p }
            left -= c - p.line
            if p.entry == last { return nil }
            p.entry += 1
            p.line = 0
        }
        return p
    }

    /// The lines that fill `height` rows ending at the bottom position (or starting at the first
    /// line when there are not enough above it).
    /// The lines of the message `marking` (a search hit) are drawn highlighted, the first with `▶`.
    func visible(height: Int, marking: String? = nil) -> (lines: [StyledLine], atTop: Bool) {
        guard height > 0, let bottom else { return ([], true) }
        let (top, hitTop) = up(bottom, by: height - 1)
        var lines: [StyledLine] = []
        var p = top
        while lines.count < height, p.entry < conversation.entries.count {
            let entry = conversation.entries[p.entry]
            var all = state.wraps.lines(entry, width: width, state: state)
            if entry.uid == marking { all = Self.marked(all) }
            while p.line < all.count, lines.count < height { lines.append(all[p.line]); p.line += 1 }
            p.entry += 1
            p.line = 0
        }
        return (lines, hitTop)
    }

    /// A message's lines as a highlighted hit: `▶` in place of its status glyph (the one-cell run
    /// after the time), text highlighted.
    static func marked(_ lines: [StyledLine]) -> [StyledLine] {
        lines.enumerated().map { i, line in
            var out = StyledLine(line.runs.map { StyledLine.Run(text: $0.text, style: .highlight) })
            if i == 0, let glyph = out.runs.prefix(2).lastIndex(where: { $0.text.count == 1 }) {
                out.runs[glyph].text = "▶"
            }
            return out
        }
    }
}
