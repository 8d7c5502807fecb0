import Foundation

/// Splits a byte stream into newline-delimited lines (ACP's stdio framing): `\n` ends a line, a `\r`
/// before it is dropped, empty lines are skipped, and a line longer than `limit` is an error.
struct ACPLineBuffer: Sendable {
    /// A line grew past the limit without a newline.
    struct Overflow: Error, Sendable { let limit: Int }

    /// The longest line accepted, in bytes.
    let limit: Int
    private var pending = Data()

    /// A buffer that accepts lines up to `limit` bytes.
    init(limit: Int = 8 * 1024 * 1024) { self.limit = limit }

    /// Appends `chunk` and returns the lines it completed.
    mutating func append(_ chunk: Data) throws(Overflow) -> [Data] {
        // Only the new bytes can hold the next newline: a long line is not rescanned chunk after chunk.
        var searchFrom = pending.count
        pending.append(chunk)
        var lines: [Data] = []
        var start = 0
        while let newline = pending[searchFrom...].firstIndex(of: 0x0A) {
            var end = newline
            if end > start, pending[end - 1] == 0x0D { end -= 1 }
            if end - start > limit { throw Overflow(limit: limit) }
            if end > start { lines.append(Data(pending[start..<end])) }
            start = newline + 1
            searchFrom = start
        }
        if start > 0 { pending = Data(pending[start...]) }
        // A last CR may be the first half of a CRLF the next chunk completes: it does not count yet,
        // so where the stream is cut never decides whether a line is too long.
        let held = pending.last == 0x0D ? pending.count - 1 : pending.count
        if held > limit { throw Overflow(limit: limit) }
        return lines
    }

    /// Bytes held for the unfinished line (at most `limit`, plus a CR that may start a CRLF).
    var bufferedByteCount: Int { pending.count }

    /// What is left after EOF (an unterminated last line), if anything.
    mutating func finish() -> Data? {
        defer { pending = Data() }
        var rest = pending
        if rest.last == 0x0D { rest.removeLast() }
        return rest.isEmpty ? nil : rest
    }
}
