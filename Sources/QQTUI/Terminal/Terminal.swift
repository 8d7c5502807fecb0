import CNcurses
import Foundation

typealias CWindow = UnsafeMutablePointer<WINDOW>

/// The curses screen: opened and used on the UI thread only. It reads the terminal's bytes (curses
/// draws; the keys are read in blocks and decoded by ``TerminalInputParser``), copies a
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
    private var block = [UInt8](repeating: 0, count: 16_384)

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
        keypad(window, true)   // the keypad in application mode: its keys arrive as SS3 sequences
        typeahead(-1)          // the console reads the input itself: curses must not look at it
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

    /// The bytes the terminal sent since the last call, up to 64 KiB (non-blocking: empty when none).
    func read() -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < 65_536 {
            var fd = pollfd(fd: inputFD, events: Int16(POLLIN), revents: 0)
            guard poll(&fd, 1, 0) > 0, fd.revents & Int16(POLLIN) != 0 else { break }
            let n = Glibc.read(inputFD, &block, block.count)
            if n > 0 {
                bytes += block[0..<n]
            } else if n < 0, errno == EINTR {
                continue
            } else {
                break   // the end of input or an error: the loop's poll sees the hang-up
            }
        }
        return bytes
    }

    /// Takes the terminal's new size (after SIGWINCH) and gives it; nil when the terminal does not say.
    func resizeFromTTY() -> (rows: Int, cols: Int)? {
        var r: Int32 = 0, c: Int32 = 0
        guard cn_tty_size(outputFD, &r, &c) == 0, r > 0, c > 0 else { return nil }
        resizeterm(r, c)
        return size
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
