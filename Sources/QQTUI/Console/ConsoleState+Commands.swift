import Foundation
import QQSession

extension ConsoleState {
    /// Enter: a command, the draft, or a reply to the conversation on screen.
    mutating func submit(now: Date) -> [Effect] {
        let text = composer.text
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
        if text.hasPrefix("/"), !text.hasPrefix("//") {
            composer = Composer()
            remember(text)
            return command(text, now: now)
        }
        let body = text.hasPrefix("//") ? String(text.dropFirst()) : text
        guard let id = selected else {
            say("pick a conversation first (Tab)", .warning, now: now)
            return []
        }
        remember(text)
        composer = Composer()
        conversations[id]?.anchor = nil
        conversations[id]?.newBelow = 0
        if composerHoldsDraft {
            composerHoldsDraft = false
            settleDraftEntries(in: id)
            return [.sendDraft(body, to: id)]
        }
        return [.send(body, to: id)]
    }

    private mutating func remember(_ line: String) {
        if history.last != line { history.append(line) }
        if history.count > 500 { history.removeFirst(history.count - 500) }
        historyPosition = nil
    }

    private mutating func command(_ line: String, now: Date) -> [Effect] {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        let name = String(trimmed.prefix { !$0.isWhitespace }.dropFirst()).lowercased()
        let argument = trimmed.drop { !$0.isWhitespace }.trimmingCharacters(in: .whitespaces)
        switch name {
        case "help", "h", "?":
            overlay = .help
        case "handoff", "agent":
            return setOwner(.agent, now: now)
        case "takeback", "human":
            return setOwner(.human, now: now)
        case "draft":
            return setOwner(.draft, now: now)
        case "alias", "name":
            guard let id = selected else { say("pick a conversation first (Tab)", .warning, now: now); return [] }
            return [.setAlias(openID: id.openID, name: argument.isEmpty ? nil : argument)]
        case "search", "s":
            guard !argument.isEmpty else { say("usage: /search TEXT", .warning, now: now); return [] }
            overlay = .search(SearchResults(query: argument, results: nil))
            return [.search(argument)]
        case "image", "img":
            guard let id = selected else { say("pick a conversation first (Tab)", .warning, now: now); return [] }
            guard !argument.isEmpty else { say("usage: /image PATH", .warning, now: now); return [] }
            conversations[id]?.anchor = nil
            return [.sendImage(path: AppConfig.expand(argument), to: id)]
        case "allow", "deny":
            guard let id = selected, let request = conversations[id]?.permission else {
                say("the agent is not asking for anything here", .warning, now: now)
                return []
            }
            var option: String?
            if name == "allow" {
                let n = Int(argument) ?? 1
                guard n >= 1, n <= request.options.count else {
                    say("choose 1…\(request.options.count)", .warning, now: now)
                    return []
                }
                option = request.options[n - 1].id
            }
            conversations[id]?.permission = nil
            return [.answerPermission(requestID: request.id, optionID: option, id)]
        case "reconnect":
            say("reconnecting…", now: now)
            return [.reconnect]
        case "quit", "q", "exit":
            return quit()
        default:
            say("unknown command /\(name): F1 lists them (// sends a line starting with /)", .warning, now: now)
        }
        return []
    }
}
