/// The key line at the bottom (in context) and the full list (F1 or `/help`).
enum HelpView {
    static func drawLine(_ state: ConsoleState, in rect: Rect, into buffer: inout ScreenBuffer) {
        guard !rect.isEmpty else { return }
        let text: String
        if case .search = state.overlay {
            text = "Up/Down choose · Enter opens the conversation · Esc closes"
        } else if state.overlay == .help {
            text = "Esc or F1 closes the help"
        } else if state.composerHoldsDraft {
            text = "Enter sends the draft · edit it freely · Esc drops it · ^T take back · F1 help"
        } else if state.current?.turn != nil {
            text = "^T take back (stops the agent now) · Enter send · PgUp/PgDn scroll · F1 help"
        } else if state.current?.owner == .human || state.current == nil {
            text = "Tab next · Enter send · ^A hand to agent · ^T take back · / commands · F1 help · ^C quit"
        } else {
            text = "^T take back · Enter send (takes it back) · Tab next · / commands · F1 help · ^C quit"
        }
        buffer.put(" " + text, row: rect.row, col: rect.col, width: rect.width, style: .dim)
    }

    /// The full list of keys and commands.
    static let lines: [String] = [
        "Keys",
        "  Tab / Shift-Tab, Up / Down   next / previous conversation",
        "  Enter                        send (a line starting with / is a command; // sends a /)",
        "  Alt-Enter                    new line in the composer",
        "  Ctrl-A                       hand the conversation to the agent (AGENT)",
        "  Ctrl-T                       take it back (HUMAN), also while the agent streams",
        "  PgUp / PgDn                  scroll (older messages load from the store)",
        "  Left/Right Home/End          move; Alt-B / Alt-F by word",
        "  Ctrl-W, Alt-Backspace        delete a word; Ctrl-U / Ctrl-K to line start / end",
        "  Ctrl-P / Ctrl-N              earlier / later lines you sent",
        "  Esc                          drop the agent's draft, close this help or search",
        "  Ctrl-L                       repaint;  Ctrl-C  quit",
        "Commands",
        "  /handoff  /takeback  /draft  hand over (AGENT), take back (HUMAN), agent drafts (DRAFT)",
        "  /alias NAME                  name this conversation (empty: forget the name)",
        "  /search TEXT                 search every stored message",
        "  /image PATH                  send a picture",
        "  /allow N  /deny              answer the agent's permission request",
        "  /reconnect                   connect to the gateway again now",
        "  /help  /quit",
        "Badges: HUMAN you answer · AGENT the agent answers (streams to QQ) · DRAFT it drafts for you",
        "Reply: passive · replies left · time left (msg_id window) / proactive / refused (why)",
    ]

    static func draw(in rect: Rect, into buffer: inout ScreenBuffer) {
        buffer.fill(rect)
        for (i, line) in lines.prefix(rect.height).enumerated() {
            buffer.put(" " + line, row: rect.row + i, col: rect.col, width: rect.width,
                       style: line.hasPrefix(" ") ? .normal : .bold)
        }
    }
}
