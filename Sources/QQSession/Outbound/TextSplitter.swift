import Foundation

/// Splits long text into parts the platform accepts: at most `limit` UTF-16 units each (the strictest
/// way a server might count, so a part is never too long however it counts), cut at line boundaries,
/// never inside a character or a fenced code block. A fenced block too long for one part is carried
/// over several parts, each closing the fence and the next reopening it with the same info string.
public enum TextSplitter {
    /// The platform's limit per message, in characters (qq-protocol.md §6.10).
    public static let defaultLimit = 2000

    static func length(_ s: Substring) -> Int { s.utf16.count }
    static func length(_ s: String) -> Int { s.utf16.count }

    /// `length(s) <= limit`, looking at no more than `limit + 1` UTF-16 units of `s`.
    static func fits(_ s: String, limit: Int) -> Bool {
        if s.utf8.count <= limit { return true }     // UTF-16 never needs more units than UTF-8
        var units = 0
        for _ in s.utf16 {
            units += 1
            if units > limit { return false }
        }
        return true
    }

    /// The first of ``pieces(of:limit:)`` of `s`, found by looking at its first `limit + 1`
    /// characters only (the cut falls within the first `limit` units either way).
    static func firstPiece(of s: String, limit: Int) -> String {
        pieces(of: String(s.prefix(limit + 1)), limit: limit).first ?? ""
    }

    /// The parts, in order; blank-only parts are dropped. Empty input gives no parts.
    public static func split(_ text: String, limit: Int = defaultLimit) -> [String] {
        let limit = max(limit, 16)
        if length(text) <= limit {
            return text.trimmingBlankEnds().isEmpty ? [] : [text]
        }
        var parts: [String] = []
        var current = ""
        func flush() {
            let part = current.trimmingTrailingNewlines()
            if !part.trimmingBlankEnds().isEmpty { parts.append(part) }
            current = ""
        }
        for unit in units(of: text, limit: limit) {
            if length(current) + length(unit) > limit { flush() }
            current += unit
        }
        flush()
        return parts
    }

    /// Lines outside fences, whole fenced blocks, and pieces of anything longer than `limit`.
    static func units(of text: String, limit: Int) -> [String] {
        var units: [String] = []
        var fence: (marker: String, opening: String, lines: [String])?
        for line in text.splitKeepingNewlines() {
            if var open = fence {
                open.lines.append(line)
                if isClosingFence(line, marker: open.marker) {
                    units.append(contentsOf: fencedUnits(opening: open.opening, body: Array(open.lines.dropLast()),
                                                         closing: line, limit: limit))
                    fence = nil
                } else {
                    fence = open
                }
            } else if let marker = openingFenceMarker(line) {
                fence = (marker, line, [])
            } else {
                units.append(contentsOf: pieces(of: line, limit: limit))
            }
        }
        if let open = fence {
            // An unclosed fence runs to the end of the text: close it so every part renders.
            units.append(contentsOf: fencedUnits(opening: open.opening, body: open.lines, closing: nil, limit: limit))
        }
        return units
    }

    /// A fenced block as one unit, or as several self-contained fenced units when it is too long.
    static func fencedUnits(opening: String, body: [String], closing: String?, limit: Int) -> [String] {
        let open = opening.hasSuffix("\n") ? opening : opening + "\n"
        let marker = openingFenceMarker(opening) ?? "```"
        let close = closing.map { $0.hasSuffix("\n") ? $0 : $0 + "\n" } ?? marker + "\n"
        let whole = open + body.joined() + close
        if length(whole) <= limit { return [whole] }
        let room = limit - length(open) - length(close)
        var units: [String] = []
        var chunk = ""
        for line in body {
            for piece in pieces(of: line, limit: max(room, 8)) {
                if !chunk.isEmpty, length(chunk) + length(piece) > room {
                    units.append(open + chunk + close)
                    chunk = ""
                }
                chunk += piece
            }
        }
        if !chunk.isEmpty || units.isEmpty { units.append(open + chunk + close) }
        return units
    }

    /// A line cut into pieces of at most `limit`, at a blank when there is one, never inside a character.
    static func pieces(of line: String, limit: Int) -> [String] {
        if length(line) <= limit { return [line] }
        var pieces: [String] = []
        var rest = Substring(line)
        while length(rest) > limit {
            var end = rest.startIndex
            var used = 0
            var lastBlank: String.Index?
            for index in rest.indices {
                let width = rest[index].utf16.count
                if used + width > limit { break }
                used += width
                end = rest.index(after: index)
                if rest[index].isWhitespace { lastBlank = end }
            }
            if let blank = lastBlank, rest.distance(from: rest.startIndex, to: blank) > 0,
               length(rest[rest.startIndex..<blank]) > limit / 2 {
                end = blank
            }
            if end == rest.startIndex { end = rest.index(after: end) }   // one character wider than limit
            pieces.append(String(rest[rest.startIndex..<end]))
            rest = rest[end...]
        }
        if !rest.isEmpty { pieces.append(String(rest)) }
        return pieces
    }

    /// "```" or "~~~" (or longer) when `line` opens a fence (up to 3 spaces of indent).
    static func openingFenceMarker(_ line: String) -> String? {
        let trimmed = line.drop { $0 == " " }
        guard line.count - trimmed.count <= 3, let first = trimmed.first, first == "`" || first == "~" else { return nil }
        let run = trimmed.prefix { $0 == first }
        guard run.count >= 3 else { return nil }
        if first == "`", trimmed.dropFirst(run.count).contains("`") { return nil }
        return String(run)
    }

    static func isClosingFence(_ line: String, marker: String) -> Bool {
        let trimmed = line.drop { $0 == " " }.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let first = marker.first, line.count - line.drop(while: { $0 == " " }).count <= 3 else { return false }
        return trimmed.count >= marker.count && trimmed.allSatisfy { $0 == first }
    }
}

extension String {
    /// Lines with their `\n` kept (the last may have none).
    func splitKeepingNewlines() -> [String] {
        var lines: [String] = []
        var current = ""
        for c in self {
            current.append(c)
            if c == "\n" || c == "\r\n" { lines.append(current); current = "" }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == "\r\n" { s = s.dropLast() }
        return String(s)
    }

    func trimmingBlankEnds() -> String {
        trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
