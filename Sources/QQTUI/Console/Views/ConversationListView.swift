import Foundation
import QQSession

/// The conversation list: two rows per conversation. First: kind (群 group, 私 private), name
/// (alias or short openid), unread count. Second: list number, owner badge, how long the user has
/// waited (⏳), markers (▶ streaming, ? permission, ✎ drafts) and the reply window. With more
/// conversations than rows, the first and last rows count those out of sight (and the waiting ones).
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
        // More conversations than rows: a line above and below says how many are out of sight and
        // how many of those wait for an answer.
        let overflow = order.count * rowsPerItem > rect.height
        let top = overflow ? rect.row + 1 : rect.row
        let height = overflow ? rect.height - 2 : rect.height
        let capacity = max(1, height / rowsPerItem)
        let selectedIndex = state.selected.flatMap { order.firstIndex(of: $0) } ?? 0
        let first = max(0, min(selectedIndex - capacity / 2, order.count - capacity))
        if overflow {
            let above = order.prefix(first)
            let below = order.dropFirst(first + capacity)
            marker("↑", above, state, row: rect.row, rect: rect, into: &buffer)
            marker("↓", below, state, row: rect.row + rect.height - 1, rect: rect, into: &buffer)
        }
        for (slot, id) in order.dropFirst(first).prefix(capacity).enumerated() {
            guard let c = state.conversations[id] else { continue }
            let row = top + slot * rowsPerItem
            guard row < top + max(1, height) else { break }
            let isSelected = id == state.selected
            let base: Style = isSelected ? .selected : .normal
            buffer.fill(row: row, col: rect.col, width: rect.width, style: base)
            if row + 1 < top + height { buffer.fill(row: row + 1, col: rect.col, width: rect.width, style: base) }
            let unread = c.unread > 0 ? " \(c.unread > 999 ? "999+" : String(c.unread)) " : ""
            let unreadWidth = TextWidth.cells(unread)
            var x = buffer.put(id.isGroup ? " 群 " : " 私 ", row: row, col: rect.col, width: rect.width, style: isSelected ? .selected : .dim)
            x = buffer.put(state.name(of: id), row: row, col: x, width: rect.col + rect.width - x - unreadWidth,
                           style: isSelected ? .selected : .bold)
            if !unread.isEmpty {
                buffer.put(unread, row: row, col: rect.col + rect.width - unreadWidth, style: .reverse)
            }
            guard row + 1 < top + height else { continue }
            // The list number (for /goto), the owner, who waits and how long, the reply window.
            var line = StyledLine(number(first + slot + 1), isSelected ? .selected : .dim)
            line.add(badge(c.owner), badgeStyle(c.owner))
            if let since = c.waitingSince { line.add(" ⏳" + age(now.timeIntervalSince(since)), .warning) }
            if c.turn != nil { line.add(" ▶", .agent) }
            if c.permission != nil { line.add(" ?", .warning) }
            if !c.drafts.isEmpty || (isSelected && state.composerHoldsDraft) { line.add(" ✎", .draft) }
            if let route = routes(id) {
                line.add(" " + window(route, now: now, budget: state.settings.budget(for: id)), windowStyle(route, now: now))
            }
            line.draw(into: &buffer, row: row + 1, col: rect.col, width: rect.width)
        }
    }

    /// `↑ 12 more · 3 waiting` (blank when nothing is out of sight that way).
    private static func marker(_ arrow: String, _ ids: some Collection<ConversationID>, _ state: ConsoleState, row: Int,
                               rect: Rect, into buffer: inout ScreenBuffer) {
        guard !ids.isEmpty else { return }
        let waiting = ids.filter { state.conversations[$0]?.waitingSince != nil }.count
        let narrow = rect.width < 24
        var line = StyledLine(narrow ? " \(arrow)\(ids.count)" : " \(arrow) \(ids.count) more", .dim)
        if waiting > 0 { line.add(narrow ? " ⏳\(waiting)" : " · \(waiting) waiting", .warning) }
        line.draw(into: &buffer, row: row, col: rect.col, width: rect.width)
    }

    /// `  7 ` (right-aligned in four cells; wider numbers take what they need).
    static func number(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: " ", count: max(0, 3 - s.count)) + s + " "
    }

    /// `45s`, `12m`, `3h`, `2d`.
    static func age(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        if s < 86400 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
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

    /// `04:12 4/5` (time and replies left of `budget`), `proactive`, `closed`.
    static func window(_ route: ReplyRoute, now: Date, budget: Int) -> String {
        switch route {
        case .passive(_, let ends, let left), .passiveEvent(_, let ends, let left):
            let s = max(0, Int(ends.timeIntervalSince(now)))
            return String(format: "%02d:%02d %d/%d", s / 60, s % 60, left, max(left, budget))
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
