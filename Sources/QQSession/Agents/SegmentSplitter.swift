import Foundation

/// Splits a byte stream at form-feed lines: a line holding only `\f` is a segment break (the reply
/// pauses, e.g. for a tool call), everything else is text. Bytes are passed on as soon as they cannot
/// be the start of such a line, so text is never held back longer than one partial line.
public struct SegmentSplitter: Sendable {
    /// A piece of the stream.
    public enum Piece: Sendable, Hashable {
        case text(Data)
        case segmentBreak
    }

    private var pending = Data()
    /// True when the next byte starts a line.
    private var atLineStart = true

    /// A splitter at the start of a stream.
    public init() {}

    /// Feeds a chunk; returns what can be passed on now.
    public mutating func feed(_ chunk: Data) -> [Piece] {
        pending.append(chunk)
        var pieces: [Piece] = []
        var text = Data()
        var i = pending.startIndex
        while i < pending.endIndex {
            let byte = pending[i]
            if atLineStart && byte == 0x0C {
                // "\f" at a line start: a break if the line ends right after it.
                let next = pending.index(after: i)
                if next == pending.endIndex { break }   // wait for the next byte
                if pending[next] == 0x0A {
                    if !text.isEmpty { pieces.append(.text(text)); text = Data() }
                    pieces.append(.segmentBreak)
                    i = pending.index(after: next)
                    atLineStart = true
                    continue
                }
            }
            text.append(byte)
            atLineStart = byte == 0x0A
            i = pending.index(after: i)
        }
        pending = Data(pending[i...])
        if !text.isEmpty { pieces.append(.text(text)) }
        return pieces
    }

    /// The end of the stream: a lone trailing `\f` line (no newline) is a break too.
    public mutating func finish() -> [Piece] {
        defer { pending.removeAll() }
        if pending == Data([0x0C]) && atLineStart { return [.segmentBreak] }
        return pending.isEmpty ? [] : [.text(pending)]
    }
}
