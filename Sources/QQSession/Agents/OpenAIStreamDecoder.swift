import Foundation

/// Turns the data of each SSE event of a streamed chat completion into agent events (and a whole
/// completion, for a server that does not stream).
///
/// Tolerates the variants of llama.cpp, vLLM and Ollama: `usage` on the finish chunk or on a chunk
/// with `choices: []` or `choices: null`, absent or null `delta.content`, and thinking in
/// `delta.reasoning_content` or `delta.reasoning`, which becomes a `.thought` and never answer text.
struct OpenAIStreamDecoder: Sendable {
    /// What one event means for the turn.
    enum Step: Sendable, Hashable {
        /// Events to forward (may be empty: a role chunk, a keep-alive).
        case events([AgentEvent])
        /// `[DONE]`: the turn ended for this reason.
        case done(StopReason)
    }

    /// The `finish_reason` of the first choice, once the server sent one.
    private(set) var finishReason: String?

    /// A decoder at the start of a stream.
    init() {}

    /// Interprets the data of one event; throws a ``QQError`` of kind `.agent` for an error event or data
    /// that is not a JSON object.
    mutating func decode(_ data: String) throws -> Step {
        let trimmed = data.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed == "[DONE]" { return .done(Self.stopReason(finishReason ?? "stop")) }
        if trimmed.isEmpty { return .events([]) }
        let chunk = try Self.object(Data(trimmed.utf8), during: "during the answer")
        let (events, reason) = Self.interpret(chunk, messageKey: "delta")
        if let reason { finishReason = reason }
        return .events(events)
    }

    /// Interprets a whole (non-streamed) completion, for a server that ignores `"stream": true`.
    static func completion(_ body: Data) throws -> (events: [AgentEvent], reason: StopReason) {
        let (events, reason) = interpret(try object(body, during: "instead of an answer"), messageKey: "message")
        return (events, stopReason(reason ?? "stop"))
    }

    /// The JSON object in `data`, or an agent error: the server's own error, or data that is no JSON object.
    private static func object(_ data: Data, during: String) throws -> JSONValue {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: data), case .object = value else {
            let text = String(decoding: data.prefix(4096), as: UTF8.self)
            throw QQError.agent("the server sent data that is not a JSON object: \(excerpt(text, limit: 120))", context: "openai")
        }
        if let error = value["error"], error != .null {
            let message = errorMessage(in: value) ?? excerpt(error.description, limit: 300)
            throw QQError.agent("the server reported an error \(during): \(message)", context: "openai")
        }
        return value
    }

    /// The events of a chunk (`delta`) or a completion (`message`) and its finish reason, if any.
    private static func interpret(_ value: JSONValue, messageKey: String) -> (events: [AgentEvent], finishReason: String?) {
        var events: [AgentEvent] = []
        var finishReason: String?
        if case .array(let choices) = value["choices"],
           let choice = choices.first(where: { $0["index"]?.intValue == 0 }) ?? choices.first {
            let message = choice[messageKey]
            for key in ["reasoning_content", "reasoning"] {
                if let thought = message?[key]?.stringValue, !thought.isEmpty { events.append(.thought(thought)) }
            }
            if let text = message?["content"]?.stringValue, !text.isEmpty { events.append(.textDelta(text)) }
            if let reason = choice["finish_reason"]?.stringValue, !reason.isEmpty { finishReason = reason }
        }
        if let usage = value["usage"], case .object = usage {
            events.append(.usage(used: usage["total_tokens"]?.intValue, size: nil))
        }
        return (events, finishReason)
    }

    /// The stream ended without `[DONE]`: fine after a `finish_reason`, an error otherwise.
    func endOfStream() throws -> StopReason {
        guard let finishReason else {
            throw QQError.agent("the server closed the stream before the answer finished", context: "openai")
        }
        return Self.stopReason(finishReason)
    }

    /// Maps an OpenAI `finish_reason` to a stop reason.
    static func stopReason(_ finishReason: String) -> StopReason {
        switch finishReason {
        case "stop": .endTurn
        case "length": .maxTokens
        case "content_filter": .refusal
        default: .other(finishReason)
        }
    }

    /// The human part of an error body: `error.message`, `error` as a string, `message` or `detail`,
    /// cut to 300 characters and scrubbed of secrets.
    static func errorMessage(in body: JSONValue) -> String? {
        let candidates = [body["error"]?["message"], body["error"], body["message"], body["detail"]]
        guard let text = candidates.lazy.compactMap({ $0?.stringValue }).first(where: { !$0.isEmpty }) else { return nil }
        return excerpt(text, limit: 300)
    }

    /// `text` without control characters, at most `limit` characters, scrubbed of secrets.
    static func excerpt(_ text: String, limit: Int) -> String {
        let clean = String(String.UnicodeScalarView(text.unicodeScalars.map {
            $0.properties.generalCategory == .control ? " " : $0
        }))
        return Redactor.shared.redact(clean, clippedTo: limit)
    }
}
