import Foundation

/// Settings of an `openai` agent: an OpenAI-compatible chat completions endpoint (llama.cpp
/// `llama-server`, Ollama `/v1`, vLLM, LM Studio or a cloud service).
public struct OpenAIAgentConfiguration: Sendable {
    /// The server, e.g. `http://127.0.0.1:8080` or `https://api.example.com/v1` (with or without `/v1`).
    public var baseURL: String
    /// The model name sent with every request.
    public var model: String
    /// Sent as `Authorization: Bearer …` when set; never shown in errors or logs.
    public var apiKey: Secret?
    /// The first message of every request, when set.
    public var systemPrompt: String?
    /// At most this many messages of the conversation are sent (the newest user message always is).
    public var maxHistoryMessages: Int
    /// At most this many characters of message text are sent (the newest user message always is).
    public var maxHistoryChars: Int
    /// Sampling temperature; the server's default when nil.
    public var temperature: Double?
    /// How long the server may take to answer with the response head (the stream itself is not bounded here).
    public var requestTimeout: Duration

    /// A configuration.
    public init(baseURL: String, model: String, apiKey: Secret? = nil, systemPrompt: String? = nil,
                maxHistoryMessages: Int = 40, maxHistoryChars: Int = 16_000, temperature: Double? = nil,
                requestTimeout: Duration = .seconds(30)) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
        self.systemPrompt = systemPrompt
        self.maxHistoryMessages = maxHistoryMessages
        self.maxHistoryChars = maxHistoryChars
        self.temperature = temperature
        self.requestTimeout = requestTimeout
    }

    /// The base URL without trailing slashes, as errors name it.
    var displayBase: String {
        var base = baseURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// `{base}/v1/chat/completions`, or `{base}/chat/completions` when the base already ends in `/v1`.
    var completionsURL: String {
        let base = displayBase
        return base.hasSuffix("/v1") ? base + "/chat/completions" : base + "/v1/chat/completions"
    }

    /// Checks what can be checked before the first request.
    func validate() throws {
        guard let url = URL(string: completionsURL), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host?.isEmpty == false else {
            throw QQError.agent("the base URL \(Redactor.shared.redact(displayBase)) is not an http(s) URL",
                                context: "openai")
        }
        guard !model.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw QQError.agent("no model is configured", context: "openai")
        }
    }
}
