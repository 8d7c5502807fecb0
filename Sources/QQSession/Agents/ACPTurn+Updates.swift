import Foundation

extension ACPTurn {
    /// `sessionUpdate` kinds that carry nothing for the operator or QQ.
    static let ignoredUpdates: Set<String> = [
        "plan", "available_commands_update", "current_mode_update", "session_info_update",
        "config_option_update", "user_message_chunk",
    ]

    /// Maps one `session/update` to events: only `agent_message_chunk` text becomes `.textDelta`.
    func apply(_ update: JSONValue) {
        guard let kind = update["sessionUpdate"]?.stringValue else {
            return note("ignored a session/update without a sessionUpdate kind", once: "update:")
        }
        switch kind {
        case "agent_message_chunk":
            let content = update["content"]
            let type = content?["type"]?.stringValue ?? "?"
            if type == "text", let text = content?["text"]?.stringValue { emit(.textDelta(text)) }
            else { note("the agent sent a \(type) block in its answer (not shown, not sent)", once: "content:" + type) }
        case "agent_thought_chunk":
            if let text = update["content"]?["text"]?.stringValue { emit(.thought(text)) }
        case "tool_call":
            tool(update, started: true)
        case "tool_call_update":
            tool(update, started: false)
        case "usage_update":
            emit(.usage(used: update["used"]?.intValue, size: update["size"]?.intValue))
        case _ where Self.ignoredUpdates.contains(kind):
            break
        default:
            note("ignored the agent's “\(kind)” update (unknown to qqtui)", once: "update:" + kind)
        }
    }

    /// A tool call started (also a segment break: QQ gets the text before and after it as separate
    /// messages) or changed (fields it leaves out keep their last value).
    private func tool(_ update: JSONValue, started: Bool) {
        let id = update["toolCallId"]?.stringValue ?? "?"
        let known = shared.state.withLock { s in
            let before = s.tools[id]
            let title = update["title"]?.stringValue ?? before?.title ?? id
            let status = update["status"]?.stringValue ?? before?.status ?? (started ? "pending" : "in_progress")
            s.tools[id] = (title, status)
            return (title: title, status: status)
        }
        emit(.tool(id: id, title: known.title, status: known.status))
        if started { emit(.segmentBreak) }
    }

    /// The prompt reply's `stopReason` as a ``StopReason``.
    static func stopReason(_ raw: String?) -> StopReason {
        switch raw {
        case "end_turn": return .endTurn
        case "cancelled": return .cancelled
        case "max_tokens": return .maxTokens
        case "refusal": return .refusal
        default: return .other(raw ?? "none")
        }
    }
}
