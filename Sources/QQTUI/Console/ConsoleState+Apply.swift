import Foundation
import QQSession

extension ConsoleState {
    /// The reducer: changes the state for `event` and returns what to do outside.
    mutating func apply(_ event: AppEvent, now: Date = Date()) -> [Effect] {
        switch event {
        case .session(let e): return apply(e, now: now)
        case .key(let key): return handle(key, now: now)
        case .conversationsLoaded(let summaries, let aliases):
            self.aliases.merge(aliases) { live, _ in live }
            aliasVersion += 1
            setOrder(from: summaries)
            return selected == nil ? select(order.first, open: false) : []
        case .pageLoaded(let id, let page, let complete):
            conversations[id]?.prepend(page: page.map(MessageEntry.init), complete: complete)
            return []
        case .jumpLoaded(let id, let page, let complete):
            conversations[id]?.prepend(page: page.map(MessageEntry.init), complete: complete)
            guard let c = conversations[id], c.jumpPending else { return [] }
            if let uid = c.highlight, c.position(of: uid) != nil {
                jumpToHighlight(in: id)
            } else {
                conversations[id]?.jumpPending = false
                say("that message is too far back to show here: `qqtui export` has it", .warning, now: now)
            }
            return []
        case .searchResults(let query, let results):
            if case .search(var s)? = overlay, s.query == query {
                s.results = results
                s.selected = 0
                overlay = .search(s)
            }
            return []
        case .aliasSet(let openID, let name):
            aliases[openID] = name
            aliasVersion += 1
            say(name.map { "saved the name “\($0)”" } ?? "name removed", now: now)
            return []
        case .storeFailed(let message):
            if let id = selected { conversations[id]?.loadingOlder = false }
            say("store: " + message, .error, now: now)
            return []
        case .status(let text, let level):
            say(text, level, now: now)
            return []
        case .attach(let e):
            return apply(e, now: now)
        case .quit:
            return quit()
        }
    }

    /// One session event.
    mutating func apply(_ event: SessionEvent, now: Date) -> [Effect] {
        switch event {
        case .gateway(let status):
            gateway = status
            return []
        case .message(let m):
            return received(m, now: now)
        case .conversation(let e):
            ensure(e.conversation, at: e.receivedAt)
            touch(e.conversation, at: e.receivedAt)
            let what: String
            switch e.kind {
            case .groupAddRobot: what = "the bot was added to this group"
            case .groupDelRobot: what = "the bot was removed from this group"
            case .groupMsgReject, .c2cMsgReject: what = "proactive messages were turned off here"
            case .groupMsgReceive, .c2cMsgReceive: what = "proactive messages were turned on here"
            case .friendAdd: what = "the user added the bot"
            case .friendDel: what = "the user removed the bot"
            }
            systemLine(what, in: e.conversation, at: e.receivedAt)
            return selected == nil ? select(e.conversation, open: false) : []
        case .raw, .streamFrame:
            return []
        case .notice(let n):
            if n.level == .debug && !settings.verbose { return [] }
            say(n.message, n.level, now: now)
            return []
        case .outbound(let m):
            return outbound(m, now: now)
        case .ownership(let change):
            guard let owner = Owner(rawValue: change.owner) else { return [] }
            ensure(change.conversation, at: change.at)
            conversations[change.conversation]?.owner = owner
            var text = "now " + owner.rawValue.uppercased() + " (by " + change.actor
            if let reason = change.reason, !reason.isEmpty { text += ": " + reason }
            systemLine(text + ")", in: change.conversation, at: change.at)
            return []
        case .agent(let activity):
            return agent(activity, now: now)
        case .recall(let r):
            conversations[r.conversation]?.update(r.outboundID) { $0.markRecalled(by: r.operatorName) }
            return []
        case .interaction(let i):
            return pressed(i, now: now)
        }
    }

