import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// The `openai` agent: each turn is one streamed request to an OpenAI-compatible chat completions
/// endpoint, carrying the system prompt and the recent conversation (the server keeps no state).
///
/// Answer text arrives as `.textDelta`; a reasoning model's thinking as `.thought` (never sent to QQ).
/// Cancelling a turn closes its connection, which llama.cpp, Ollama and vLLM take as "stop generating".
public final class OpenAIAgent: AgentBackend {
    /// The endpoint, model and limits.
    public let configuration: OpenAIAgentConfiguration
    /// What the wait for the response head is measured on.
    public let clock: SessionClock

    /// For the status bar: `openai <model>`.
    public var name: String { "openai \(configuration.model)" }

    /// Redirects are refused (they would resend the API key elsewhere), and a refused connection fails at
    /// once instead of being retried until the deadline: a local server that is down should say so.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// An event this long without its closing blank line is taken as a broken server.
    static let maxEventBytes = 8 * 1024 * 1024
    /// How much of an error response is read for its message.
    static let maxErrorBodyBytes = 64 * 1024

    /// A backend for `configuration`; `clock` times the wait for each response's head.
    public init(configuration: OpenAIAgentConfiguration, clock: SessionClock = .continuous) {
        self.configuration = configuration
        self.clock = clock
        // The key lives as long as the agent: it must stay redacted however many tokens come and go.
        if let key = configuration.apiKey { Redactor.shared.register(key.exposedValue) }
    }

    /// Starts the request in the background and returns the turn at once; throws only when the
    /// configuration cannot work (not an http(s) URL, no model).
    public func startTurn(_ request: TurnRequest) async throws -> any AgentTurn {
        try configuration.validate()
        let turn = OpenAITurn()
        let configuration = self.configuration, clock = self.clock
        turn.start { turn in await Self.run(request, configuration: configuration, clock: clock, turn: turn) }
        return turn
    }

    /// Performs the request and feeds the turn until `[DONE]`, the end of the stream or an error.
    private static func run(_ request: TurnRequest, configuration: OpenAIAgentConfiguration, clock: SessionClock,
                            turn: OpenAITurn) async {
        do {
            let (messages, notes) = wireMessages(for: request, configuration: configuration)
            for note in notes { turn.emit(.note(note)) }
            let httpRequest = try makeHTTPRequest(messages: messages, configuration: configuration)
            let response: HTTPClientResponse
            do {
                let limit = configuration.requestTimeout
                response = try await withTimeout(limit, what: "response", context: "openai", clock: clock) {
                    try await client.execute(httpRequest, timeout: .nanoseconds(Int64(limit.seconds * 1e9)))
                }
            } catch {
                throw connectError(error, configuration: configuration)
            }
            guard (200..<300).contains(response.status.code) else {
                throw await statusError(response, configuration: configuration)
            }
            do {
                if response.headers.first(name: "content-type")?.lowercased().hasPrefix("application/json") == true {
                    try await readWhole(response.body, turn: turn)
                } else {
                    try await readStream(response.body, turn: turn)
                }
            } catch let error as QQError {
                throw error
            } catch {
                throw streamError(error, configuration: configuration)
            }
        } catch {
            turn.fail(error)
        }
    }

    /// Reads the event stream: parses SSE, forwards each event's meaning, ends the turn.
    private static func readStream(_ body: HTTPClientResponse.Body, turn: OpenAITurn) async throws {
        var parser = SSEParser()
        var decoder = OpenAIStreamDecoder()
        for try await chunk in body {
            for data in parser.feed(chunk.readableBytesView) {
                if try forward(data, decoder: &decoder, turn: turn) { return }
            }
            guard parser.bufferedByteCount <= maxEventBytes else {
                throw QQError.agent("the server sent an event over \(maxEventBytes) bytes", context: "openai")
            }
        }
        for data in parser.finish() {
            if try forward(data, decoder: &decoder, turn: turn) { return }
        }
        turn.finish(try decoder.endOfStream())
    }

    /// Reads a whole JSON completion (a server that ignored `"stream": true`): the answer as one delta.
    private static func readWhole(_ body: HTTPClientResponse.Body, turn: OpenAITurn) async throws {
        var collected = ByteBuffer()
        for try await var chunk in body {
            guard collected.readableBytes + chunk.readableBytes <= maxEventBytes else {
                throw QQError.agent("the server sent an answer over \(maxEventBytes) bytes", context: "openai")
            }
            collected.writeBuffer(&chunk)
        }
        let (events, reason) = try OpenAIStreamDecoder.completion(Data(buffer: collected))
        for event in events { turn.emit(event) }
        turn.finish(reason)
    }

    /// Decodes one event and yields what it means; true when it ended the turn.
    private static func forward(_ data: String, decoder: inout OpenAIStreamDecoder, turn: OpenAITurn) throws -> Bool {
        switch try decoder.decode(data) {
        case .events(let events):
            for event in events { turn.emit(event) }
            return false
        case .done(let reason):
            turn.finish(reason)
            return true
        }
    }

    /// The POST request: JSON body, `Accept: text/event-stream`, and the key as a bearer token when set.
    static func makeHTTPRequest(messages: [WireMessage], configuration: OpenAIAgentConfiguration) throws -> HTTPClientRequest {
        let body = ChatCompletionBody(model: configuration.model, messages: messages, temperature: configuration.temperature)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var request = HTTPClientRequest(url: configuration.completionsURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let key = configuration.apiKey, !key.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(key.exposedValue)")
        }
        request.body = .bytes(ByteBuffer(data: try encoder.encode(body)))
        return request
    }
}
