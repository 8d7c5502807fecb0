import Foundation

/// What the router knows of one conversation: its owner, the transcript the agent's context comes
/// from, how much of it the agent has seen, the running turn and the waiting draft.
struct ConversationState {
    var owner: Owner
    /// Oldest first, bounded.
    private(set) var transcript: [ChatMessage] = []
    private var ids: Set<String> = []
    private var idOrder: [String] = []
    /// How many transcript entries the agent has seen (the rest is its catch-up).
    var seen = 0
    var turn: RunningTurn?
    /// Finished drafts waiting for the operator (DRAFT mode), oldest first, one per turn.
    var drafts: [AgentDraft] = []
    /// A message addressed to the bot (C2C, or @bot in a group) has had no answer yet: the next turn
    /// is due. Group chatter not addressed to the bot joins the transcript without setting it.
    var answerDue = false
    /// The newest user message: the one a reply answers.
    var lastUserMessage: (id: String, author: String)?

    init(owner: Owner) { self.owner = owner }

    /// Adds a message (once per id); drops the oldest beyond `limit`.
    mutating func append(_ message: ChatMessage, id: String?, limit: Int) {
        if let id {
            guard ids.insert(id).inserted else { return }
            // Ids are remembered a while longer than their messages (a catch-up page may repeat
            // them), not forever: a busy conversation kept every id it ever saw.
            idOrder.append(id)
            if idOrder.count > limit * 2 {
                let drop = idOrder.count - limit
                for old in idOrder.prefix(drop) { ids.remove(old) }
                idOrder.removeFirst(drop)
            }
        }
        transcript.append(message)
        trim(limit)
    }

    /// Puts the agent's reply right after what it had seen when it started, so the transcript reads
    /// question → answer even when more messages arrived during the turn.
    mutating func insertReply(_ message: ChatMessage, seenAtStart: Int, limit: Int) {
        let at = min(max(0, seenAtStart), transcript.count)
        transcript.insert(message, at: at)
        seen = max(seen, at + 1)
        trim(limit)
    }

    private mutating func trim(_ limit: Int) {
        guard transcript.count > limit else { return }
        let drop = transcript.count - limit
        transcript.removeFirst(drop)
        seen = max(0, seen - drop)
    }

    /// Messages the agent has not seen.
    var unseen: ArraySlice<ChatMessage> { transcript[min(seen, transcript.count)...] }


    /// The transcript the agent has seen, newest `limit` of it.
    func history(limit: Int) -> [ChatMessage] {
        let end = min(seen, transcript.count)
        return Array(transcript[max(0, end - limit)..<end])
    }
}

/// A turn in progress. Confined to the router actor.
final class RunningTurn {
    let id: UUID
    let mode: Owner
    let writer: ReplyWriter?
    /// The agent's `seen` mark before this turn (where its input starts).
    let seenBefore: Int
    /// The transcript length when it started (where its answer goes).
    let seenAtStart: Int
    /// The user message the turn answers.
    let replyTo: String?
    let startedAt: SessionClock.Instant
    var lastEventAt: SessionClock.Instant?
    var agentTurn: (any AgentTurn)?
    var text = ""
    /// Characters of `text` (counted as they come: the reply cap).
    var length = 0
    /// The reply reached ``HandoffPolicy/maxReplyLength``.
    var capped = false
    var stopReason: StopReason?
    var task: Task<Void, Never>?
    var watchdog: Task<Void, Never>?
    /// Sends the typing notice until the first words (nil: none).
    var typing: Task<Void, Never>?

    init(id: UUID, mode: Owner, writer: ReplyWriter?, seenBefore: Int, seenAtStart: Int, replyTo: String?,
         startedAt: SessionClock.Instant) {
        self.id = id
        self.replyTo = replyTo
        self.startedAt = startedAt
        self.mode = mode
        self.writer = writer
        self.seenBefore = seenBefore
        self.seenAtStart = seenAtStart
    }
}
