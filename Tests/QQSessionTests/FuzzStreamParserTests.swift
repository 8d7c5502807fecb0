import Foundation
import FuzzSupport
@testable import QQSession
import Testing

/// Seeded random agent streams through the SSE parser, the OpenAI chunk decoder, the ACP line buffer
/// and JSON values: the same events and lines however the bytes are cut, buffers bounded, every
/// refusal an agent error with a clean message.
@Suite("Fuzz: agent stream parsers", Fuzz.backstop)
struct FuzzStreamParserTests {
    // MARK: - SSE

    @Test("SSE: a generated stream gives exactly its events, however it is cut; the buffer never holds more than the event being read")
    func sseModel() async {
        let report = await Fuzz.run("sse-model", iterations: 400) { c in
            let stream = SSEStream.random(&c.rng)
            c.input = String(decoding: stream.bytes.prefix(1500), as: UTF8.self)
            let whole = Self.sse([stream.bytes])
            c.check(whole == stream.events, "whole: \(whole) ≠ \(stream.events)")
            let chunked = Self.sse(Hostile.chunks(stream.bytes, &c.rng))
            c.check(chunked == stream.events, "chunked: \(chunked) ≠ \(stream.events)")
            Self.checkSSEBuffer(stream.bytes, &c)
        }
        #expect(report.passed, "\(report)")
    }

    @Test("SSE: mangled streams and random bytes give the same events whole, in chunks and byte by byte")
    func sseSplitInvariance() async {
        let report = await Fuzz.run("sse-split", iterations: 600) { c in
            let bytes = c.rng.chance(0.2) ? Hostile.bytes(&c.rng, maxLength: 400) : Hostile.mutate(SSEStream.random(&c.rng).bytes, &c.rng)
            c.input = String(decoding: bytes.prefix(1500), as: UTF8.self)
            let whole = Self.sse([bytes])
            c.check(Self.sse(Hostile.chunks(bytes, &c.rng)) == whole, "chunked differs from whole")
            c.check(Self.sse(bytes.map { [$0] }) == whole, "byte by byte differs from whole")
            Self.checkSSEBuffer(bytes, &c)
        }
        #expect(report.passed, "\(report)")
    }

    static func sse(_ chunks: [[UInt8]]) -> [String] {
        var parser = SSEParser()
        var events: [String] = []
        for chunk in chunks { events += parser.feed(chunk) }
        return events + parser.finish()
    }

    /// Fed byte by byte, the parser holds at most the bytes since the last event it delivered.
    static func checkSSEBuffer(_ bytes: [UInt8], _ c: inout FuzzCase) {
        var parser = SSEParser()
        var lastEvent = 0
        for (i, byte) in bytes.enumerated() {
            if !parser.feed([byte]).isEmpty { lastEvent = i + 1 }
            if parser.bufferedByteCount > i + 1 - lastEvent {
                return c.check(false, "holds \(parser.bufferedByteCount) bytes, only \(i + 1 - lastEvent) since the last event")
            }
        }
    }

    // MARK: - OpenAI chunks

    @Test("OpenAI chunks: a generated chunk gives its thought, text and usage exactly; anything else is events or an agent error with a clean message")
    func openAIChunks() async {
        let report = await Fuzz.run("openai-chunks", iterations: 800) { c in
            let chunk = OpenAIChunk.random(&c.rng)
            let mangle = c.rng.chance(0.5)
            let data = mangle ? String(decoding: Hostile.mutate(Array(chunk.json.utf8), &c.rng), as: UTF8.self) : chunk.json
            c.input = data
            var decoder = OpenAIStreamDecoder()
            do {
                let step = try decoder.decode(data)
                if !mangle { c.check(step == .events(chunk.events), "\(step) ≠ \(chunk.events)") }
            } catch let error as QQError {
                c.check(mangle, "a valid chunk was refused: \(error.message)")
                c.check(error.kind == .agent, "kind \(error.kind)")
                c.check(!error.message.unicodeScalars.contains { $0.properties.generalCategory == .control },
                        "control characters in the message: \(error.message)")
            }
        }
        #expect(report.passed, "\(report)")
    }

