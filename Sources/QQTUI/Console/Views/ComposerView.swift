/// The composer: `> ` then the operator's text, wrapped by cell width, with the terminal cursor
/// placed where the next character goes (so input methods pop up in the right spot). An agent's
/// draft shows `✎`, with the first line of the message it answers quoted above it. Text taller than
/// the composer scrolls with the cursor; the rule above says which lines show.
enum ComposerView {
    static func draw(_ state: ConsoleState, in full: Rect, into buffer: inout ScreenBuffer) {
        guard !full.isEmpty else { return }
        var rect = full
        if let draft = state.composerDraft, rect.height > 1 {
            var quote = StyledLine("✎ draft answering ", .draft)
            quote.add(draft.question.map { "“" + $0 + "”" } ?? "the conversation", .accent)
            quote.draw(into: &buffer, row: rect.row, col: rect.col, width: rect.width)
            rect.row += 1
            rect.height -= 1
        }
        let width = max(1, rect.width - 2)
        let layout = state.composer.layout(width: width)
        // Show the lines around the cursor when the text is taller than the composer.
        let first = max(0, min(layout.cursorLine - rect.height + 1, layout.lines.count - rect.height))
        let prompt = state.composerHoldsDraft ? "✎ " : "> "
        for i in 0..<rect.height {
            let row = rect.row + i
            if i == 0 { buffer.put(prompt, row: row, col: rect.col, style: state.composerHoldsDraft ? .draft : .accent) }
            let index = first + i
            guard index < layout.lines.count else { continue }
            buffer.put(layout.lines[index], row: row, col: rect.col + 2, width: width)
        }
        if layout.lines.count > rect.height, full.row > 0 {
            let shown = " lines \(first + 1)–\(min(layout.lines.count, first + rect.height)) of \(layout.lines.count) (Up/Down) "
            let w = TextWidth.cells(shown)
            if w < full.width - 10 { buffer.put(shown, row: full.row - 1, col: full.col + full.width - w - 1, style: .warning) }
        }
        if state.composer.isEmpty, !state.composerHoldsDraft, state.selected != nil {
            buffer.put("type a reply, / for commands", row: rect.row, col: rect.col + 2, width: width, style: .dim)
        }
        let cursorRow = rect.row + layout.cursorLine - first
        buffer.cursor = (cursorRow, min(rect.col + rect.width - 1, rect.col + 2 + layout.cursorCol))
    }

    /// Rows the composer wants: its visual lines, and the quote line over a draft.
    static func lineCount(_ state: ConsoleState, cols: Int) -> Int {
        state.composer.layout(width: max(1, cols - 2)).lines.count + (state.composerHoldsDraft ? 1 : 0)
    }
}
