import Foundation
import QQSession

/// The conversation list: two rows per conversation. First: kind (群 group, 私 private), name
/// (alias or short openid), unread count. Second: owner badge, a marker while the agent streams,
/// and the reply window (time and passive replies left, proactive, or closed).
enum ConversationListView {
    static let rowsPerItem = 2

    static func draw(_ state: ConsoleState, in rect: Rect, routes: (ConversationID) -> ReplyRoute?, now: Date,
                     into buffer: inout ScreenBuffer) {
        guard !rect.isEmpty else { return }
        let order = state.order
        if order.isEmpty {
            buffer.put(" waiting for", row: rect.row, col: rect.col, width: rect.width, style: .dim)
            buffer.put(" messages…", row: rect.row + 1, col: rect.col, width: rect.width, style: .dim)
            return
        }
        let capacity = max(1, rect.height / rowsPerItem)
        let selectedIndex = state.selected.flatMap { order.firstIndex(of: $0) } ?? 0
        let first = max(0, min(selectedIndex - capacity / 2, order.count - capacity))
        for (slot, id) in order.dropFirst(first).prefix(capacity).enumerated() {
            guard let c = state.conversations[id] else { continue }
            let row = rect.row + slot * rowsPerItem
            let isSelected = id == state.selected
            let base: Style = isSelected ? .selected : .normal
            buffer.fill(row: row, col: rect.col, width: rect.width, style: base)
            if row + 1 < rect.row + rect.height { buffer.fill(row: row + 1, col: rect.col, width: rect.width, style: base) }
            let unread = c.unread > 0 ? " \(c.unread > 999 ? "999+" : String(c.unread)) " : ""
            let unreadWidth = TextWidth.cells(unread)
            var x = buffer.put(id.isGroup ? " 群 " : " 私 ", row: row, col: rect.col, width: rect.width, style: isSelected ? .selected : .dim)
            x = buffer.put(state.name(of: id), row: row, col: x, width: rect.col + rect.width - x - unreadWidth,
                           style: isSelected ? .selected : .bold)
            if !unread.isEmpty {
                buffer.put(unread, row: row, col: rect.col + rect.width - unreadWidth, style: .reverse)
            }
            guard row + 1 < rect.row + rect.height else { continue }
            var line = StyledLine("    ", base)
            line.add(badge(c.owner), badgeStyle(c.owner))
            if c.turn != nil { line.add(" ▶", .agent) }
            if c.permission != nil { line.add(" ?", .warning) }
            if let route = routes(id) { line.add(" " + window(route, now: now), windowStyle(route, now: now)) }
            line.draw(into: &buffer, row: row + 1, col: rect.col, width: rect.width)
        }
    }

    /// `HUMAN`, `AGENT`, `DRAFT`.
    static func badge(_ owner: Owner) -> String { owner.rawValue.uppercased() }

    static func badgeStyle(_ owner: Owner) -> Style {
        switch owner {
        case .human: return .human
        case .agent: return .agent
        case .draft: return .draft
        }
    }

    /// `04:12 4/5`, `proactive`, `closed`.
    static func window(_ route: ReplyRoute, now: Date) -> String {
        switch route {
        case .passive(_, let ends, let left), .passiveEvent(_, let ends, let left):
            let s = max(0, Int(ends.timeIntervalSince(now)))
            return String(format: "%02d:%02d %d/5", s / 60, s % 60, left)
        case .proactive: return "proactive"
        case .refused: return "closed"
        }
    }

    static func windowStyle(_ route: ReplyRoute, now: Date) -> Style {
        switch route {
        case .passive(_, let ends, let left), .passiveEvent(_, let ends, let left):
            // Urgent: under a minute or one reply left.
            return ends.timeIntervalSince(now) < 60 || left <= 1 ? .warning : .ok
        case .proactive: return .dim
        case .refused: return .error
        }
    }
}