    @Test("JSON values (agent messages, raw events): whatever decodes re-encodes to the same value")
    func jsonValueRoundTrip() async {
        let report = await Fuzz.run("json-value", iterations: 800) { c in
            let text = JSONText.random(&c.rng, depth: 4).text
            let bytes = c.rng.chance(0.5) ? Hostile.mutate(Array(text.utf8), &c.rng) : Array(text.utf8)
            c.input = String(decoding: bytes, as: UTF8.self)
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else { return }
            let again = try? JSONDecoder().decode(JSONValue.self, from: Data(value.description.utf8))
            c.check(again == value, "\(value) came back as \(String(describing: again))")
        }
        #expect(report.passed, "\(report)")
    }

    // MARK: - ACP lines

    @Test("ACP lines: the same lines and the same verdict on a too-long line however the bytes are cut; never more than the limit held")
    func acpLines() async {
        let report = await Fuzz.run("acp-lines", iterations: 800) { c in
            let limit = c.rng.pick([1, 8, 64, 300, 4096])
            var bytes = ACPStream.random(&c.rng, limit: limit)
            if c.rng.chance(0.3) { bytes = Hostile.mutate(bytes, &c.rng) }
            c.input = "limit \(limit): " + String(decoding: bytes.prefix(1500), as: UTF8.self)
            let expected = ACPStream.reference(bytes, limit: limit)
            for chunks in [[bytes], Hostile.chunks(bytes, &c.rng), bytes.map { [$0] }] {
                var buffer = ACPLineBuffer(limit: limit)
                var lines: [[UInt8]] = []
                var overflow = false
                for chunk in chunks {
                    do { lines += try buffer.append(Data(chunk)).map { Array($0) } } catch { overflow = true; break }
                    if buffer.bufferedByteCount > limit + 1 { c.check(false, "holds \(buffer.bufferedByteCount) bytes over a limit of \(limit)") }
                }
                c.check(overflow == expected.overflow, "overflow \(overflow), expected \(expected.overflow) (\(chunks.count) chunks)")
                if overflow {
                    c.check(expected.lines.starts(with: lines), "lines before the overflow are not the stream's first lines")
                } else {
                    c.check(lines == expected.lines, "lines differ (\(chunks.count) chunks)")
                    c.check(buffer.finish().map { Array($0) } == expected.rest, "the unterminated rest differs")
                }
            }
        }
        #expect(report.passed, "\(report)")
    }
}

/// An SSE stream generated line by line, with the events a correct parser must give.
struct SSEStream {
    var bytes: [UInt8] = []
    var events: [String] = []

    static func random<R: RandomNumberGenerator>(_ rng: inout R) -> SSEStream {
        var s = SSEStream()
        if rng.chance(0.15) { s.bytes = [0xEF, 0xBB, 0xBF] }
        var previousEnding: [UInt8] = []
        func ending(blank: Bool, _ rng: inout R) -> [UInt8] {
            var e: [UInt8] = rng.pick([[0x0A], [0x0D, 0x0A], [0x0D]])
            // A CR then an LF is one line end: a blank line after a bare CR must end with CR too.
            if blank, previousEnding == [0x0D], e.first == 0x0A { e = [0x0D] }
            previousEnding = e
            return e
        }
        let eventCount = rng.small(0...6)
        for n in 0..<eventCount {
            var data: [UInt8]?
            for _ in 0..<rng.small(1...4) {
                let payload: [UInt8] = rng.chance(0.5) ? Array(OpenAIChunk.random(&rng).json.utf8)
                    : Hostile.bytes(&rng, maxLength: 60).filter { $0 != 0x0A && $0 != 0x0D }
                let line: [UInt8]
                var value: [UInt8]?
                switch Int.random(in: 0..<8, using: &rng) {
                case 0, 1, 2: line = Array("data: ".utf8) + payload; value = payload
                case 3: line = Array("data:".utf8) + payload; value = payload.first == 0x20 ? Array(payload.dropFirst()) : payload
                case 4: line = Array("data".utf8); value = []
                case 5: line = Array(": keep-alive ".utf8) + payload
                default: line = Array(rng.pick(["event: x", "id: 7", "retry: 10", "data : x", "DATA: x", "dat: x", "datax: y"]).utf8)
                }
                s.bytes += line + ending(blank: false, &rng)
                if let value { data = data.map { $0 + [0x0A] + value } ?? value }
            }
            let last = n == eventCount - 1
            switch last ? Int.random(in: 0..<3, using: &rng) : 0 {
            case 0:
                s.bytes += ending(blank: true, &rng)
                if let data { s.events.append(String(decoding: data, as: UTF8.self)) }
            case 1:
                // The stream ends without the blank line: the event still counts.
                if let data { s.events.append(String(decoding: data, as: UTF8.self)) }
            default:
                // The stream ends in the middle of a line: that line is dropped, the rest of the event counts.
                s.bytes += Array("data: cut".utf8)
                if let data { s.events.append(String(decoding: data, as: UTF8.self)) }
            }
        }
        return s
    }
}

