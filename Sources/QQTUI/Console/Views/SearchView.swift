import QQSession

/// `/search` results over the message pane: conversation, time, text; Enter opens one.
enum SearchView {
    static func draw(_ state: ConsoleState, _ search: ConsoleState.SearchResults, in rect: Rect, into buffer: inout ScreenBuffer) {
        buffer.fill(rect)
        guard !rect.isEmpty else { return }
        guard let results = search.results else {
            buffer.put(" searching for “" + TextSanitizer.line(search.query) + "”…", row: rect.row, col: rect.col, width: rect.width, style: .dim)
            return
        }
        buffer.put(" \(results.count) result(s) for “" + TextSanitizer.line(search.query) + "”", row: rect.row, col: rect.col,
                   width: rect.width, style: .bold)
        let capacity = max(0, rect.height - 1)
        let first = max(0, min(search.selected - capacity / 2, results.count - capacity))
        for (slot, m) in results.dropFirst(first).prefix(capacity).enumerated() {
            let i = first + slot
            let style: Style = i == search.selected ? .selected : .normal
            let row = rect.row + 1 + slot
            buffer.fill(row: row, col: rect.col, width: rect.width, style: style)
            let head = " " + MessageLayout.clock(m.createdAt) + " " + TextWidth.clip(state.name(of: m.conversation), to: 12) + "  "
            let x = buffer.put(head, row: row, col: rect.col, width: rect.width, style: style)
            buffer.put(TextSanitizer.line(m.text), row: row, col: x, width: rect.col + rect.width - x, style: style)
        }
    }
}
