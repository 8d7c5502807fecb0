/// The composer: `> ` then the operator's text, wrapped by cell width, with the terminal cursor
/// placed where the next character goes (so input methods pop up in the right spot).
enum ComposerView {
    static func draw(_ state: ConsoleState, in rect: Rect, into buffer: inout ScreenBuffer) {
        guard !rect.isEmpty else { return }
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
        if state.composer.isEmpty, !state.composerHoldsDraft, state.selected != nil {
            buffer.put("type a reply, / for commands", row: rect.row, col: rect.col + 2, width: width, style: .dim)
        }
        let cursorRow = rect.row + layout.cursorLine - first
        buffer.cursor = (cursorRow, min(rect.col + rect.width - 1, rect.col + 2 + layout.cursorCol))
    }

    /// Visual lines the composer wants (the layout gives it up to five).
    static func lineCount(_ state: ConsoleState, cols: Int) -> Int {
        state.composer.layout(width: max(1, cols - 2)).lines.count
    }
}
