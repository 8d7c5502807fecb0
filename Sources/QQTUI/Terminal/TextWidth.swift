import CNcurses
import Foundation

/// Terminal cell widths, the way ncurses and the terminal count them (by Unicode scalar, via wcwidth).
enum TextWidth {
    /// Makes wcwidth answer for non-ASCII (in the "C" locale it returns -1 for CJK). Call once at start.
    @discardableResult
    static func ensureUTF8Locale() -> String {
        setlocale(LC_ALL, "")
        var codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        if codeset != "UTF-8" {
            setlocale(LC_ALL, "C.UTF-8")
            codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        }
        return codeset
    }

    /// Cells taken by one scalar (0 for combining marks and controls).
    static func cells(_ scalar: Unicode.Scalar) -> Int {
        if scalar.value < 0x7F { return scalar.value >= 0x20 ? 1 : 0 }
        return max(0, Int(cn_wcwidth(wchar_t(truncatingIfNeeded: scalar.value))))
    }

    /// Cells taken by `text`.
    static func cells(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + cells($1) }
    }

    /// The longest prefix of `text` that fits in `width` cells, with `…` when cut.
    static func clip(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        if cells(text) <= width { return text }
        var out = String.UnicodeScalarView()
        var used = 0
        for scalar in text.unicodeScalars {
            let w = cells(scalar)
            if used + w > width - 1 { break }
            out.append(scalar)
            used += w
        }
        return String(out) + "…"
    }

    /// The terminal's column count when stdout is a terminal.
    static func terminalColumns(fd: Int32 = 1) -> Int? {
        var rows: Int32 = 0, cols: Int32 = 0
        guard isatty(fd) == 1, cn_tty_size(fd, &rows, &cols) == 0, cols > 0 else { return nil }
        return Int(cols)
    }
}