/// An OpenAI streaming chunk and the events it means.
struct OpenAIChunk {
    var json: String
    var events: [AgentEvent]

    static func random<R: RandomNumberGenerator>(_ rng: inout R) -> OpenAIChunk {
        let content = rng.chance(0.8) ? Hostile.string(&rng, maxLength: 20) : nil
        let reasoning = rng.chance(0.3) ? Hostile.string(&rng, maxLength: 10) : nil
        let usage = rng.chance(0.2) ? rng.small(0...100_000) : nil
        var delta: [(String, JSONText)] = []
        if let reasoning { delta.append(("reasoning_content", .string(reasoning))) }
        delta.append(("content", content.map { .string($0) } ?? .null))
        var members: [(String, JSONText)] = [("choices", .array([.object([("index", .int(0)), ("delta", .object(delta)),
                                                                            ("finish_reason", .null)])]))]
        if let usage { members.append(("usage", .object([("total_tokens", .int(usage))]))) }
        var events: [AgentEvent] = []
        if let reasoning, !reasoning.isEmpty { events.append(.thought(reasoning)) }
        if let content, !content.isEmpty { events.append(.textDelta(content)) }
        if let usage { events.append(.usage(used: usage, size: nil)) }
        return OpenAIChunk(json: JSONText.object(members).text, events: events)
    }
}

/// ACP's newline-delimited stream: generated, and split by a plain reference reading.
enum ACPStream {
    static func random<R: RandomNumberGenerator>(_ rng: inout R, limit: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<rng.small(0...8) {
            let line: [UInt8]
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                let message = JSONText.object([("jsonrpc", .string("2.0")), ("method", .string("session/update")),
                                               ("params", JSONText.random(&rng, depth: 2))])
                line = Array(message.text.utf8)
            case 1: line = []
            case 2: line = Array(repeating: UInt8(ascii: "x"), count: max(0, limit + rng.pick([-1, 0, 1, 2])))
            default: line = Hostile.bytes(&rng, maxLength: 2 * limit).filter { $0 != 0x0A }
            }
            bytes += line + (rng.chance(0.3) ? [0x0D, 0x0A] : [0x0A])
        }
        if rng.chance(0.4) { bytes += Array("{\"tail\":1}".utf8) + (rng.chance(0.3) ? [0x0D] : []) }
        return bytes
    }

    /// Lines without their end (one CR before the LF dropped), empty ones skipped; overflow when a
    /// line, or the unterminated rest, is longer than `limit`.
    static func reference(_ bytes: [UInt8], limit: Int) -> (lines: [[UInt8]], rest: [UInt8]?, overflow: Bool) {
        let segments = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        var lines: [[UInt8]] = []
        for (i, segment) in segments.enumerated() {
            var line = segment
            if line.last == 0x0D { line.removeLast() }
            if line.count > limit { return (lines, nil, true) }
            if i == segments.count - 1 { return (lines, line.isEmpty ? nil : line, false) }
            if !line.isEmpty { lines.append(line) }
        }
        return (lines, nil, false)
    }
}
