import Foundation
import QQSession
import TOMLKit

/// The agent qqtui runs, as configured in `[agent]`.
enum AgentChoice: Sendable {
    case command(CommandAgentConfiguration)
    case echo
    case demo(pace: Duration)
    case openai(OpenAIAgentConfiguration)
    case acp(ACPAgentConfiguration)

    /// The same agent, its program started from `environment` (qqtui's, without secrets).
    func inheriting(_ environment: [String: String]) -> AgentChoice {
        switch self {
        case .command(var c): c.inherited = environment; return .command(c)
        case .acp(var c): c.inherited = environment; return .acp(c)
        case .echo, .demo, .openai: return self
        }
    }

    /// The backend.
    func make() -> any AgentBackend {
        switch self {
        case .command(let c): return CommandAgent(c)
        case .echo: return EchoAgent()
        case .demo(let pace): return DemoAgent(pace: pace)
        case .openai(let c): return OpenAIAgent(configuration: c)
        case .acp(let c): return ACPAgent(configuration: c)
        }
    }
}

extension ConfigLoader {
    static let agentBackends = ["command", "openai", "acp", "echo", "demo"]
    /// Keys every backend takes (read by the loader itself, for the session).
    static let sharedAgentKeys = ["backend", "typing", "typing_after_ms"]

