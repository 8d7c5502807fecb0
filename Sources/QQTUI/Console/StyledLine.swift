/// One screen line made of styled runs of text.
struct StyledLine: Sendable, Equatable {
    /// A run of text in one style.
    struct Run: Sendable, Equatable {
        var text: String
        var style: Style
    }

    var runs: [Run] = []

    init(_ runs: [Run] = []) { self.runs = runs }

    /// A line of one run.
    init(_ text: String, _ style: Style = .normal) { runs = [Run(text: text, style: style)] }

    /// Appends a run.
    mutating func add(_ text: String, _ style: Style = .normal) { runs.append(Run(text: text, style: style)) }

    /// The plain text.
    var text: String { runs.map(\.text).joined() }

    /// Draws the line into `rect`'s row `row`, clipped to its width.
    func draw(into buffer: inout ScreenBuffer, row: Int, col: Int, width: Int) {
        var x = col
        for run in runs {
            let used = x - col
            guard used < width else { break }
            x = buffer.put(run.text, row: row, col: x, width: width - used, style: run.style)
        }
    }
}
