import CNcurses
import Foundation

typealias CWindow = UnsafeMutablePointer<WINDOW>

/// The curses screen: opened and used on the UI thread only. It reads keys, copies a
/// ``ScreenBuffer`` out (ncurses sends only the cells that changed), and always restores the
/// terminal in ``close()``.
final class Terminal {
    /// Why the terminal could not be opened.
    struct OpenError: Error, CustomStringConvertible {
        var description: String
    }

    private let screen: OpaquePointer
    private let window: CWindow
    private let output: UnsafeMutablePointer<FILE>
    /// The file descriptors it reads keys from and draws to (stdin/stdout, or a benchmark's pty).
    let inputFD: Int32
    let outputFD: Int32
    private var isOpen = true
    private var attributes: [Style: attr_t] = [:]

    private init(screen: OpaquePointer, window: CWindow, output: UnsafeMutablePointer<FILE>, inputFD: Int32, outputFD: Int32) {
        self.screen = screen
        self.window = window
        self.output = output
        self.inputFD = inputFD
        self.outputFD = outputFD
    }

    /// True when stdin and stdout are a terminal (the console can run).
    static var isInteractive: Bool { isatty(0) == 1 && isatty(1) == 1 }

    /// Opens the terminal on stdin/stdout (newterm: a missing or unknown terminal is an error, not an exit).
    static func open(inputFD: Int32 = 0, outputFD: Int32 = 1) throws -> Terminal {
        guard isatty(inputFD) == 1, isatty(outputFD) == 1 else {
            throw OpenError(description: "the console needs a terminal on stdin and stdout (for a headless session use `qqtui serve`)")
        }
        guard let output = fdopen(outputFD, "w"), let input = fdopen(inputFD, "r") else {
            throw OpenError(description: "cannot open the terminal")
        }
        guard let screen = newterm(nil, output, input), let window = cn_stdscr() else {
            let term = ProcessInfo.processInfo.environment["TERM"] ?? "(not set)"
            throw OpenError(description: "cannot use the terminal type TERM=\(term) (is its terminfo installed?)")
        }
        let terminal = Terminal(screen: screen, window: window, output: output, inputFD: inputFD, outputFD: outputFD)
        raw()            // Ctrl-C, Ctrl-Z and Ctrl-\ arrive as keys (a clean quit, never a torn screen)
        noecho()
        nonl()
        keypad(window, true)
        nodelay(window, true)
        set_escdelay(25)
        terminal.setUpColours()
        // Bracketed paste: a pasted block arrives marked, so its line breaks are text, not Enter.
        _ = fputs("\u{1B}[?2004h", output)
        fflush(output)
        return terminal
    }

    private func setUpColours() {
        var pairs: [Style: Int16] = [:]
        // NO_COLOR (no-color.org): set and not empty, the console uses attributes only.
        let noColor = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
        if has_colors(), !noColor {
            start_color()
            use_default_colors()
            let table: [(Style, Int16, Int16)] = [
                (.human, Int16(COLOR_GREEN), -1), (.ok, Int16(COLOR_GREEN), -1), (.agent, Int16(COLOR_MAGENTA), -1),
                (.draft, Int16(COLOR_YELLOW), -1), (.warning, Int16(COLOR_YELLOW), -1), (.error, Int16(COLOR_RED), -1),
                (.accent, Int16(COLOR_CYAN), -1), (.banner, Int16(COLOR_BLACK), Int16(COLOR_YELLOW)),
                (.member1, Int16(COLOR_CYAN), -1), (.member2, Int16(COLOR_BLUE), -1), (.member3, Int16(COLOR_YELLOW), -1),
                (.member4, Int16(COLOR_GREEN), -1), (.member5, Int16(COLOR_MAGENTA), -1),
                (.highlight, Int16(COLOR_BLACK), Int16(COLOR_CYAN)),
            ]
            for (i, entry) in table.enumerated() {
                init_pair(Int16(i + 1), entry.1, entry.2)
                pairs[entry.0] = Int16(i + 1)
            }
        }
        for style in Style.allCases {
            var a: attr_t = cn_a_normal()
            switch style {
            case .normal: break
            case .bold: a = cn_a_bold()
            case .dim: a = cn_a_dim()
            case .reverse, .bar: a = cn_a_reverse()
            case .highlight: a = pairs[.highlight] == nil ? cn_a_reverse() : cn_a_normal()
            case .member3, .member5: a = cn_a_bold()
            case .selected: a = cn_a_reverse() | cn_a_bold()
            case .agent, .error: a = cn_a_bold()
            case .banner: a = pairs[.banner] == nil ? cn_a_reverse() : cn_a_bold()
            default: break
            }
            if let pair = pairs[style] { a |= cn_color_pair(Int32(pair)) }
            attributes[style] = a
        }
    }

