import Foundation
import QQSession

extension ConsoleState {
    /// Enter: a command, the draft, or a reply to the conversation on screen.
    mutating func submit(now: Date) -> [Effect] {
        let text = composer.text
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
        // A draft is always text for QQ, even when it starts with a slash.
        if !composerHoldsDraft, text.hasPrefix("/"), !text.hasPrefix("//") {
            composer = Composer()
            remember(text)
            let effects = command(text, now: now)
            loadPendingDraft()
            return effects
        }
        let body = !composerHoldsDraft && text.hasPrefix("//") ? String(text.dropFirst()) : text
        guard let id = selected else {
            say("pick a conversation first (Tab)", .warning, now: now)
            return []
        }
        // Another operator is typing here: two answers to one customer are worse than a second Enter.
        let typing = othersIn(id, now: now).typing
        if !typing.isEmpty, confirmingSend != id {
            confirmingSend = id
            say(typing.joined(separator: ", ") + (typing.count == 1 ? " is" : " are") + " typing here too: Enter again to send anyway",
                .warning, now: now)
            return []
        }
        confirmingSend = nil
        remember(text)
        conversations[id]?.anchor = nil
        conversations[id]?.newBelow = 0
        if let draft = composerDraft {
            settleDraftEntry(draft.id, in: id)
            finishDraft()
            return [.sendDraft(draft.id, body, replyTo: draft.replyTo, to: id)]
        }
        composer = Composer()
        loadPendingDraft()
        return [.send(body, to: id)]
    }

    /// `/recall` (the last message sent here), `/recall N` (the N-th last) or `/recall ID`.
    private mutating func recall(_ argument: String, in id: ConversationID, now: Date) -> [Effect] {
        guard !argument.isEmpty else {
            say("recalling the last message sent here…", now: now)
            return [.recall(nil, id)]
        }
        guard let n = Int(argument) else {
            say("recalling \(argument)…", now: now)
            return [.recall(argument, id)]
        }
        // Counted on screen: the messages sent here that QQ got and nobody recalled yet, newest first.
        let sent = (conversations[id]?.entries ?? []).reversed().filter {
            guard $0.status == .sent, $0.recalledBy == nil, $0.isStored else { return false }
            if case .user = $0.sender { return false }
            return true
        }
        guard n >= 1, n <= sent.count else {
            say(sent.isEmpty ? "nothing sent here can be recalled" : "choose 1…\(sent.count) (1 is the last message sent here)",
                .warning, now: now)
            return []
        }
        let target = sent[n - 1]
        say("recalling “\(TextWidth.clip(TextSanitizer.line(target.text), to: 30))”…", now: now)
        return [.recall(target.uid, id)]
    }

    private mutating func remember(_ line: String) {
        if history.last != line { history.append(line) }
        if history.count > 500 { history.removeFirst(history.count - 500) }
        historyPosition = nil
    }

    /// The commands, for the help screen and completion.
    static let commands = ["handoff", "takeback", "draft", "done", "next", "goto", "find", "search", "canned", "retry",
                           "alias", "image", "file", "recall", "allow", "deny", "reconnect", "help", "quit"]

