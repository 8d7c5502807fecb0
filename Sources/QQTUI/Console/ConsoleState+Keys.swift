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
        if key == .ctrl("c") { return interrupt(now: now) }
        if confirmingQuit {
            confirmingQuit = false
            if note?.level == .warning { note = nil }
        }
        if key == .ctrl("l") { return [.redraw] }
        if layout.tooSmall { return [] }
        if let overlay, let effects = handleOverlay(overlay, key, now: now) { return effects }
        if let action = keys.action(for: key) { return perform(action, now: now) }
        // Moving through the list only passes by; anything else acts on the conversation on screen.
        let passing: Set<Key> = [.tab, .backTab, .up, .down, .escape]
        let effects = passing.contains(key) ? [] : markOpened()
        switch key {
        case .enter:
            return effects + submit(now: now)
        case .altEnter:
            typing("\n")
        case .text(let s), .paste(let s):
            typing(s)
        case .alt(let c):
            editDraft()
            switch c {
            case "b": composer.wordLeft()
            case "f": composer.wordRight()
            default: break
            }
        case .backspace: editDraft(); composer.backspace()
        case .delete, .ctrl("d"): editDraft(); composer.deleteForward()
        case .left, .ctrl("b"): editDraft(); composer.left()
        case .right, .ctrl("f"): editDraft(); composer.right()
        case .home, .ctrl("a"): editDraft(); composer.home()
        case .end, .ctrl("e"): editDraft(); composer.end()
        case .ctrl("w"), .altBackspace: editDraft(); composer.deleteWordBackward()
        case .ctrl("u"): editDraft(); composer.killToLineStart()
        case .ctrl("k"): editDraft(); composer.killToLineEnd()
        case .ctrl("p"): recallHistory(-1)
        case .ctrl("n"): recallHistory(1)
        case .tab:
            if let completed = complete(now: now) { return effects + completed }
            return cycle(1)
        case .backTab: return cycle(-1)
        case .up, .down:
            // In a composer of several lines the arrows move in it (reading a draft does not make it
            // the operator's to edit); past its first or last line, through the list.
            if composer.layout(width: layout.composerWidth).lines.count > 1,
               composer.moveLine(key == .up ? -1 : 1, width: layout.composerWidth) {
                return markOpened()
            }
            return cycle(key == .down ? 1 : -1)
        case .pageUp: return effects + scroll(up: true)
        case .pageDown: return effects + scroll(up: false)
        case .escape: return escape(now: now)
        default: break
        }
        // A draft edited down to nothing is not the operator's text: it goes back to the queue as
        // the agent wrote it, and what they type next is their own.
        if let draft = composerDraft, let id = selected, composer.isEmpty {
            conversations[id]?.drafts.insert(draft, at: 0)
            composerDraft = nil
            draftEngaged = false
            if let parked = parkedComposer { composer = parked; parkedComposer = nil }
        }
        return effects
    }

    /// What a bound key does (`[keys]`).
    mutating func perform(_ action: KeyBindings.Action, now: Date) -> [Effect] {
        switch action {
        case .handoff: return markOpened() + setOwner(.agent, now: now)
        case .takeback: return markOpened() + setOwner(.human, now: now)
        case .drafts: return markOpened() + showDraft(now: now)
        case .next: return nextWaiting(now: now)
        case .help: overlay = .help(top: 0); return []
        }
    }

    /// Ctrl-C: quits, but asks again while the composer holds unsent text.
    private mutating func interrupt(now: Date) -> [Effect] {
        let unsent = composerHoldsDraft || !composer.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            || parkedComposer != nil
        guard unsent, !confirmingQuit else { return quit() }
        confirmingQuit = true
        say("the composer holds unsent text: Ctrl-C again quits, any other key stays", .warning, now: now, seconds: 30)
        return []
    }

    /// Text typed or pasted. Over a draft the operator has not touched, it starts their own text and
    /// the draft waits: a draft never merges with what the operator typed.
    private mutating func typing(_ text: String) {
        if composerHoldsDraft, !draftEngaged { setDraftAside() }
        composer.insert(text)
        historyPosition = nil
    }

    /// An editing key over a draft: from now on the draft is the operator's to edit.
    private mutating func editDraft() {
        if composerHoldsDraft { draftEngaged = true }
    }

    private mutating func handleOverlay(_ overlay: Overlay, _ key: Key, now: Date) -> [Effect]? {
        switch overlay {
        case .help(let top):
            let page = max(1, layout.messages.height - 2)
            let last = max(0, HelpView.lineCount(self, width: layout.messages.width) - layout.messages.height + 1)
            switch key {
            case .up: self.overlay = .help(top: max(0, top - 1))
            case .down: self.overlay = .help(top: min(last, top + 1))
            case .pageUp: self.overlay = .help(top: max(0, top - page))
            case .pageDown, .text(" "): self.overlay = .help(top: min(last, top + page))
            case .home: self.overlay = .help(top: 0)
            case .end: self.overlay = .help(top: last)
            case .escape, .enter, .text("q"): self.overlay = nil
            default:
                if keys.action(for: key) == .help { self.overlay = nil; return [] }
                // Any other key closes the help and does what it does.
                self.overlay = nil
                return nil
            }
            return []
        case .search(var s):
            let count = s.results?.count ?? 0
            let page = max(1, layout.messages.height - 2)
            switch key {
            case .escape: self.overlay = nil
            case .up: s.selected = max(0, s.selected - 1); self.overlay = .search(s)
            case .down: s.selected = min(max(0, count - 1), s.selected + 1); self.overlay = .search(s)
            case .pageUp: s.selected = max(0, s.selected - page); self.overlay = .search(s)
            case .pageDown: s.selected = min(max(0, count - 1), s.selected + page); self.overlay = .search(s)
            case .home: s.selected = 0; self.overlay = .search(s)
            case .end: s.selected = max(0, count - 1); self.overlay = .search(s)
            case .enter:
                self.overlay = nil
                if let results = s.results, s.selected < results.count { return open(hit: results[s.selected]) }
            default:
                // Keys typed over the results never reach the composer behind them.
                if let action = keys.action(for: key), action != .drafts { self.overlay = nil; return perform(action, now: now) }
                say("Up/Down choose · Enter opens at the message · Esc closes the results", now: now)
            }
            return []
        }
    }

    /// Opens a search hit's conversation scrolled to the hit, which is marked.
    mutating func open(hit: StoredMessage) -> [Effect] {
        let target = hit.conversation
        ensure(target, at: hit.createdAt)
        let firstVisit = conversations[target]?.requestedFirstPage == false
        conversations[target]?.requestedFirstPage = true   // the pages come with the jump
        var effects = select(target)
        conversations[target]?.highlight = hit.uid
        if conversations[target]?.position(of: hit.uid) != nil {
            jumpToHighlight(in: target)
        } else {
            conversations[target]?.jumpPending = true
            effects.append(.loadThrough(target, uid: hit.uid, before: firstVisit ? nil : conversations[target]?.oldestStoredUID))
        }
        return effects
    }

    /// Scrolls so the highlighted message sits in the middle of the pane.
    mutating func jumpToHighlight(in id: ConversationID) {
        guard var c = conversations[id], let uid = c.highlight, let i = c.position(of: uid) else { return }
        c.jumpPending = false
        let rect = layout.messages
        let scroller = MessageScroller(conversation: c, width: rect.width, state: self)
        let end = MessageScroller.Position(entry: i, line: max(0, wraps.count(c.entries[i], width: rect.width, state: self) - 1))
        let height = MessageView.messageRows(c, height: rect.height, scrolled: true)
        if let target = scroller.down(end, by: max(0, height / 2 - 1)) {
            c.anchor = .init(uid: c.entries[target.entry].uid, line: target.line)
        } else {
            c.anchor = nil
        }
        c.newBelow = 0
        conversations[id] = c
    }

    private mutating func escape(now: Date) -> [Effect] {
        if let draft = composerDraft, let id = selected {
            settleDraftEntry(draft.id, in: id)
            finishDraft()
            let left = waitingDrafts + (composerHoldsDraft ? 1 : 0)
            say(left > 0 ? "draft dropped · \(left) more waiting" : "draft dropped", now: now)
            return [.discardDraft(draft.id, id)]
        }
        if let id = selected, conversations[id]?.highlight != nil {
            conversations[id]?.highlight = nil
            return []
        }
        if note != nil { note = nil }
        return []
    }

    /// Shows the next waiting draft; the operator's own text is kept aside until it is sent or dropped.
    mutating func showDraft(now: Date) -> [Effect] {
        guard let id = selected else { say("pick a conversation first (Tab)", .warning, now: now); return [] }
        guard waitingDrafts > 0 else {
            say(composerHoldsDraft ? "no other draft is waiting" : "no draft is waiting here", now: now)
            return []
        }
        if let draft = composerDraft {
            // The one on screen goes to the back of the queue.
            var d = draft
            d.text = composer.text
            composerDraft = nil
            composer = Composer()
            conversations[id]?.drafts.append(d)
        } else if !composer.isEmpty {
            parkedComposer = composer
            composer = Composer()
        }
        loadPendingDraft()
        return []
    }

    /// Marks one draft's entry on screen as handled.
    mutating func settleDraftEntry(_ turn: UUID, in id: ConversationID) {
        conversations[id]?.update(MessageEntry.draftUID(turn)) { $0.setStatus(.draftHandled) }
    }

    private mutating func recallHistory(_ step: Int) {
        guard !history.isEmpty else { return }
        if composerHoldsDraft { setDraftAside() }
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
