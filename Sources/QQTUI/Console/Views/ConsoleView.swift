import Foundation
import QQSession

/// Draws the whole console for a state into a ``ScreenBuffer`` (pure: the snapshot tests call it).
enum ConsoleView {
    /// The frame for `state` at `now`; `routes` answers the reply route of a conversation.
    static func render(_ state: ConsoleState, now: Date = Date(), routes: (ConversationID) -> ReplyRoute? = { _ in nil }) -> ScreenBuffer {
        var buffer = ScreenBuffer(rows: state.rows, cols: state.cols)
        let layout = state.layout
        if layout.tooSmall {
            drawTooSmall(state, into: &buffer)
            return buffer
        }
        if let banner = layout.banner, let text = state.banner {
            buffer.fill(banner, style: .banner)
            buffer.put(" " + text, row: banner.row, col: banner.col, width: banner.width, style: .banner)
        }
        StatusBarView.draw(state, in: layout.statusBar, now: now, into: &buffer)
        ConversationListView.draw(state, in: layout.list, routes: routes, now: now, into: &buffer)
        for r in 0..<layout.divider.height { buffer.put("│", row: layout.divider.row + r, col: layout.divider.col, style: .dim) }
        MessageView.drawHeader(state, in: layout.header, route: state.selected.flatMap(routes), now: now, into: &buffer)
        switch state.overlay {
        case .help(let top)?: HelpView.draw(state, top: top, in: layout.messages, into: &buffer)
        case .search(let s)?: SearchView.draw(state, s, in: layout.messages, into: &buffer)
        case nil: MessageView.draw(state, in: layout.messages, into: &buffer)
        }
        buffer.fill(row: layout.rule.row, col: 0, width: layout.rule.width, char: "─", style: .dim)
        if layout.divider.height > 0 { buffer.put("┴", row: layout.rule.row, col: layout.divider.col, style: .dim) }
        ComposerView.draw(state, in: layout.composer, into: &buffer)
        HelpView.drawLine(state, in: layout.help, route: state.selected.flatMap(routes), into: &buffer)
        return buffer
    }

    /// A notice that fits in anything down to one cell.
    private static func drawTooSmall(_ state: ConsoleState, into buffer: inout ScreenBuffer) {
        let words = ["terminal too small", "need \(Layout.minCols)×\(Layout.minRows)", "now \(state.cols)×\(state.rows)", "^C quits"]
        for (i, w) in words.prefix(buffer.rows).enumerated() {
            buffer.put(w, row: i, col: 0, width: buffer.cols, style: i == 0 ? .warning : .dim)
        }
    }
}

extension ConsoleState {
    /// The layout for the current size and composer.
    var layout: Layout {
        Layout(rows: rows, cols: cols, composerLines: ComposerView.lineCount(self, cols: cols), banner: banner != nil)
    }
}