    private mutating func command(_ line: String, now: Date) -> [Effect] {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        let verb = String(trimmed.prefix { !$0.isWhitespace }.dropFirst()).lowercased()
        let argument = trimmed.drop { !$0.isWhitespace }.trimmingCharacters(in: .whitespaces)
        func needsConversation() -> ConversationID? {
            if selected == nil { say("pick a conversation first (Tab)", .warning, now: now) }
            return selected
        }
        switch verb {
        case "help", "h", "?":
            overlay = .help(top: 0)
        case "handoff", "agent":
            return setOwner(.agent, now: now)
        case "takeback", "human":
            return setOwner(.human, now: now)
        case "draft":
            return setOwner(.draft, now: now)
        case "done":
            guard let id = needsConversation() else { return [] }
            let was = conversations[id]?.waitingSince != nil
            conversations[id]?.waitingSince = nil
            say(was ? "no longer waiting: \(name(of: id))" : "\(name(of: id)) was not waiting", now: now)
        case "next", "n":
            return nextWaiting(now: now)
        case "goto", "g":
            return goto(argument, now: now)
        case "alias", "name":
            guard let id = needsConversation() else { return [] }
            return [.setAlias(openID: id.openID, name: argument.isEmpty ? nil : argument)]
        case "search", "s":
            guard !argument.isEmpty else { say("usage: /search TEXT", .warning, now: now); return [] }
            overlay = .search(SearchResults(query: argument, results: nil))
            return [.search(argument, in: nil)]
        case "find", "f":
            guard let id = needsConversation() else { return [] }
            guard !argument.isEmpty else { say("usage: /find TEXT (in this conversation)", .warning, now: now); return [] }
            overlay = .search(SearchResults(query: argument, results: nil, within: id))
            return [.search(argument, in: id)]
        case "canned", "c":
            guard needsConversation() != nil else { return [] }
            guard let text = canned[argument] ?? canned.first(where: { $0.key.lowercased() == argument.lowercased() })?.value else {
                let names = canned.keys.sorted().joined(separator: ", ")
                say(canned.isEmpty ? "no canned replies: add a [canned] table to the config (name = \"text\")"
                        : argument.isEmpty ? "canned replies: " + names : "no canned reply “\(argument)”: " + names,
                    argument.isEmpty && !canned.isEmpty ? .info : .warning, now: now)
                return []
            }
            composer.set(text)
        case "retry":
            guard let id = needsConversation() else { return [] }
            guard let failed = conversations[id]?.failedText else {
                say("nothing failed to send here", .warning, now: now)
                return []
            }
            conversations[id]?.failedText = nil
            conversations[id]?.anchor = nil
            say("sending again…", now: now)
            return [.resend(failed.text, replyTo: failed.replyTo, to: id)]
        case "image", "img":
            guard let id = needsConversation() else { return [] }
            guard !argument.isEmpty else { say("usage: /image PATH", .warning, now: now); return [] }
            conversations[id]?.anchor = nil
            return [.sendFile(path: AppConfig.expand(argument), kind: .image, to: id)]
        case "file":
            guard let id = needsConversation() else { return [] }
            // `/file PATH` (the kind from the name) or `/file PATH as video|voice|file|image`.
            var path = argument, kind: MediaKind?
            if let range = argument.range(of: " as ", options: .backwards),
               let k = MediaKind(rawValue: argument[range.upperBound...].trimmingCharacters(in: .whitespaces).lowercased()) {
                path = String(argument[..<range.lowerBound]).trimmingCharacters(in: .whitespaces)
                kind = k
            }
            guard !path.isEmpty else { say("usage: /file PATH [as image|video|voice|file]", .warning, now: now); return [] }
            conversations[id]?.anchor = nil
            return [.sendFile(path: AppConfig.expand(path), kind: kind, to: id)]
        case "recall":
            guard let id = needsConversation() else { return [] }
            return recall(argument, in: id, now: now)
        case "allow", "deny":
            guard let id = selected, let request = conversations[id]?.permission else {
                say("the agent is not asking for anything here", .warning, now: now)
                return []
            }
            var option: String?
            if verb == "allow" {
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
            say("unknown command /\(verb): F1 lists them (// sends a line starting with /)", .warning, now: now)
        }
        return []
    }

    /// Opens the conversation that has waited longest (other than the one on screen).
    mutating func nextWaiting(now: Date) -> [Effect] {
        let queue = waiting
        guard let next = queue.first(where: { $0 != selected }) else {
            say(queue.isEmpty ? "nobody is waiting" : "only this conversation is waiting", now: now)
            return markOpened()
        }
        return select(next)
    }

    /// `/goto NAME`: by list number, alias or openid (a prefix is enough when it names one).
    mutating func goto(_ argument: String, now: Date) -> [Effect] {
        guard !argument.isEmpty else { say("usage: /goto NAME (alias, openid or list number; Tab completes)", .warning, now: now); return [] }
        let matches = conversationMatches(argument)
        guard let first = matches.first else {
            say("no conversation “\(argument)”", .warning, now: now)
            return []
        }
        guard matches.count == 1 else {
            say("“\(argument)” names \(matches.count): " + matches.prefix(6).map { name(of: $0) }.joined(separator: ", "), .warning, now: now)
            return []
        }
        return select(first)
    }

    /// Conversations `text` names: a list number, an exact alias or openid, else every one whose
    /// alias or openid starts with it.
    func conversationMatches(_ text: String) -> [ConversationID] {
        let key = text.lowercased().replacingOccurrences(of: "…", with: "")
        if let n = Int(key), n >= 1, n <= order.count { return [order[n - 1]] }
        let exact = order.filter { aliases[$0.openID]?.lowercased() == key || $0.openID.lowercased() == key }
        if !exact.isEmpty { return exact }
        return order.filter { aliases[$0.openID]?.lowercased().hasPrefix(key) == true || $0.openID.lowercased().hasPrefix(key) }
    }

    /// Tab after `/goto `, `/canned ` or a command name: completes it (nil: Tab does its usual).
    mutating func complete(now: Date) -> [Effect]? {
        let text = composer.text
        guard !composerHoldsDraft, text.hasPrefix("/"), !text.contains("\n") else { return nil }
        let head = text.prefix { !$0.isWhitespace }
        let command = head.dropFirst().lowercased()
        let rest = text.dropFirst(head.count).drop { $0 == " " }
        let candidates: [String]
        if head.count == text.count {
            candidates = Self.commands.filter { $0.hasPrefix(command) }.map { "/" + $0 }
            return fill(text, with: candidates, prefix: "", now: now)
        } else if ["goto", "g"].contains(command) {
            let key = String(rest).lowercased()
            candidates = order.map { aliases[$0.openID] ?? $0.openID }.filter { $0.lowercased().hasPrefix(key) }
        } else if ["canned", "c"].contains(command) {
            candidates = canned.keys.sorted().filter { $0.lowercased().hasPrefix(rest.lowercased()) }
        } else {
            return nil
        }
        return fill(String(rest), with: candidates, prefix: String(head) + " ", now: now)
    }

    private mutating func fill(_ typed: String, with candidates: [String], prefix: String, now: Date) -> [Effect] {
        guard let first = candidates.first else { say("nothing matches “\(typed)”", .warning, now: now); return [] }
        if candidates.count == 1 {
            composer.set(prefix + first + (prefix.isEmpty ? " " : ""))
            return []
        }
        var common = first
        for c in candidates.dropFirst() {
            while !c.lowercased().hasPrefix(common.lowercased()) { common.removeLast() }
        }
        if common.count > typed.count { composer.set(prefix + common) }
        say("\(candidates.count): " + candidates.prefix(8).joined(separator: "  ") + (candidates.count > 8 ? " …" : ""), now: now)
        return []
    }
}