    /// `[handoff]`: owners and turn limits.
    static func readHandoff(_ t: TOMLSection, into s: inout SessionConfiguration) throws {
        if let v = try t.string("default_owner") {
            guard let owner = Owner(rawValue: v) else { throw t.fail("default_owner", "\"\(v)\" is not one of human, agent, draft") }
            s.handoff.defaultOwner = owner
        }
        if let v = try t.string("busy") {
            guard let busy = HandoffPolicy.Busy(rawValue: v) else { throw t.fail("busy", "\"\(v)\" is not one of queue, interrupt") }
            s.handoff.busy = busy
        }
        if let v = try t.bool("answer_pending_on_handover") { s.handoff.answerPendingOnHandover = v }
        if let v = try t.bool("operator_reply_takes_over") { s.handoff.operatorReplyTakesOver = v }
        if let v = try t.int("first_event_timeout_s", in: 1...3600) { s.handoff.firstEventTimeout = .seconds(v) }
        if let v = try t.int("idle_timeout_s", in: 1...3600) { s.handoff.idleTimeout = .seconds(v) }
        if let v = try t.int("turn_timeout_s", in: 1...86_400) { s.handoff.turnTimeout = .seconds(v) }
        if let v = try t.int("max_turns", in: 1...10_000) { s.handoff.maxConcurrentTurns = v }
        if let v = try t.int("history_messages", in: 0...1000) { s.handoff.historyMessages = v }
        if let v = try t.int("kept_conversations", in: 10...10_000_000) { s.handoff.keptConversations = v }
        if let v = try t.int("max_reply_length", in: 100...10_000_000) { s.handoff.maxReplyLength = v }
        if let v = try t.string("group_trigger") {
            guard ["mention", "all"].contains(v) else { throw t.fail("group_trigger", "\"\(v)\" is not one of mention, all") }
            s.handoff.groupMentionOnly = v == "mention"
        }
        if let v = try t.string("group_sessions") {
            guard let mode = HandoffPolicy.GroupSessions(rawValue: v) else {
                throw t.fail("group_sessions", "\"\(v)\" is not one of member (each member their own agent session), group (one for the group)")
            }
            s.handoff.groupSessions = mode
        }
        if let v = try t.string("human_button") {
            let label = v.trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty, label.count <= 20 else { throw t.fail("human_button", "a button label of 1 to 20 characters, such as \"转人工\"") }
            s.handoff.humanButton = label
            // A press arrives as INTERACTION_CREATE: subscribe to it.
            s.intents.formUnion(.interaction)
        }
        if let v = try t.string("human_button_prompt") {
            guard !v.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw t.fail("human_button_prompt", "must not be empty") }
            s.handoff.humanButtonPrompt = v
        }
        if let v = try t.string("human_button_pressed") {
            let label = v.trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty, label.count <= 20 else { throw t.fail("human_button_pressed", "a button label of 1 to 20 characters") }
            s.handoff.humanButtonPressed = label
        }
        if let v = try t.string("human_answer") {
            guard !v.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw t.fail("human_answer", "must not be empty") }
            s.handoff.humanAnswer = v
        }
        try t.rejectUnknownKeys(known: ["default_owner", "busy", "answer_pending_on_handover", "operator_reply_takes_over",
                                        "first_event_timeout_s", "idle_timeout_s", "turn_timeout_s", "max_turns", "history_messages", "max_reply_length",
                                        "kept_conversations", "group_trigger", "group_sessions", "human_button", "human_button_prompt", "human_button_pressed", "human_answer"])
    }

    /// `[agent]`: which backend answers the conversations handed to the agent.
    static func readAgent(_ t: TOMLSection, environment: [String: String], needsSecrets: Bool = true) throws -> AgentChoice {
        guard let backend = try t.string("backend") else {
            throw t.fail("backend", "missing: one of \(agentBackends.joined(separator: ", "))")
        }
        let choice: AgentChoice
        switch backend {
        case "command":
            let command = try readCommand(t)
            var c = CommandAgentConfiguration(command: command, environment: try t.stringTable("env") ?? [:],
                                              directory: try t.path("directory"))
            if let v = try t.int("kill_grace_ms", in: 0...60_000) { c.killGrace = .milliseconds(v) }
            choice = .command(c)
            try t.rejectUnknownKeys(known: Self.sharedAgentKeys + ["command", "env", "directory", "kill_grace_ms"])
        case "acp":
            let command = try readCommand(t)
            let policy = try t.string("permission_policy") ?? "deny"
            guard let permissions = ["deny": ACPAgentConfiguration.PermissionPolicy.deny, "ask_operator": .askOperator][policy] else {
                throw t.fail("permission_policy", "\"\(policy)\" is not one of deny, ask_operator")
            }
            var c = ACPAgentConfiguration(command: command, environment: try t.stringTable("env") ?? [:],
                                          directory: try t.path("directory"), permissionPolicy: permissions)
            if let v = try t.int("start_timeout_s", in: 1...600) { c.startTimeout = .seconds(v) }
            if let v = try t.int("cancel_grace_ms", in: 0...60_000) { c.cancelGrace = .milliseconds(v) }
            choice = .acp(c)
            try t.rejectUnknownKeys(known: Self.sharedAgentKeys + ["command", "env", "directory", "permission_policy", "start_timeout_s",
                                            "cancel_grace_ms"])
        case "openai":
            choice = .openai(try readOpenAI(t, environment: environment, needsSecrets: needsSecrets))
        case "echo":
            choice = .echo
            try t.rejectUnknownKeys(known: Self.sharedAgentKeys)
        case "demo":
            choice = .demo(pace: .milliseconds(try t.int("pace_ms", in: 0...10_000) ?? 120))
            try t.rejectUnknownKeys(known: Self.sharedAgentKeys + ["pace_ms"])
        default:
            let hint = TOMLSection.closest(backend, in: agentBackends).map { " (did you mean \($0)?)" } ?? ""
            throw t.fail("backend", "\"\(backend)\" is not one of \(agentBackends.joined(separator: ", "))" + hint)
        }
        return choice
    }

    /// `backend = "openai"`: an OpenAI-compatible chat completions server.
    private static func readOpenAI(_ t: TOMLSection, environment: [String: String], needsSecrets: Bool) throws -> OpenAIAgentConfiguration {
        guard let base = try t.string("base_url") else {
            throw t.fail("base_url", "missing: the server, e.g. \"http://127.0.0.1:8080/v1\" (llama.cpp, Ollama, vLLM) or a cloud API")
        }
        guard let model = try t.string("model"), !model.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw t.fail("model", "missing: the model name the server knows")
        }
        let key = try t.string("api_key_env").map {
            Secret(try environmentSecret($0, key: "api_key_env", in: t, environment: environment,
                                         hint: "the key itself never goes in the file", required: needsSecrets))
        }
        // The key travels to this URL: plain http only to this machine. Without a key, a LAN server is fine.
        _ = try httpURL(base, "base_url", t, httpOnlyToLoopback: key != nil)
        var c = OpenAIAgentConfiguration(baseURL: base, model: model, apiKey: key, systemPrompt: try t.string("system_prompt"))
        if let v = try t.int("max_history_messages", in: 1...1000) { c.maxHistoryMessages = v }
        if let v = try t.int("max_history_chars", in: 100...1_000_000) { c.maxHistoryChars = v }
        if let v = try t.double("temperature", in: 0...2) { c.temperature = v }
        if let v = try t.int("request_timeout_s", in: 1...600) { c.requestTimeout = .seconds(v) }
        try t.rejectUnknownKeys(known: Self.sharedAgentKeys + ["base_url", "model", "api_key_env", "system_prompt", "max_history_messages",
                                        "max_history_chars", "temperature", "request_timeout_s"])
        return c
    }

    /// `command = ["prog", "arg", …]` of the command and acp backends.
    private static func readCommand(_ t: TOMLSection) throws -> [String] {
        guard let command = try t.stringList("command"), let program = command.first, !program.isEmpty else {
            throw t.fail("command", "missing: the program and its arguments, e.g. [\"/usr/local/bin/answer\", \"--fast\"]")
        }
        return command
    }
}
