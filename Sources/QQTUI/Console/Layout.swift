/// Where each part of the console goes for a terminal size, computed in one place (nchat's idea:
/// separate views, one layout).
struct Layout: Equatable {
    /// Below this the console draws a "too small" notice instead.
    static let minCols = 40
    static let minRows = 8
    /// The composer grows to at most this many lines.
    static let maxComposerLines = 8

    var tooSmall = false
    var banner: Rect?
    var statusBar = Rect(row: 0, col: 0, height: 0, width: 0)
    var list = Rect(row: 0, col: 0, height: 0, width: 0)
    /// The vertical line between list and messages.
    var divider = Rect(row: 0, col: 0, height: 0, width: 0)
    var header = Rect(row: 0, col: 0, height: 0, width: 0)
    var messages = Rect(row: 0, col: 0, height: 0, width: 0)
    /// The horizontal line above the composer.
    var rule = Rect(row: 0, col: 0, height: 0, width: 0)
    var composer = Rect(row: 0, col: 0, height: 0, width: 0)
    var help = Rect(row: 0, col: 0, height: 0, width: 0)

    /// The layout of a `rows`×`cols` terminal with a composer of `composerLines` lines.
    init(rows: Int, cols: Int, composerLines: Int = 1, banner wantsBanner: Bool = false) {
        guard cols >= Self.minCols, rows >= Self.minRows else { tooSmall = true; return }
        var top = 0
        if wantsBanner, rows >= 14 {
            banner = Rect(row: 0, col: 0, height: 1, width: cols)
            top = 1
        }
        statusBar = Rect(row: top, col: 0, height: 1, width: cols)
        help = Rect(row: rows - 1, col: 0, height: 1, width: cols)
        // The composer never takes more than a third of the screen.
        let lines = max(1, min(composerLines, Self.maxComposerLines, (rows - top) / 3))
        composer = Rect(row: rows - 1 - lines, col: 0, height: lines, width: cols)
        rule = Rect(row: composer.row - 1, col: 0, height: 1, width: cols)
        let middleTop = top + 1
        let middleHeight = rule.row - middleTop
        let listWidth = cols >= 100 ? 30 : cols >= 80 ? 26 : cols >= 60 ? 20 : 14
        list = Rect(row: middleTop, col: 0, height: middleHeight, width: listWidth)
        divider = Rect(row: middleTop, col: listWidth, height: middleHeight, width: 1)
        let paneCol = listWidth + 1
        header = Rect(row: middleTop, col: paneCol, height: 1, width: cols - paneCol)
        // One blank column after the divider keeps text off the line.
        messages = Rect(row: middleTop + 1, col: paneCol + 1, height: middleHeight - 1, width: cols - paneCol - 1)
    }

    /// Text cells per composer line (after the `> ` prompt).
    var composerWidth: Int { max(1, composer.width - 2) }
}
