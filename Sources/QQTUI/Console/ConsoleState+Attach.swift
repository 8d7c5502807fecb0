import Foundation
import QQSession

/// What an attached console hears from serve besides session events.
enum AttachEvent: Sendable {
    /// Serve accepted the console (again, after a reconnect).
    case welcome(pid: Int32, console: Int)
    /// The link to serve went down; the console reconnects by itself.
    case lost(String)
    /// Everything to start from (first attach, a resync after falling behind, serve restarted).
    case snapshot(ControlSnapshot)
    /// Who else is attached, what they look at and where they type.
    case presence([PresenceEntry])
    /// Another operator sent or dropped one of the agent's drafts.
    case draftTaken(ConversationID, UUID, by: String)
    /// A reply route changed (the header shows it at the next frame).
    case routesChanged
}

extension ConsoleState {
    mutating func apply(_ event: AttachEvent, now: Date) -> [Effect] {
        switch event {
        case .welcome(let pid, let console):
            let reconnected = attach?.connected == false
            attach = Attach(pid: pid, console: console, connected: true, lostReason: nil, others: attach?.others ?? [])
            sentPresence = nil
            if reconnected { say("reconnected to serve (pid \(pid))", now: now) }
            return presenceUpdate(now: now).map { [$0] } ?? []
        case .lost(let reason):
            attach?.connected = false
            attach?.lostReason = reason
            attach?.others = []
            gateway = GatewayStatus()
            return []
        case .snapshot(let snapshot):
            return resync(snapshot, now: now)
        case .presence(let consoles):
            let me = attach?.console
            attach?.others = consoles.filter { $0.console != me }
            return []
        case .draftTaken(let id, let draft, let who):
            conversations[id]?.drafts.removeAll { $0.id == draft }
            if composerDraft?.id == draft, selected == id {
                finishDraft()
                say("\(who) already answered with this draft", .warning, now: now)
            }
            return []
        case .routesChanged:
            return []
        }
    }

    /// Starts over from serve's snapshot: the list, owners, waiting users, drafts and the agent's
    /// running turns (their text so far); the conversation on screen reloads its messages.
    private mutating func resync(_ s: ControlSnapshot, now: Date) -> [Effect] {
        gateway = s.gateway
        agentName = s.agentName
        if let b = s.c2cBudget { settings.c2cBudget = b }
        if let b = s.groupBudget { settings.groupBudget = b }
        aliases = s.aliases
        aliasVersion += 1
        let me = attach?.console
        attach?.others = s.consoles.filter { $0.console != me }
        reset(to: s.conversations)
        for draft in s.drafts where draft.id != composerDraft?.id {
            ensure(draft.conversation, at: now)
            conversations[draft.conversation]?.drafts.append(DraftItem(id: draft.id, replyTo: draft.replyTo, question: nil, text: draft.text))
        }
        if let held = composerDraft, !s.drafts.contains(where: { $0.id == held.id }) {
            // Sent or dropped elsewhere while this console was away.
            finishDraft()
            say("the draft in the composer was answered while this console was away", .warning, now: now)
        }
        for turn in s.turns {
            ensure(turn.conversation, at: turn.startedAt)
            var started = AgentActivity(conversation: turn.conversation, turnID: turn.turnID,
                                        kind: .started(mode: turn.mode, backend: turn.backend, outboundID: turn.outboundID, messages: 0),
                                        at: turn.startedAt, replyTo: turn.replyTo)
            started.member = turn.member
            _ = apply(.agent(started), now: now)
            if !turn.text.isEmpty {
                _ = apply(.agent(AgentActivity(conversation: turn.conversation, turnID: turn.turnID, kind: .event(.textDelta(turn.text)),
                                               at: turn.startedAt)), now: now)
            }
        }
        guard let id = selected, conversations[id] != nil else {
            return select(order.first, open: false)
        }
        conversations[id]?.requestedFirstPage = true
        loadPendingDraft()
        guard opened else { return [.loadPage(id, before: nil)] }
        // Still on screen and opened: what arrived meanwhile is read.
        conversations[id]?.unread = 0
        return [.loadPage(id, before: nil), .markRead(id)]
    }

    /// Other operators in `conversation`: who looks at it and who types in it.
    func othersIn(_ conversation: ConversationID, now: Date) -> (viewing: [String], typing: [String]) {
        guard let others = attach?.others else { return ([], []) }
        var viewing: [String] = [], typing: [String] = []
        for p in others where p.open == conversation {
            if p.isTyping(in: conversation, now: now) { typing.append(p.operatorName) } else { viewing.append(p.operatorName) }
        }
        return (viewing, typing)
    }

    /// Whether the operator is writing a reply (not a command) in the composer.
    var isTypingReply: Bool {
        let text = composer.text
        guard !text.isEmpty, !composerHoldsDraft || draftEngaged else { return false }
        return !text.hasPrefix("/") || text.hasPrefix("//")
    }

    /// The presence to tell serve when it changed (or every 10 s while typing); nil when nothing is due.
    mutating func presenceUpdate(now: Date) -> Effect? {
        guard attach?.connected == true else { return nil }
        let typing = selected != nil && isTypingReply
        if let last = sentPresence, last.open == selected, last.typing == typing,
           !typing || now.timeIntervalSince(last.at) < 10 { return nil }
        sentPresence = (selected, typing, now)
        return .presence(selected, typing: typing)
    }
}
