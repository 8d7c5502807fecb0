import Foundation
@testable import QQSession
import Testing

@Suite("OpenAI request building")
struct OpenAIRequestTests {
    static func message(_ role: ChatMessage.Role, _ text: String, images: [String] = []) -> ChatMessage {
        ChatMessage(role: role, author: role == .user ? "U1" : "operator", text: text, images: images)
    }

    @Test("the endpoint is {base}/v1/chat/completions unless the base already ends in /v1")
    func endpoint() {
        let cases = [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/chat/completions"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/chat/completions"),
            ("http://localhost:11434/v1", "http://localhost:11434/v1/chat/completions"),
            ("https://api.example.com/v1/", "https://api.example.com/v1/chat/completions"),
            ("https://example.com/proxy/openai", "https://example.com/proxy/openai/v1/chat/completions"),
        ]
        for (base, expected) in cases {
            #expect(OpenAIAgentConfiguration(baseURL: base, model: "m").completionsURL == expected)
        }
    }

    @Test("a base URL that is not http(s) or an empty model stops the turn before it starts")
    func validation() async {
        for configuration in [OpenAIAgentConfiguration(baseURL: "localhost:8080", model: "m"),
                              OpenAIAgentConfiguration(baseURL: "ftp://host", model: "m"),
                              OpenAIAgentConfiguration(baseURL: "http://127.0.0.1:1", model: " ")] {
            let agent = OpenAIAgent(configuration: configuration)
            await #expect(throws: QQError.self) {
                _ = try await agent.startTurn(TurnRequest(conversation: .c2c("U1"), newMessages: [Self.message(.user, "hi")]))
            }
        }
    }

    @Test("history is trimmed from the newest backwards by count and by characters")
    func trimming() {
        let history = (0..<10).map { Self.message($0 % 2 == 0 ? .user : .assistant, "message \($0) " + String(repeating: "x", count: 90)) }
        let newest = [Self.message(.user, "newest")]
        let byCount = OpenAIAgent.historyWindow(history + newest, maxMessages: 3, maxChars: 100_000)
        #expect(byCount.map(\.text) == [history[8].text, history[9].text, "newest"])
        let byChars = OpenAIAgent.historyWindow(history + newest, maxMessages: 40, maxChars: 250)
        #expect(byChars.map(\.text) == [history[8].text, history[9].text, "newest"])
    }

    @Test("the newest user message and what follows it are kept even when they alone exceed the limits")
    func newestUserKept() {
        let long = String(repeating: "长", count: 500)
        let messages = [Self.message(.user, "old"), Self.message(.user, long), Self.message(.assistant, "operator aside")]
        let window = OpenAIAgent.historyWindow(messages, maxMessages: 1, maxChars: 10)
        #expect(window.map(\.text) == [long, "operator aside"])
        #expect(OpenAIAgent.historyWindow([], maxMessages: 5, maxChars: 5).isEmpty)
    }

    @Test("the system prompt comes first; roles are kept; user images become data-URL parts; unreadable ones a note")
    func wireMessages() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-openai-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("a.bin")
        let pngBytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]
        try Data(pngBytes).write(to: png)
        let jpg = dir.appendingPathComponent("b.jpeg")
        try Data([1, 2, 3]).write(to: jpg)
        let text = dir.appendingPathComponent("c.txt")
        try Data("hello".utf8).write(to: text)
        let request = TurnRequest(conversation: .c2c("U1"),
                                  newMessages: [Self.message(.user, "look", images: [png.path, jpg.path, text.path, "/nonexistent/d.png"])],
                                  history: [Self.message(.assistant, "earlier", images: [png.path])])
        let configuration = OpenAIAgentConfiguration(baseURL: "http://h", model: "m", systemPrompt: "be brief")
        let (messages, notes) = OpenAIAgent.wireMessages(for: request, configuration: configuration)
        #expect(messages.map(\.role) == ["system", "assistant", "user"])
        #expect(messages[0].content == .text("be brief"))
        #expect(messages[1].content == .text("earlier"), "only user messages carry images")
        #expect(messages[2].content == .parts([
            .text("look"),
            .image(dataURL: "data:image/png;base64," + Data(pngBytes).base64EncodedString()),
            .image(dataURL: "data:image/jpeg;base64,AQID"),
        ]))
        #expect(notes.count == 2)
        #expect(notes.contains { $0.contains("c.txt") && $0.contains("not a PNG") })
        #expect(notes.contains { $0.contains("d.png") && $0.contains("cannot be read") })
    }

    @Test("the body asks for a stream with usage, carries the temperature only when set, and the key only as a bearer header")
    func body() throws {
        var configuration = OpenAIAgentConfiguration(baseURL: "http://h/v1", model: "qwen")
        let messages = [WireMessage(role: "user", content: .text("hi"))]
        var request = try OpenAIAgent.makeHTTPRequest(messages: messages, configuration: configuration)
        #expect(request.url == "http://h/v1/chat/completions")
        #expect(request.headers["Authorization"].isEmpty)
        #expect(request.headers.first(name: "Accept") == "text/event-stream")
        configuration.apiKey = Secret("sk-request-test-key")
        configuration.temperature = 0.5
        request = try OpenAIAgent.makeHTTPRequest(messages: messages, configuration: configuration)
        #expect(request.headers.first(name: "Authorization") == "Bearer sk-request-test-key")
        let plain = ChatCompletionBody(model: "qwen", messages: messages, temperature: nil)
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(plain)) as? [String: Any])
        #expect(json["stream"] as? Bool == true)
        #expect((json["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        #expect(json["temperature"] == nil)
        #expect((json["messages"] as? [[String: Any]])?.first?["content"] as? String == "hi")
    }

    @Test("the MIME type comes from the file's signature, else its extension")
    func mimeTypes() {
        #expect(OpenAIAgent.imageMIMEType(data: Data([0xFF, 0xD8, 0xFF, 0xE0]), path: "x.png") == "image/jpeg")
        #expect(OpenAIAgent.imageMIMEType(data: Data("GIF89a".utf8), path: "x") == "image/gif")
        #expect(OpenAIAgent.imageMIMEType(data: Data("RIFF\0\0\0\0WEBPVP8 ".utf8), path: "x") == "image/webp")
        #expect(OpenAIAgent.imageMIMEType(data: Data([0, 0, 0]), path: "x.WEBP") == "image/webp")
        #expect(OpenAIAgent.imageMIMEType(data: Data([0, 0, 0]), path: "x.txt") == nil)
    }
}
