import Foundation
import QQSession
import TOMLKit

/// The agent qqtui runs, as configured in `[agent]`.
enum AgentChoice: Sendable {
    case command(CommandAgentConfiguration)
    case echo
    case demo(pace: Duration)

    /// The backend.
    func make() -> any AgentBackend {
        switch self {
        case .command(let c): return CommandAgent(c)
        case .echo: return EchoAgent()
        case .demo(let pace): return DemoAgent(pace: pace)
        }
    }
}

extension ConfigLoader {
    static let agentBackends = ["command", "openai", "acp", "echo", "demo"]

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
        if let v = try t.int("history_messages", in: 0...1000) { s.handoff.historyMessages = v }
        if let v = try t.string("group_trigger") {
            guard ["mention", "all"].contains(v) else { throw t.fail("group_trigger", "\"\(v)\" is not one of mention, all") }
            s.handoff.groupMentionOnly = v == "mention"
        }
        try t.rejectUnknownKeys(known: ["default_owner", "busy", "answer_pending_on_handover", "operator_reply_takes_over",
                                        "first_event_timeout_s", "idle_timeout_s", "turn_timeout_s", "history_messages",
                                        "group_trigger"])
    }

    /// `[agent]`: which backend answers the conversations handed to the agent.
    static func readAgent(_ t: TOMLSection, environment: [String: String]) throws -> AgentChoice {
        guard let backend = try t.string("backend") else {
            throw t.fail("backend", "missing: one of \(agentBackends.joined(separator: ", "))")
        }
        let choice: AgentChoice
        switch backend {
        case "command":
            guard let command = try t.stringList("command"), let program = command.first, !program.isEmpty else {
                throw t.fail("command", "missing: the program and its arguments, e.g. [\"/usr/local/bin/answer\", \"--fast\"]")
            }
            var c = CommandAgentConfiguration(command: command, environment: try t.stringTable("env") ?? [:],
                                              directory: try t.string("directory").map(AppConfig.expand))
            if let v = try t.int("kill_grace_ms", in: 0...60_000) { c.killGrace = .milliseconds(v) }
            choice = .command(c)
            try t.rejectUnknownKeys(known: ["backend", "command", "env", "directory", "kill_grace_ms"])
        case "echo":
            choice = .echo
            try t.rejectUnknownKeys(known: ["backend"])
        case "demo":
            choice = .demo(pace: .milliseconds(try t.int("pace_ms", in: 0...10_000) ?? 120))
            try t.rejectUnknownKeys(known: ["backend", "pace_ms"])
        default:
            let hint = TOMLSection.closest(backend, in: agentBackends).map { " (did you mean \($0)?)" } ?? ""
            throw t.fail("backend", "\"\(backend)\" is not one of \(agentBackends.joined(separator: ", "))" + hint)
        }
        return choice
    }
}
