import Foundation
import QQSession

/// The message pane: a header (name, owner, streaming, the route a reply would take now) and the
/// messages from the bottom (or from where the operator scrolled), an agent's reply growing in place.
enum MessageView {
    static func drawHeader(_ state: ConsoleState, in rect: Rect, route: ReplyRoute?, now: Date, into buffer: inout ScreenBuffer) {
        guard !rect.isEmpty else { return }
        guard let c = state.current else {
            buffer.put(" no conversation", row: rect.row, col: rect.col, width: rect.width, style: .dim)
            return
        }
        // What the operator needs most stays when the pane is narrow: the reply window and the
        // owner; the kind goes first, then words, and the name is cut to what is left.
        var reply: [StyledLine.Run] = []
        if let route {
            let style: Style = route.isPassive ? ConversationListView.windowStyle(route, now: now) : (route == .proactive ? .warning : .error)
            let text = route.isPassive ? ConversationListView.window(route, now: now, budget: state.settings.budget(for: c.id))
                                       : route.summary(now: now)
            reply = [.init(text: " · reply ", style: .dim), .init(text: (route.isPassive ? "passive " : "") + text, style: style)]
            if cells(reply) + 24 > rect.width { reply = [.init(text: " · ", style: .dim), .init(text: text, style: style)] }
        }
        var middle: [StyledLine.Run] = [.init(text: c.id.isGroup ? " · group · " : " · private · ", style: .dim),
                                        .init(text: ConversationListView.badge(c.owner), style: ConversationListView.badgeStyle(c.owner))]
        let streaming = c.turn != nil ? middle.count : nil
        if streaming != nil { middle.append(.init(text: " streaming", style: .agent)) }
        // Other operators here (attached consoles): who types matters more than who looks.
        let others = state.othersIn(c.id, now: now)
        if !others.typing.isEmpty {
            middle.append(.init(text: " · " + others.typing.map(TextSanitizer.line).joined(separator: ", ") + " typing", style: .warning))
        } else if !others.viewing.isEmpty {
            middle.append(.init(text: " · " + others.viewing.map(TextSanitizer.line).joined(separator: ", ") + " here", style: .dim))
        }
        let name = " " + state.name(of: c.id)
        if TextWidth.cells(name) + cells(middle) + cells(reply) > rect.width {
            middle[0].text = " · "
            if let i = streaming { middle[i].text = " ▶" }
        }
        let room = max(4, rect.width - cells(middle) - cells(reply))
        var line = StyledLine(TextWidth.clip(name, to: room), .bold)
        line.runs += middle + reply
        line.draw(into: &buffer, row: rect.row, col: rect.col, width: rect.width)
    }

    private static func cells(_ runs: [StyledLine.Run]) -> Int { runs.reduce(0) { $0 + TextWidth.cells($1.text) } }

    /// Rows of a pane `height` tall left for messages once the footer has its lines: the permission
    /// request, and "more below" while scrolled (`scrolled`, else whether the conversation is now).
    static func messageRows(_ c: ConversationModel, height: Int, scrolled: Bool? = nil) -> Int {
        let footer = (c.permission != nil ? 1 : 0) + ((scrolled ?? (c.anchor != nil)) ? 1 : 0)
        return height - min(footer, max(0, height - 1))
    }

    static func draw(_ state: ConsoleState, in rect: Rect, into buffer: inout ScreenBuffer) {
        guard !rect.isEmpty else { return }
        guard let c = state.current else {
            let lines = state.order.isEmpty
                ? ["Waiting for the first message to the bot.", "Conversations appear on the left as users write."]
                : ["Tab or Up/Down picks a conversation."]
            for (i, text) in lines.enumerated() where i < rect.height {
                buffer.put(" " + text, row: rect.row + i, col: rect.col, width: rect.width, style: .dim)
            }
            return
        }
        var height = rect.height
        var footer: [StyledLine] = []
        if let p = c.permission {
            var line = StyledLine(" agent asks: " + TextSanitizer.line(p.title) + " — ", .warning)
            for (i, option) in p.options.enumerated() { line.add("/allow \(i + 1) \(TextSanitizer.line(option.name)) · ", .warning) }
            line.add("/deny", .warning)
            footer.append(line)
        }
        if c.anchor != nil {
            footer.append(StyledLine(c.newBelow > 0 ? " ↓ \(c.newBelow) new below · PgDn" : " ↓ more below · PgDn", .reverse))
        }
        height = messageRows(c, height: height)
        let scroller = MessageScroller(conversation: c, width: rect.width, state: state)
        var (lines, atTop) = scroller.visible(height: height, marking: c.highlight)
        if atTop, lines.count < height || c.anchor != nil {
            let hint = c.loadingOlder ? " loading older messages…" : c.hasOlder && c.requestedFirstPage ? " ↑ PgUp for older messages" : ""
            if !hint.isEmpty {
                if lines.count >= height, !lines.isEmpty { lines.removeLast() }
                lines.insert(StyledLine(hint, .dim), at: 0)
            }
        }
        if c.entries.isEmpty, lines.isEmpty {
            lines = [StyledLine(c.requestedFirstPage && c.hasOlder ? " loading…" : " no messages yet", .dim)]
        }
        for (i, line) in lines.prefix(height).enumerated() {
            line.draw(into: &buffer, row: rect.row + i, col: rect.col, width: rect.width)
        }
        for (i, line) in footer.enumerated() {
            let row = rect.row + rect.height - footer.count + i
            guard row >= rect.row else { continue }
            buffer.fill(row: row, col: rect.col, width: rect.width, style: line.runs.first?.style ?? .normal)
            line.draw(into: &buffer, row: row, col: rect.col, width: rect.width)
        }
    }
}
