import Foundation
@testable import QQSession
import Testing

@Suite("SSE parser")
struct SSEParserTests {
    /// Feeds `chunks` one after the other and returns every event, `finish()` included.
    static func parse(_ chunks: [[UInt8]]) -> [String] {
        var parser = SSEParser()
        var events: [String] = []
        for chunk in chunks { events += parser.feed(chunk) }
        return events + parser.finish()
    }

    static func parse(_ text: String) -> [String] { parse([Array(text.utf8)]) }

    @Test("data with and without the space; a blank line ends each event")
    func dataField() {
        #expect(Self.parse("data: one\n\ndata:two\n\ndata:  three\n\n") == ["one", "two", " three"])
    }

    @Test("several data lines of one event are joined with a newline")
    func multiLine() {
        #expect(Self.parse("data: {\"a\":\ndata: 1}\n\n") == ["{\"a\":\n1}"])
    }

    @Test("comments, event, id, retry and unknown fields are ignored; an event without data is none")
    func ignoredFields() {
        let text = ": keep-alive\n\nevent: message\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\nevent: ping\n\n"
        #expect(Self.parse(text) == ["x"])
    }

    @Test("an empty data field still makes an event; a bare 'data' line counts as one")
    func emptyData() {
        #expect(Self.parse("data:\n\ndata\n\n") == ["", ""])
    }

    @Test("CRLF, LF and CR line ends, mixed in one stream")
    func lineEnds() {
        #expect(Self.parse("data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\n\n") == ["a", "b", "c", "d"])
    }

    @Test("a CRLF split across two chunks is one line end, not a blank line")
    func splitCRLF() {
        let events = Self.parse([Array("data: a\r".utf8), Array("\ndata: b\r\n".utf8), Array("\r\n".utf8)])
        #expect(events == ["a\nb"])
    }

    @Test("a multi-byte character split across chunks arrives whole, even fed byte by byte")
    func splitUTF8() {
        let text = "data: {\"content\":\"你好，世界 🌏\"}\n\n"
        let events = Self.parse(Array(text.utf8).map { [$0] })
        #expect(events == ["{\"content\":\"你好，世界 🌏\"}"])
        #expect(!events[0].contains("\u{FFFD}"))
    }

    @Test("events arrive as soon as their blank line does; a leading byte order mark is dropped")
    func incremental() {
        var parser = SSEParser()
        #expect(parser.feed([0xEF, 0xBB, 0xBF] + Array("data: first\n".utf8)) == [])
        #expect(parser.bufferedByteCount == 5)
        #expect(parser.feed(Array("\ndata: sec".utf8)) == ["first"])
        #expect(parser.feed(Array("ond\n\n".utf8)) == ["second"])
        #expect(parser.bufferedByteCount == 0)
    }

    @Test("at the end of the stream a complete last event without its blank line counts; a cut line does not")
    func endOfStream() {
        #expect(Self.parse("data: [DONE]\n") == ["[DONE]"])
        #expect(Self.parse("data: {\"cut") == [])
        #expect(Self.parse("data: a\ndata: {\"cut") == ["a"])
    }
}

@Suite("OpenAI stream decoder")
struct OpenAIStreamDecoderTests {
    static func decode(_ lines: [String]) throws -> (events: [AgentEvent], done: StopReason?) {
        var decoder = OpenAIStreamDecoder()
        var events: [AgentEvent] = []
        for line in lines {
            switch try decoder.decode(line) {
            case .events(let more): events += more
            case .done(let reason): return (events, reason)
            }
        }
        return (events, nil)
    }

    @Test("content deltas, reasoning as thoughts, finish reason and usage (llama.cpp puts usage on the finish chunk)")
    func chunks() throws {
        let result = try Self.decode([
            #"{"choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]}"#,
            #"{"choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}]}"#,
            #"{"choices":[{"index":0,"delta":{"reasoning":"so"}}]}"#,
            #"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#,
            #"{"choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"total_tokens":9}}"#,
            "[DONE]",
        ])
        #expect(result.events == [.thought("hmm"), .thought("so"), .textDelta("Hi"), .usage(used: 9, size: nil)])
        #expect(result.done == .maxTokens)
    }

    @Test("choices null or empty are tolerated; [DONE] without a finish reason ends the turn normally")
    func variants() throws {
        let result = try Self.decode([#"{"choices":null,"usage":{"total_tokens":3}}"#, #"{"choices":[]}"#, "", "[DONE]"])
        #expect(result.events == [.usage(used: 3, size: nil)])
        #expect(result.done == .endTurn)
    }

    @Test("finish reasons map to stop reasons")
    func stopReasons() {
        #expect(OpenAIStreamDecoder.stopReason("stop") == .endTurn)
        #expect(OpenAIStreamDecoder.stopReason("length") == .maxTokens)
        #expect(OpenAIStreamDecoder.stopReason("content_filter") == .refusal)
        #expect(OpenAIStreamDecoder.stopReason("tool_calls") == .other("tool_calls"))
    }

    @Test("the end of the stream is fine after a finish reason and an error before one")
    func endOfStream() throws {
        var decoder = OpenAIStreamDecoder()
        #expect(throws: QQError.self) { try decoder.endOfStream() }
        _ = try decoder.decode(#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#)
        #expect(try decoder.endOfStream() == .endTurn)
    }

    @Test("an error event and data that is not a JSON object are agent errors with the server's message")
    func errors() {
        var decoder = OpenAIStreamDecoder()
        do {
            _ = try decoder.decode(#"{"error":{"message":"boom","type":"x"}}"#)
            Issue.record("no error")
        } catch let error as QQError {
            #expect(error.kind == .agent)
            #expect(error.message.contains("boom"))
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: QQError.self) { try decoder.decode("not json") }
        #expect(throws: QQError.self) { try decoder.decode("42") }
    }
}
