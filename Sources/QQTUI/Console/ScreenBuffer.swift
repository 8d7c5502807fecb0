/// What the console wants on screen: a grid of cells, each one scalar cluster (or the right half of a
/// wide glyph) with a style. Views draw into it; the terminal copies it out; tests read it as text.
///
/// Every write is clipped to the grid and to the width it is given, and nothing that could move the
/// cursor or change the terminal's state gets in: unsafe scalars become `�`.
struct ScreenBuffer: Sendable {
    /// One cell.
    struct Cell: Sendable, Hashable {
        /// The text shown in the cell; "" for the right half of a wide glyph.
        var text: String
        var style: Style
        static let blank = Cell(text: " ", style: .normal)
    }

    let rows: Int
    let cols: Int
    private(set) var cells: [Cell]
    /// Where the terminal cursor goes (the composer), nil to hide it.
    var cursor: (row: Int, col: Int)?

    /// A blank grid (negative sizes count as 0).
    init(rows: Int, cols: Int) {
        self.rows = max(0, rows)
        self.cols = max(0, cols)
        cells = Array(repeating: .blank, count: self.rows * self.cols)
    }

    /// The cell at (row, col).
    subscript(row: Int, col: Int) -> Cell { cells[row * cols + col] }

    /// Writes `text` from (row, col) in at most `width` cells (default: to the right edge) and
    /// returns the column after it. A wide glyph that does not fit whole is replaced by a space.
    @discardableResult
    mutating func put(_ text: String, row: Int, col: Int, width: Int? = nil, style: Style = .normal) -> Int {
        guard row >= 0, row < rows, col < cols else { return col }
        let limit = min(cols, col + max(0, width ?? (cols - col)))
        var x = max(0, col)
        for scalar in text.unicodeScalars {
            let safe = TextSanitizer.isSafe(scalar) ? scalar : "\u{FFFD}"
            let w = TextWidth.cells(safe)
            if w == 0 {
                // A combining mark or joiner joins the glyph before it (never a cell of its own).
                if x > col, x - 1 < limit {
                    var back = x - 1
                    while back > 0, cells[row * cols + back].text.isEmpty { back -= 1 }
                    cells[row * cols + back].text.unicodeScalars.append(safe)
                }
                continue
            }
            if x + w > limit {
                while x < limit { cells[row * cols + x] = Cell(text: " ", style: style); x += 1 }
                break
            }
            cells[row * cols + x] = Cell(text: String(safe), style: style)
            if w == 2 { cells[row * cols + x + 1] = Cell(text: "", style: style) }
            x += w
        }
        return x
    }

    /// Fills `width` cells of a row from `col` with `char` in `style`.
    mutating func fill(row: Int, col: Int, width: Int, char: Character = " ", style: Style = .normal) {
        guard row >= 0, row < rows else { return }
        let end = min(cols, col + width)
        var x = max(0, col)
        while x < end { cells[row * cols + x] = Cell(text: String(char), style: style); x += 1 }
    }

    /// Fills a rectangle.
    mutating func fill(_ rect: Rect, style: Style = .normal) {
        for r in rect.row..<(rect.row + max(0, rect.height)) { fill(row: r, col: rect.col, width: rect.width, style: style) }
    }

    /// One row as text (wide glyphs once, trailing blanks kept).
    func line(_ row: Int) -> String {
        guard row >= 0, row < rows else { return "" }
        return (0..<cols).map { cells[row * cols + $0].text }.joined()
    }

    /// The whole grid as text, one line per row, trailing blanks trimmed: the form snapshot tests compare.
    var snapshot: String {
        (0..<rows).map { r in
            var s = line(r)
            while s.last == " " { s.removeLast() }
            return s
        }.joined(separator: "\n")
    }
}