    /// A user pressed a button: shown in the conversation; the human button makes it WAITING and rings
    /// (whoever owned it: the user asked for a person).
    private mutating func pressed(_ i: Interaction, now: Date) -> [Effect] {
        ensure(i.conversation, at: i.receivedAt)
        conversations[i.conversation]?.upsert(MessageEntry(uid: i.id, at: i.receivedAt, sender: .user(openID: i.userOpenID),
                                                           text: i.summary, status: .received))
        touch(i.conversation, at: i.receivedAt)
        guard i.buttonData == HandoffPolicy.humanButtonData else { return [] }
        conversations[i.conversation]?.lastAddressed = i.receivedAt
        conversations[i.conversation]?.waitingSince = i.receivedAt
        if i.conversation != selected || !opened { conversations[i.conversation]?.unread += 1 }
        say("\(name(of: i.conversation)) asks for a person", .warning, now: now)
        var effects: [Effect] = []
        if settings.bell { effects.append(.bell) }
        if settings.notify {
            let who = label(of: .user(openID: i.userOpenID))
            effects.append(.notify(title: "qqtui · \(name(of: i.conversation))", body: TextWidth.clip("\(who) asks for a person", to: 200)))
        }
        if selected == nil { effects += select(i.conversation, open: false) }
        return effects
    }

    private mutating func received(_ m: InboundMessage, now: Date) -> [Effect] {
        ensure(m.conversation, at: m.receivedAt)
        conversations[m.conversation]?.upsert(MessageEntry(m))
        touch(m.conversation, at: m.receivedAt)
        // Addressed to the bot (private, or @-mentioning it): the user now waits for an answer.
        if m.source != .group {
            conversations[m.conversation]?.lastAddressed = m.receivedAt
            if conversations[m.conversation]?.waitingSince == nil { conversations[m.conversation]?.waitingSince = m.receivedAt }
        }
        // A burst is messages in one conversation less than `burstSeconds` apart: it rings once.
        let previous = conversations[m.conversation]?.lastArrival
        conversations[m.conversation]?.lastArrival = now
        if selected == nil { return select(m.conversation, open: false) }
        guard m.conversation != selected || !opened else { return [] }
        conversations[m.conversation]?.unread += 1
        guard m.conversation != selected, conversations[m.conversation]?.owner == .human, m.source != .group else { return [] }
        let startsBurst = previous.map { now.timeIntervalSince($0) >= settings.burstSeconds } ?? true
        guard startsBurst else { return [] }
        var effects: [Effect] = []
        if settings.bell { effects.append(.bell) }
        if settings.notify {
            // 200 cells at most: a long message is not read past what the notification can show.
            let text = m.text.isEmpty ? (m.attachments.first?.placeholder ?? "") : m.text
            let preview = TextSanitizer.line(String(text.unicodeScalars.prefix(400)))
            let who = label(of: .user(openID: m.author.openID))
            let title = m.conversation.isGroup ? "qqtui · \(name(of: m.conversation)) · \(who)" : "qqtui · \(who)"
            effects.append(.notify(title: title, body: TextWidth.clip(preview, to: 200)))
        }
        return effects
    }

    private mutating func outbound(_ m: OutboundMessage, now: Date) -> [Effect] {
        ensure(m.conversation, at: m.createdAt)
        let status = MessageEntry.status(of: m)
        let known = conversations[m.conversation]?.update(m.id) { entry in
            if entry.isStreaming || entry.status == .draft {
                // The agent's text on screen is the whole answer; QQ's copy may lag behind it.
                if m.isFinal { entry.setStatus(status) }
            } else {
                if entry.text != TextSanitizer.multiline(m.text), !m.text.isEmpty { entry.setText(m.text) }
                entry.setStatus(status)
                entry.setProgress(MessageEntry.progress(of: m))
            }
        } ?? false
        if !known {
            conversations[m.conversation]?.upsert(MessageEntry(m))
            touch(m.conversation, at: m.createdAt)
            if m.conversation == selected { conversations[m.conversation]?.anchor = nil }
        }
        switch m.status {
        case .sent where m.origin == "auto":
            break   // qqtui's own line (the human button, "someone is coming"): the user still waits
        case .sent:
            // Answered (by the operator or the agent): nobody waits here any more, unless the reply
            // answers an older message than the user's last, or the user wrote again meanwhile.
            let still = conversations[m.conversation]?.stillWaiting(after: m)
            conversations[m.conversation]?.waitingSince = still
            if conversations[m.conversation]?.failedText?.uid == m.id { conversations[m.conversation]?.failedText = nil }
        case .refused(let reason), .failed(let reason):
            // Only what QQ did not get goes again: parts already delivered are not repeated.
            let unsent = m.parts.isEmpty ? m.text : m.parts.filter { $0.status != .sent }.map(\.text).joined(separator: "\n")
            let retriable = m.kind == .text && m.origin != "agent" && !unsent.isEmpty
            let what: String
            if case .refused = m.status { what = "not sent: " } else { what = "send failed: " }
            say(what + reason + (retriable ? " (/retry sends it again)" : ""), .error, now: now)
            if retriable {
                conversations[m.conversation]?.failedText = (m.id, unsent, m.replyTo)
            }
        default:
            break
        }
        return []
    }

