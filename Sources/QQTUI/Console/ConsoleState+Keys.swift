import Foundation
import QQSession

extension ConsoleState {
    /// One key press.
    mutating func handle(_ key: Key, now: Date) -> [Effect] {
        if case .resize(let r, let c) = key {
            rows = max(0, r)
            cols = max(0, c)
            return [.redraw]
        }
        if key == .ctrl("c") { return quit() }
        if key == .ctrl("l") { return [.redraw] }
        if layout.tooSmall { return [] }
        if let overlay, let effects = handleOverlay(overlay, key) { return effects }
        switch key {
        case .enter: return submit(now: now)
        case .altEnter: composer.insert("\n")
        case .text(let s), .paste(let s): composer.insert(s); historyPosition = nil
        case .alt(let c):
            switch c {
            case "b": composer.wordLeft()
            case "f": composer.wordRight()
            default: break
            }
        case .backspace: composer.backspace()
        case .delete, .ctrl("d"): composer.deleteForward()
        case .left, .ctrl("b"): composer.left()
        case .right, .ctrl("f"): composer.right()
        case .home: composer.home()
        case .end, .ctrl("e"): composer.end()
        case .ctrl("w"), .altBackspace: composer.deleteWordBackward()
        case .ctrl("u"): composer.killToLineStart()
        case .ctrl("k"): composer.killToLineEnd()
        case .ctrl("p"): recallHistory(-1)
        case .ctrl("n"): recallHistory(1)
        case .tab, .down: return cycle(1)
        case .backTab, .up: return cycle(-1)
        case .pageUp: return scroll(up: true)
        case .pageDown: return scroll(up: false)
        case .ctrl("a"): return setOwner(.agent, now: now)
        case .ctrl("t"): return setOwner(.human, now: now)
        case .escape: return escape(now: now)
        case .function(1): overlay = .help
        default: break
        }
        return []
    }

    private mutating func handleOverlay(_ overlay: Overlay, _ key: Key) -> [Effect]? {
        switch overlay {
        case .help:
            // Any key closes the help; keys that do something also do it.
            self.overlay = nil
            return key == .escape || key == .function(1) || key == .enter ? [] : nil
        case .search(var s):
            switch key {
            case .escape: self.overlay = nil
            case .up: s.selected = max(0, s.selected - 1); self.overlay = .search(s)
            case .down: s.selected = min(max(0, (s.results?.count ?? 1) - 1), s.selected + 1); self.overlay = .search(s)
            case .enter:
                self.overlay = nil
                if let results = s.results, s.selected < results.count {
                    let target = results[s.selected].conversation
                    ensure(target, at: results[s.selected].createdAt)
                    return select(target)
                }
            default: return nil
            }
            return []
        }
    }

    private mutating func escape(now: Date) -> [Effect] {
        if composerHoldsDraft, let id = selected {
            composerHoldsDraft = false
            composer = Composer()
            settleDraftEntries(in: id)
            say("draft dropped", now: now)
            return [.discardDraft(id)]
        }
        if note != nil { note = nil }
        return []
    }

    /// Marks the conversation's waiting drafts as handled.
    mutating func settleDraftEntries(in id: ConversationID) {
        guard let c = conversations[id] else { return }
        for entry in c.entries.suffix(50) where entry.status == .draft {
            conversations[id]?.update(entry.uid) { $0.setStatus(.draftHandled) }
        }
    }

    private mutating func recallHistory(_ step: Int) {
        guard !history.isEmpty else { return }
        let next = (historyPosition ?? history.count) + step
        if next >= history.count {
            historyPosition = nil
            composer = Composer()
        } else {
            historyPosition = max(0, next)
            composer.set(history[historyPosition ?? 0])
        }
    }

    /// Hands the conversation on screen to the agent, takes it back, or sets DRAFT.
    mutating func setOwner(_ owner: Owner, now: Date) -> [Effect] {
        guard let id = selected else {
            say("pick a conversation first (Tab)", .warning, now: now)
            return []
        }
        if owner != .human, agentName == nil {
            say("no agent is configured: add an [agent] table to the config (see `qqtui config example`)", .warning, now: now)
            return []
        }
        return [.setOwner(owner, id)]
    }

    private mutating func scroll(up: Bool) -> [Effect] {
        guard let id = selected, var c = conversations[id] else { return [] }
        let rect = layout.messages
        let page = max(1, rect.height - 2)
        let scroller = MessageScroller(conversation: c, width: rect.width, state: self)
        guard let bottom = scroller.bottom else {
            return c.hasOlder && !c.loadingOlder ? loadOlder(id) : []
        }
        var effects: [Effect] = []
        if up {
            // The rows that show messages, now and once scrolled (the "more below" line takes one):
            // measured with the full pane, the first line of a conversation was never reached.
            let shown = MessageView.messageRows(c, height: rect.height)
            let shownScrolled = MessageView.messageRows(c, height: rect.height, scrolled: true)
            let (top, _) = scroller.up(bottom, by: shown - 1)
            let (newTop, hitTop) = scroller.up(top, by: page)
            let target = scroller.down(newTop, by: shownScrolled - 1) ?? newTop
            c.anchor = .init(uid: c.entries[target.entry].uid, line: target.line)
            if hitTop, c.hasOlder, !c.loadingOlder { effects = loadOlder(id); c.loadingOlder = true }
        } else if let target = scroller.down(bottom, by: page) {
            c.anchor = .init(uid: c.entries[target.entry].uid, line: target.line)
        } else {
            c.anchor = nil
            c.newBelow = 0
        }
        conversations[id] = c
        return effects
    }

    private mutating func loadOlder(_ id: ConversationID) -> [Effect] {
        conversations[id]?.loadingOlder = true
        return [.loadPage(id, before: conversations[id]?.oldestStoredUID)]
    }
}