    /// The terminal's size now.
    var size: (rows: Int, cols: Int) {
        var r: Int32 = 0, c: Int32 = 0
        cn_getmaxyx(window, &r, &c)
        return (Int(r), Int(c))
    }

    /// Everything typed since the last call (non-blocking).
    func read() -> [RawInput] {
        var input: [RawInput] = []
        var ch: wint_t = 0
        while input.count < 4096 {
            let r = wget_wch(window, &ch)
            if r == ERR { break }
            if r == KEY_CODE_YES {
                if let key = key(Int32(ch)) { input.append(.key(key)) }
            } else {
                input.append(.scalar(UInt32(ch)))
            }
        }
        return input
    }

    private func key(_ code: Int32) -> Key? {
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_BTAB: return .backTab
        case KEY_ENTER: return .enter
        case KEY_RESIZE:
            let s = size
            return .resize(rows: s.rows, cols: s.cols)
        default:
            for n in 1...12 where code == cn_key_f(Int32(n)) { return .function(n) }
            return nil
        }
    }

    /// Takes the terminal's new size (after SIGWINCH): ncurses then reports KEY_RESIZE.
    func resizeFromTTY() {
        var r: Int32 = 0, c: Int32 = 0
        if cn_tty_size(outputFD, &r, &c) == 0, r > 0, c > 0 { resizeterm(r, c) }
    }

    /// Copies `buffer` to the screen.
    func present(_ buffer: ScreenBuffer) {
        werase(window)
        let (rows, cols) = size
        for row in 0..<min(rows, buffer.rows) {
            var col = 0
            while col < min(cols, buffer.cols) {
                let style = buffer[row, col].style
                var text = ""
                let start = col
                while col < min(cols, buffer.cols), buffer[row, col].style == style {
                    text += buffer[row, col].text
                    col += 1
                }
                put(text, row: row, col: start, style: style)
            }
        }
        if let cursor = buffer.cursor, cursor.row < rows, cursor.col < cols {
            curs_set(1)
            wmove(window, Int32(cursor.row), Int32(cursor.col))
        } else {
            curs_set(0)
        }
        wnoutrefresh(window)
        doupdate()
    }

    private func put(_ text: String, row: Int, col: Int, style: Style) {
        let attr = attributes[style] ?? cn_a_normal()
        if attr != cn_a_normal() { cn_attr_on(window, attr) }
        var wide = text.unicodeScalars.map { wchar_t(truncatingIfNeeded: $0.value) } + [0]
        mvwaddwstr(window, Int32(row), Int32(col), &wide)
        if attr != cn_a_normal() { cn_attr_off(window, attr) }
    }

    /// Rings the terminal bell.
    func bell() { beep() }

    /// Repaints every cell at the next present (Ctrl-L, after a resize).
    func invalidate() { clearok(cn_curscr(), true) }

    /// Restores the terminal. Safe to call twice.
    func close() {
        guard isOpen else { return }
        isOpen = false
        curs_set(1)
        endwin()
        _ = fputs("\u{1B}[?2004l", output)
        fflush(output)
        delscreen(screen)
    }
}