    private mutating func agent(_ a: AgentActivity, now: Date) -> [Effect] {
        let id = a.conversation
        ensure(id, at: a.at)
        switch a.kind {
        case .started(let mode, _, let outboundID, _):
            let uid = outboundID ?? MessageEntry.draftUID(a.turnID)
            if conversations[id]?.update(uid, { $0.setStatus(.streaming); $0.answering = a.member }) != true {
                var entry = MessageEntry(uid: uid, at: a.at, sender: .agent, text: "", status: .streaming)
                entry.answering = a.member
                conversations[id]?.upsert(entry)
            }
            conversations[id]?.turn = (a.turnID, uid, mode)
            conversations[id]?.turnReplyTo = a.replyTo
            touch(id, at: a.at)
        case .event(let event):
            guard let turn = conversations[id]?.turn, turn.id == a.turnID else { return [] }
            switch event {
            case .textDelta(let text): conversations[id]?.update(turn.uid) { $0.append(text) }
            case .segmentBreak: conversations[id]?.update(turn.uid) { if !$0.text.hasSuffix("\n") { $0.append("\n") } }
            case .tool(let toolID, let title, let status):
                let uid = "tool-" + toolID
                let text = "tool: " + title + " (" + status + ")"
                if conversations[id]?.update(uid, { $0.setText(text) }) != true { systemLine(text, in: id, at: a.at, uid: uid) }
            case .permission(let request):
                conversations[id]?.permission = request
                systemLine("the agent asks: " + request.title, in: id, at: a.at)
                say("the agent in \(name(of: id)) asks for permission (/allow or /deny)", .warning, now: now)
            case .note(let text):
                if settings.verbose { systemLine("agent: " + text, in: id, at: a.at) }
            case .thought, .usage, .finished:
                break
            }
        case .queued:
            break
        case .finished(let outcome, let text):
            guard let turn = conversations[id]?.turn, turn.id == a.turnID else { return [] }
            conversations[id]?.turn = nil
            conversations[id]?.permission = nil
            let succeeded = Self.isSuccess(outcome)
            conversations[id]?.update(turn.uid) { entry in
                guard entry.isStreaming else { return }
                if turn.mode == .draft {
                    entry.setStatus(succeeded ? .draft : .cancelled)
                } else {
                    entry.setStatus(.sending)   // the reply's own outbound event settles it
                }
            }
            switch outcome {
            case .failed(let reason):
                systemLine("the agent failed: " + reason, in: id, at: a.at)
                say("agent failed in \(name(of: id)): " + reason, .error, now: now)
            case .refused:
                systemLine("the agent refused to answer", in: id, at: a.at)
            case .cancelled(let reason):
                systemLine("agent stopped: " + reason, in: id, at: a.at)
            case .completed(let cut):
                if cut { systemLine("the answer was cut (the model's length limit)", in: id, at: a.at) }
                if turn.mode == .draft, !text.isEmpty {
                    let replyTo = conversations[id]?.turnReplyTo
                    let question = replyTo.flatMap { conversations[id]?.entry($0)?.text }
                        .map { TextSanitizer.line(String($0.split(separator: "\n", omittingEmptySubsequences: true).first ?? "")) }
                    conversations[id]?.drafts.append(DraftItem(id: a.turnID, replyTo: replyTo, question: question, text: text))
                    if id == selected { loadPendingDraft() }
                }
            }
        }
        return []
    }

    private static func isSuccess(_ outcome: AgentActivity.Outcome) -> Bool {
        if case .completed = outcome { return true }
        return false
    }

    /// Adds a line from qqtui to a conversation.
    mutating func systemLine(_ text: String, in id: ConversationID, at date: Date, uid: String? = nil) {
        let uid = uid ?? localID("sys")
        conversations[id]?.upsert(.system(text, at: date, id: uid))
    }
}
