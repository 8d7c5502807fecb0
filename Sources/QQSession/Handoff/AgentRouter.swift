import Foundation
import Logging

/// Who answers each conversation (HUMAN / AGENT / DRAFT), and the agent turns of the conversations
/// the agent answers. The gate is here, in the session, not in any screen: a human-owned
/// conversation never reaches the agent.
actor AgentRouter {
    let backend: (any AgentBackend)?
    let policy: HandoffPolicy
    let store: MessageStore?
    let emit: @Sendable (SessionEvent) -> Void
    let makeWriter: @Sendable (ConversationID, String?) -> ReplyWriter
    /// Sends the agent side's short messages (the human button, its answer): conversation, the
    /// message answered, text, buttons; false when skipped (it would take the last passive reply).
    let sendLine: @Sendable (ConversationID, String?, String, Keyboard?) async -> Bool
    /// Sends the typing notice as a reply to a message; false when it was not sent (no reply to spare).
    let sendTyping: @Sendable (ConversationID, String?) async -> Bool
    let logger: Logger
    /// What the turn timeouts are measured on.
    let clock: SessionClock
    var conversations: [ConversationID: ConversationState] = [:]
    /// Uses of a state so far: each state keeps the number of its last use (``ConversationState/lastUse``),
    /// and the least recently used idle ones are let go first (`AgentRouter+Eviction.swift`).
    var uses = 0
    /// Above this many states the next new one starts a sweep.
    var sweepAt = 0
    /// Turns finished since the last sweep: after a burst, the conversations it made wait, busy, until
    /// their turns end; a sweep then lets them go.
    var turnsSinceSweep = 0
    /// Replies whose turn is over but that are still being sent (by turn id).
    var delivering: [UUID: ReplyWriter] = [:]
    /// Set by ``shutdown()``: no new turns.
    var stopping = false
    /// Turns holding one of ``HandoffPolicy/maxConcurrentTurns``, and the conversations waiting for one.
    var runningTurns = 0
    var waitingForTurn = WaitingLine()
    /// Transcript entries kept per conversation.
    static let transcriptLimit = 200

    init(backend: (any AgentBackend)?, policy: HandoffPolicy, store: MessageStore?, logger: Logger, clock: SessionClock = .continuous,
         emit: @escaping @Sendable (SessionEvent) -> Void, makeWriter: @escaping @Sendable (ConversationID, String?) -> ReplyWriter,
         sendLine: @escaping @Sendable (ConversationID, String?, String, Keyboard?) async -> Bool = { _, _, _, _ in false },
         sendTyping: @escaping @Sendable (ConversationID, String?) async -> Bool = { _, _ in false }) {
        self.sendLine = sendLine
        self.sendTyping = sendTyping
        self.backend = backend
        self.clock = clock
        self.policy = policy
        self.store = store
        self.logger = logger
        self.emit = emit
        self.makeWriter = makeWriter
    }

    // MARK: - Ownership

    /// The conversation's owner.
    func owner(of conversation: ConversationID) -> Owner { state(conversation).owner }

    /// Changes the owner (audited). Taking a conversation back stops the running turn at once; handing
    /// it over answers a waiting user.
    @discardableResult
    func setOwner(_ owner: Owner, for conversation: ConversationID, actor: String, reason: String?) -> Bool {
        var s = state(conversation)
        guard s.owner != owner else { return true }
        if owner != .human, backend == nil {
            emit(.notice(Notice(level: .warning, kind: .agentError, message:
                "no agent is configured ([agent] in the config file): \(conversation) stays with the operator", subject: conversation.description)))
            return false
        }
        s.owner = owner
        s.ownershipTicket = record(OwnershipChange(conversation: conversation, owner: owner.rawValue, actor: actor, reason: reason))
        conversations[conversation] = s
        if let turn = s.turn, turn.mode != owner {
            let why = owner == .human ? "taken back by \(actor)" : "the conversation went to \(owner.rawValue)"
            stopTurn(conversation, outcome: .cancelled(reason: why))
        }
        if owner != .human, policy.answerPendingOnHandover, state(conversation).answerDue {
            startTurnIfIdle(conversation)
        }
        return true
    }

    /// Stores and reports an ownership change; returns its store ticket.
    private func record(_ change: OwnershipChange) -> Int? {
        let ticket = store?.enqueue([.ownership(change)])
        emit(.ownership(change))
        logger.info("owner changed", metadata: ["conversation": "\(change.conversation)", "owner": "\(change.owner)",
                                                "by": "\(change.actor)"])
        return ticket
    }

    /// The state of a conversation, created on first use: its owner from the store's ownership log
    /// (else the configured default, recorded), its recent messages as the agent's context.
    func state(_ conversation: ConversationID) -> ConversationState {
        uses += 1
        if let i = conversations.index(forKey: conversation) {
            conversations.values[i].lastUse = uses
            return conversations.values[i]
        }
        sweepIfNeeded()
        var owner: Owner?
        var recent: [StoredMessage] = []
        var unreadable = false
        // A conversation whose first message this process just stored has no owner or history to read.
        if let store, !store.started.take(conversation) {
            do {
                (owner, recent) = try store.ownerAndRecentMessages(in: conversation, limit: policy.historyMessages)
            } catch {
                // Its owner is unknown (the operator may have taken it back): the operator keeps it,
                // unrecorded, until the store can say (a state nobody records may be let go and read again).
                logger.error("cannot read a conversation's owner", metadata: ["error": "\(error)"])
                unreadable = true
            }
        }
        var s = ConversationState(owner: owner ?? (unreadable ? .human : policy.defaultOwner))
        s.lastUse = uses
        let members = memberSessions(conversation)
        var authors: [String: String] = [:]
        for m in recent { Self.seed(&s, with: m, members: members, authors: &authors) }
        // Everything up to the agent's last reply was seen by it; what came after is its catch-up.
        s.markSeenThroughLastReply()
        s.answerDue = s.entries.last?.message.role == .user
        if owner == nil, !unreadable, policy.defaultOwner != .human {
            s.ownershipTicket = record(OwnershipChange(conversation: conversation, owner: policy.defaultOwner.rawValue,
                                                       actor: "config", reason: "[handoff] default_owner"))
        }
        conversations[conversation] = s
        return s
    }

    /// One stored message into the transcript. With member sessions, a user's message belongs to its
    /// author and the agent's reply to the author of the message it answered.
    private static func seed(_ s: inout ConversationState, with m: StoredMessage, members: Bool, authors: inout [String: String]) {
        if m.direction == "in" {
            guard m.kind != "interaction" else { return }
            let addressed = m.source != "group"
            s.append(ChatMessage(role: .user, author: m.author, text: m.text, at: m.createdAt), id: m.uid, limit: transcriptLimit,
                     member: members ? m.author : nil, addressed: addressed)
            if let author = m.author {
                s.lastUserMessage = (m.uid, author)
                authors[m.uid] = author
                if members { s.lastByMember[author] = m.uid }
            }
        } else if ["sent", "cancelled"].contains(m.status), !m.text.isEmpty, m.origin != "auto" {
            let agent = m.origin == "agent"
            s.append(ChatMessage(role: .assistant, author: agent ? "agent" : "operator", text: m.text, at: m.createdAt),
                     id: m.uid, limit: transcriptLimit, member: members && agent ? m.replyTo.flatMap { authors[$0] } : nil)
        }
    }

    /// Whether `conversation` keeps one agent session per member.
    func memberSessions(_ conversation: ConversationID) -> Bool {
        conversation.isGroup && policy.groupSessions == .member
    }

    /// After a restart: of the conversations whose user was left waiting, those the agent owns get a
    /// turn now when the passive reply window of the user's last message is still open; the others
    /// stay WAITING for the operator. Returns both lists.
    func recover(_ waiting: [ConversationID], windowOpen: @Sendable (String) -> Bool)
        -> (answered: [ConversationID], leftWaiting: [ConversationID]) {
        guard backend != nil else { return ([], []) }
        var answered: [ConversationID] = [], left: [ConversationID] = []
        for conversation in waiting {
            let s = state(conversation)
            guard s.owner != .human, s.answerDue, let last = s.lastUserMessage else { continue }
            if windowOpen(last.id) {
                startTurnIfIdle(conversation)
                answered.append(conversation)
            } else {
                left.append(conversation)
            }
        }
        return (answered, left)
    }

    // MARK: - Messages in and out

    /// A user message passed the filters and is stored: give it to the agent if the agent answers here.
    func inbound(_ message: InboundMessage) {
        var s = state(message.conversation)
        let images = message.attachments.compactMap { $0.isImage ? $0.localPath : nil }
        // Without an agent nobody reads the transcript: not kept (200 messages × every conversation).
        // A group chat not addressed to the bot is context for the agent, not a question.
        let addressed = !(message.source == .group && policy.groupMentionOnly)
        let members = memberSessions(message.conversation)
        if backend != nil {
            s.append(ChatMessage(role: .user, author: message.author.openID, text: message.text, at: message.timestamp, images: images),
                     id: message.id, limit: Self.transcriptLimit, member: members ? message.author.openID : nil, addressed: addressed)
        }
        s.lastUserMessage = (message.id, message.author.openID)
        if members { s.lastByMember[message.author.openID] = message.id }
        if addressed { s.answerDue = true }
        conversations[message.conversation] = s
        guard addressed, s.owner != .human, backend != nil, !stopping else { return }
        if let turn = s.turn {
            switch policy.busy {
            case .queue:
                emit(.agent(AgentActivity(conversation: message.conversation, turnID: turn.id,
                                          kind: .queued(messageID: message.id, waiting: s.unseen().count { $0.role == .user }))))
                // answerDue stays set: the next turn starts when this one ends.
            case .interrupt:
                stopTurn(message.conversation, outcome: .cancelled(reason: "a newer message arrived"), redo: true)
                startTurnIfIdle(message.conversation)
            }
        } else {
            startTurnIfIdle(message.conversation)
        }
    }

    /// The operator sent a message by hand: it joins the agent's context, and in an agent-owned
    /// conversation it takes the conversation back (the agent stops talking over a colleague).
    func operatorSent(_ text: String, to conversation: ConversationID, id: String) {
        var s = state(conversation)
        s.append(ChatMessage(role: .assistant, author: "operator", text: text), id: id, limit: Self.transcriptLimit)
        s.answerDue = false
        conversations[conversation] = s
        if s.owner == .agent, policy.operatorReplyTakesOver {
            setOwner(.human, for: conversation, actor: "operator", reason: "the operator replied by hand")
        }
    }

    // MARK: - Drafts and permissions

    /// The drafts waiting for the operator, oldest first.
    func drafts(for conversation: ConversationID) -> [AgentDraft] { conversations[conversation]?.drafts ?? [] }

    /// Every conversation's waiting drafts.
    func allDrafts() -> [ConversationID: [AgentDraft]] {
        conversations.compactMapValues { $0.drafts.isEmpty ? nil : $0.drafts }
    }

    /// Takes a waiting draft (the oldest when `id` is nil); it is gone from the router.
    func takeDraft(_ id: UUID?, in conversation: ConversationID) -> AgentDraft? {
        guard var s = conversations[conversation] else { return nil }
        let index = id.map { id in s.drafts.firstIndex { $0.id == id } } ?? s.drafts.indices.first
        guard let i = index else { return nil }
        let draft = s.drafts.remove(at: i)
        conversations[conversation] = s
        return draft
    }

    /// Answers the running turn's permission request.
    func answerPermission(_ requestID: String, optionID: String?, in conversation: ConversationID) async {
        guard let turn = conversations[conversation]?.turn?.agentTurn else { return }
        await turn.answer(requestID, optionID: optionID)
    }

    /// True while a turn runs in the conversation.
    func isBusy(_ conversation: ConversationID) -> Bool { conversations[conversation]?.turn != nil }

    /// The newest user message the router has taken in for the conversation (what a reply answers).
    func lastUserMessageID(in conversation: ConversationID) -> String? { conversations[conversation]?.lastUserMessage?.id }

    // MARK: - Stopping

    /// Stops taking turns; running turns are cancelled, their C2C streams closed with a final frame.
    func shutdown() async {
        stopping = true
        var waits: [Task<Void, Never>] = []
        for (conversation, s) in conversations where s.turn != nil {
            if let t = stopTurn(conversation, outcome: .cancelled(reason: "qqtui is stopping")) { waits.append(t) }
        }
        // Replies the agent has finished but that are still going out (a long rest, paced): stopped
        // now, their streams closed validly, their rows cancelled.
        for (_, writer) in delivering { waits.append(Task { _ = await writer.cancel() }) }
        for w in waits { await w.value }
        await backend?.shutdown()
    }
}
