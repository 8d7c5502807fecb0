import QQSession
import Synchronization

/// The key line at the bottom (in context) and the full help (F1 or `/help`): wrapped to any
/// width, scrolled with Up/Down/PgUp/PgDn.
enum HelpView {
    static func drawLine(_ state: ConsoleState, in rect: Rect, route: ReplyRoute?, into buffer: inout ScreenBuffer) {
        guard !rect.isEmpty else { return }
        let k = state.keys
        let drafts = state.waitingDrafts
        let draftsNote = drafts > 0 ? " · \(drafts) more draft\(drafts == 1 ? "" : "s") (\(k.name(.drafts)))" : ""
        var style: Style = .dim
        let text: String
        if case .search = state.overlay {
            text = "Up/Down choose · Enter opens at the message · Esc closes"
        } else if case .help = state.overlay {
            text = "Up/Down/PgUp/PgDn scroll · Esc or \(k.name(.help)) closes"
        } else if state.confirmingQuit {
            text = "Ctrl-C again quits and loses the unsent text · any other key stays"
            style = .warning
        } else if let parts = parts(state), parts > 1 {
            // A long text goes as several QQ messages: say so before Enter, with what it costs.
            var t = "Enter sends this as \(parts) QQ messages"
            if let route, route.isPassive, case .passive(_, _, let left) = route { t += ": \(parts) passive replies of \(left) left" }
            else if let route, case .passiveEvent(_, _, let left) = route { t += ": \(parts) passive replies of \(left) left" }
            text = t
            style = .warning
        } else if state.composerHoldsDraft {
            text = (state.draftEngaged
                ? "Enter sends your edit of the draft · Esc drops it"
                : "Enter sends the draft · ←/→ edit it · typing starts your own reply · Esc drops it") + draftsNote
        } else if drafts > 0 {
            text = "\(drafts) draft\(drafts == 1 ? "" : "s") waiting: \(k.name(.drafts)) shows \(drafts == 1 ? "it" : "them") · Enter sends your text · \(k.name(.help)) help"
            style = .draft
        } else if state.current?.turn != nil {
            text = "\(k.name(.takeback)) take back (stops the agent now) · Enter send · PgUp/PgDn scroll · \(k.name(.help)) help"
        } else if state.current?.owner == .human || state.current == nil {
            text = "Tab next · Enter send · \(k.name(.handoff)) hand to agent · \(k.name(.next)) next waiting · / cmds · \(k.name(.help)) help"
        } else {
            text = "\(k.name(.takeback)) take back · Enter send (takes it back) · \(k.name(.next)) next waiting · / commands · \(k.name(.help)) help"
        }
        buffer.put(" " + text, row: rect.row, col: rect.col, width: rect.width, style: style)
    }

    /// How many QQ messages the composer's text goes as (nil for commands and empty text).
    static func parts(_ state: ConsoleState) -> Int? {
        let text = state.composer.text
        let limit = state.settings.maxMessageLength
        guard text.utf16.count > limit / 2, state.composerHoldsDraft || !text.hasPrefix("/") else { return nil }
        // Drawn after every key: splitting a long paste again each time made typing it quadratic
        // (4.6 kB took over 20 s on a loaded machine). The last answer is kept.
        if let last = lastParts.withLock({ $0 }), last.limit == limit, last.text == text { return last.parts }
        let parts = TextSplitter.split(text, limit: limit).count
        lastParts.withLock { $0 = (text, limit, parts) }
        return parts
    }

    /// The composer text ``parts(_:)`` last split, and its answer.
    private static let lastParts = Mutex<(text: String, limit: Int, parts: Int)?>(nil)

    /// A help entry: a key (or command) and what it does; a nil key is a heading.
    typealias Entry = (key: String?, text: String)

