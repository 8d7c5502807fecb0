/// An incremental Server-Sent Events parser: bytes in, the `data` of each complete event out.
///
/// It follows the WHATWG event-stream rules that matter for chat completion streams: lines end with
/// CRLF, LF or CR (a CRLF split across two chunks still counts once); `data:` with or without the
/// space; several `data:` lines of one event are joined with "\n"; comments (`:`) and the `event`,
/// `id` and `retry` fields are ignored; a blank line ends an event. It works on bytes and decodes an
/// event only when it is complete, so a UTF-8 character split across network chunks arrives whole.
struct SSEParser: Sendable {
    private static let lf: UInt8 = 0x0A
    private static let cr: UInt8 = 0x0D
    private static let colon: UInt8 = 0x3A
    private static let space: UInt8 = 0x20
    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The line being read (without its end).
    private var line: [UInt8] = []
    /// The data lines of the event being read, joined with LF.
    private var data: [UInt8] = []
    /// True once the event being read has a `data` field (an empty `data:` still makes an event).
    private var hasData = false
    /// The previous byte was a CR: an LF right after it belongs to the same line end.
    private var afterCR = false
    /// True until the first bytes are seen, to drop a leading byte order mark.
    private var atStart = true

    /// A parser at the start of a stream.
    init() {}

    /// Bytes held for an unfinished line or event; lets the caller bound a stream that never ends an event.
    var bufferedByteCount: Int { line.count + data.count }

    /// Consumes `bytes` and returns the data of every event they complete, in order.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        var events: [String] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == Self.lf { continue }
            }
            switch byte {
            case Self.cr:
                afterCR = true
                endLine(into: &events)
            case Self.lf:
                endLine(into: &events)
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// The end of the stream: an event whose closing blank line never came is still delivered when its
    /// last line was complete (servers that close right after `data: [DONE]\n`); a cut line is dropped.
    mutating func finish() -> [String] {
        var events: [String] = []
        line.removeAll()
        if hasData { events.append(takeEvent()) }
        return events
    }

    private mutating func endLine(into events: inout [String]) {
        defer { line.removeAll(keepingCapacity: true) }
        if atStart {
            atStart = false
            if line.starts(with: Self.bom) { line.removeFirst(Self.bom.count) }
        }
        guard !line.isEmpty else {
            if hasData { events.append(takeEvent()) }
            return
        }
        guard line[0] != Self.colon else { return }   // a comment or keep-alive
        let nameEnd = line.firstIndex(of: Self.colon) ?? line.endIndex
        guard line[..<nameEnd].elementsEqual("data".utf8) else { return }   // event, id, retry, unknown
        var valueStart = nameEnd < line.endIndex ? nameEnd + 1 : nameEnd
        if valueStart < line.endIndex, line[valueStart] == Self.space { valueStart += 1 }
        if hasData { data.append(Self.lf) }
        data.append(contentsOf: line[valueStart...])
        hasData = true
    }

    private mutating func takeEvent() -> String {
        let text = String(decoding: data, as: UTF8.self)
        data.removeAll(keepingCapacity: true)
        hasData = false
        return text
    }
}
