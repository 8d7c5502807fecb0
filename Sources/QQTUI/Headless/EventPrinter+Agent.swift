import Foundation
import QQSession

extension EventPrinter {
    /// The line for an ownership change.
    static func describe(_ c: OwnershipChange) -> String {
        "owner    \(c.conversation) → \(c.owner.uppercased()) by \(c.actor)" + (c.reason.map { " (\($0))" } ?? "")
    }

    /// The line for an agent activity. Text deltas are never a line of their own (two agents streaming
    /// at once interleave into noise): the finished line has the whole text, and `verbose` shows the
    /// frames that carried it to QQ. JSON output (`--json`) keeps every delta.
    static func describe(_ a: AgentActivity, verbose: Bool) -> String? {
        let head = "agent    \(a.conversation) "
        switch a.kind {
        case .started(let mode, let backend, _, let messages):
            return head + "turn started (\(backend), \(messages) message(s)" + (mode == .draft ? ", draft for the operator)" : ")")
                + (a.member.map { " for member \($0)" } ?? "")
        case .event(let event):
            return describe(event, verbose: verbose).map { head + $0 }
        case .queued(let id, let waiting):
            return head + "message \(id) waits for the next turn (\(waiting) waiting)"
        case .finished(let outcome, let text):
            let how: String
            switch outcome {
            case .completed(let cut): how = cut ? "completed (cut at the length limit)" : "completed"
            case .cancelled(let reason): how = "cancelled (\(reason))"
            case .failed(let reason): how = "FAILED (\(reason))"
            case .refused: how = "refused"
            }
            return head + "turn \(how)" + (text.isEmpty ? "" : ": " + text)
        }
    }

    /// An agent event's words (never deltas; breaks, thoughts and usage only when `verbose`).
    static func describe(_ event: AgentEvent, verbose: Bool) -> String? {
        switch event {
        case .textDelta: return nil
        case .segmentBreak: return verbose ? "— segment break —" : nil
        case .thought(let text): return verbose ? "thinks: " + text : nil
        case .tool(_, let title, let status): return "tool \(title) [\(status)]"
        case .permission(let request):
            return "asks permission: \(request.title) (options: \(request.options.map(\.name).joined(separator: ", ")))"
        case .usage(let used, let size):
            return verbose ? "context \(used.map(String.init) ?? "?")/\(size.map(String.init) ?? "?")" : nil
        case .note(let text): return "note: " + text
        case .finished: return nil
        }
    }
}