    static func entries(_ keys: KeyBindings) -> [Entry] {
        let k = keys.name
        return [
            (nil, "Keys"),
            ("Tab / Shift-Tab, Up / Down", "next / previous conversation (passing by keeps it unread; Up/Down move in a composer of several lines)"),
            ("Enter", "send (a line starting with / is a command; // sends a /); on an empty composer, marks the conversation read"),
            ("Alt-Enter", "new line in the composer"),
            (k(.handoff), "hand the conversation to the agent (AGENT); also /handoff"),
            (k(.takeback), "take it back (HUMAN), also while the agent streams"),
            (k(.next), "open the conversation that has waited longest (⏳); also /next"),
            (k(.drafts), "show the next waiting draft (your own text is kept aside until the draft is sent or dropped)"),
            ("PgUp / PgDn", "scroll (older messages load from the store)"),
            ("Ctrl-A / Ctrl-E, Home / End", "line start / end (as in readline)"),
            ("Left/Right, Alt-B / Alt-F", "move by character / by word"),
            ("Ctrl-W, Alt-Backspace", "delete a word; Ctrl-U / Ctrl-K delete to line start / end"),
            ("Ctrl-P / Ctrl-N", "earlier / later lines you sent"),
            ("Esc", "drop the draft in the composer (only that one), clear a search mark, close this help"),
            (k(.help), "this help"),
            ("Ctrl-L", "repaint"),
            ("Ctrl-C", "quit (asks again when the composer holds unsent text)"),
            (nil, "Commands (Tab completes names, /goto and /canned)"),
            ("/handoff /takeback /draft", "hand over (AGENT), take back (HUMAN), let the agent draft for you (DRAFT)"),
            ("/next", "open the longest-waiting conversation"),
            ("/done", "the user needs no answer: stop showing the conversation as waiting"),
            ("/goto NAME", "open a conversation by alias, openid (a prefix is enough) or list number"),
            ("/find TEXT", "search this conversation; Enter opens at the message"),
            ("/search TEXT", "search every stored message"),
            ("/canned NAME", "put a canned reply ([canned] in the config) in the composer to edit and send"),
            ("/retry", "send the last text that failed here again"),
            ("/alias NAME", "name this conversation (empty: forget the name)"),
            ("/image PATH", "send a picture"),
            ("/file PATH [as KIND]", "send a file, video or SILK voice (KIND: image, video, voice, file; else from the name); big files upload in parts, with progress"),
            ("/recall [N | ID]", "take back from the user's chat the last message sent here (N: the N-th last; QQ allows 2 minutes)"),
            ("/allow N  /deny", "answer the agent's permission request"),
            ("/reconnect", "connect to the gateway again now"),
            ("/help  /quit", ""),
            (nil, "The list"),
            ("HUMAN AGENT DRAFT", "you answer · the agent answers (streams to QQ) · the agent drafts for you"),
            ("⏳ 3m", "the user has waited 3 minutes for an answer (until you or the agent answer, or /done)"),
            ("▶  ?  ✎", "the agent streams · asks permission · drafts wait"),
            ("04:12 4/5", "passive reply window: time and replies left; proactive; closed"),
            ("↑ 12 more · 3 waiting", "conversations above (↓ below) the rows shown, and how many of them wait"),
            (nil, "Messages"),
            ("@", "a group message that @-mentions the bot (dimmed text: group talk the bot only overheard)"),
            ("✓ … ✗ ⊘ ↶", "sent · sending · failed (/retry) · stopped by take-back · recalled (/recall)"),
        ]
    }

    /// The help as lines for `width` cells.
    static func lines(_ state: ConsoleState, width: Int) -> [StyledLine] {
        let width = max(10, width)
        let keyWidth = width >= 50 ? min(28, width / 3) : 0
        var out: [StyledLine] = []
        for entry in entries(state.keys) {
            guard let key = entry.key else {
                if !out.isEmpty { out.append(StyledLine()) }
                out.append(StyledLine(" " + entry.text, .bold))
                continue
            }
            if keyWidth > 0, TextWidth.cells(key) < keyWidth - 1 {
                let pieces = TextWrap.lines(entry.text, width: width - keyWidth - 3)
                for (i, piece) in pieces.enumerated() {
                    var line = StyledLine("  " + (i == 0 ? key : "") , .accent)
                    line.add(String(repeating: " ", count: max(1, keyWidth + 1 - TextWidth.cells(i == 0 ? key : ""))), .normal)
                    line.add(piece)
                    out.append(line)
                }
                if pieces.isEmpty { out.append(StyledLine("  " + key, .accent)) }
            } else {
                // Narrow: the key on its line, the text indented under it.
                for piece in TextWrap.lines(key, width: width - 2) { out.append(StyledLine("  " + piece, .accent)) }
                for piece in TextWrap.lines(entry.text, width: width - 6) { out.append(StyledLine("      " + piece)) }
            }
        }
        return out
    }

    static func lineCount(_ state: ConsoleState, width: Int) -> Int { lines(state, width: width).count }

    static func draw(_ state: ConsoleState, top: Int, in rect: Rect, into buffer: inout ScreenBuffer) {
        buffer.fill(rect)
        guard !rect.isEmpty else { return }
        let all = lines(state, width: rect.width)
        let first = max(0, min(top, all.count - rect.height + 1))
        let more = first + rect.height < all.count
        let shown = more ? rect.height - 1 : rect.height
        for (i, line) in all.dropFirst(first).prefix(shown).enumerated() {
            line.draw(into: &buffer, row: rect.row + i, col: rect.col, width: rect.width)
        }
        if more {
            buffer.put(" ↓ \(all.count - first - shown) more lines · PgDn", row: rect.row + rect.height - 1, col: rect.col,
                       width: rect.width, style: .reverse)
        }
    }
}
