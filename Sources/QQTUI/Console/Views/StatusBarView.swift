import Foundation
import QQSession

/// The top bar: bot, gateway state (connecting / READY s= hb / resuming / reconnecting n/30 /
/// OFFLINE: reason), the agent backend, and the latest error or note.
enum StatusBarView {
    static func draw(_ state: ConsoleState, in rect: Rect, now: Date, into buffer: inout ScreenBuffer) {
        guard !rect.isEmpty else { return }
        buffer.fill(rect, style: .bar)
        let g = state.gateway
        var left = " qqtui"
        if let name = g.botName, !name.isEmpty { left += " · " + TextSanitizer.line(name) }
        var x = buffer.put(left + " · ", row: rect.row, col: rect.col, width: rect.width, style: .bar)
        let phaseStyle: Style
        switch g.phase {
        case .ready: phaseStyle = .ok
        case .offline: phaseStyle = .error
        case .reconnecting: phaseStyle = .warning
        default: phaseStyle = .bar
        }
        if let attach = state.attach, !attach.connected {
            x = buffer.put("reconnecting to serve…", row: rect.row, col: x, width: rect.col + rect.width - x, style: .warning)
        } else {
            x = buffer.put(TextSanitizer.line(g.summary), row: rect.row, col: x, width: rect.col + rect.width - x, style: phaseStyle)
            if let attach = state.attach {
                x = buffer.put(" · attached to serve, pid \(attach.pid)", row: rect.row, col: x, width: rect.col + rect.width - x, style: .bar)
            }
        }
        // The totals first (they matter most), then the agent backend when there is room.
        let waiting = state.waitingCount, unread = state.unreadTotal
        let totals = " " + (waiting > 0 ? "⏳\(waiting) waiting · " : "") + "\(unread) unread "
        let agent = "· agent: " + (state.agentName.map(TextSanitizer.line) ?? "none") + " "
        let right = rect.col + rect.width
        var noteEnd = right
        let totalsWidth = TextWidth.cells(totals), agentWidth = TextWidth.cells(agent)
        if right - x > totalsWidth + agentWidth + 4 {
            buffer.put(agent, row: rect.row, col: right - agentWidth, style: .bar)
            noteEnd = right - agentWidth
        }
        if noteEnd - x > totalsWidth + 2 {
            buffer.put(totals, row: rect.row, col: noteEnd - totalsWidth, style: waiting > 0 ? .warning : .bar)
            noteEnd -= totalsWidth
        }
        if let note = state.note, note.until > now, noteEnd - x > 6 {
            let style: Style = note.level == .error ? .error : note.level == .warning ? .warning : .bar
            buffer.put("  " + note.text, row: rect.row, col: x, width: noteEnd - x, style: style)
        }
    }
}
