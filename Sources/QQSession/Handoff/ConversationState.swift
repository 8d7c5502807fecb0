import Foundation

/// What the router knows of one conversation: its owner, the transcript the agent's context comes
/// from, how much of it the agent has seen, the running turn and the waiting draft.
struct ConversationState {
    /// One transcript message: whether the agent has seen it, and whose agent session it belongs to.
    struct Entry {
        var message: ChatMessage
        /// Increasing per conversation (positions move when old entries are dropped; this does not).
        var seq: Int
        var seen: Bool
        /// With member sessions in a group: the member it belongs to (their message, or the agent's
        /// answer to them); nil: everyone's (the operator's lines, C2C, one session per group).
        var member: String?
        /// A user message addressed to the bot (C2C, or @bot): it wants an answer.
        var addressed: Bool
    }

    var owner: Owner
    /// The router's use count when the state was last used (the least recently used idle ones go first).
    var lastUse = 0
    /// The store ticket of the last ownership change: the state stays in memory until it is committed.
    var ownershipTicket: Int?
    /// Oldest first, bounded.
    private(set) var entries: [Entry] = []
    private var nextSeq = 0
    private var ids: Set<String> = []
    private var idOrder: [String] = []
    var turn: RunningTurn?
    /// Finished drafts waiting for the operator (DRAFT mode), oldest first, one per turn.
    var drafts: [AgentDraft] = []
    /// A message addressed to the bot (C2C, or @bot in a group) has had no answer yet: the next turn
    /// is due. Group chatter not addressed to the bot joins the transcript without setting it.
    var answerDue = false
    /// The newest user message: the one a reply answers.
    var lastUserMessage: (id: String, author: String)?
    /// With member sessions: each member's newest message (what a turn for them answers).
    var lastByMember: [String: String] = [:]

    init(owner: Owner) { self.owner = owner }

    /// Adds a message (once per id); drops the oldest beyond `limit`.
    mutating func append(_ message: ChatMessage, id: String?, limit: Int, member: String? = nil, addressed: Bool = false,
                         seen: Bool = false) {
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
        entries.append(Entry(message: message, seq: nextSeq, seen: seen, member: member, addressed: addressed))
        nextSeq += 1
        trim(limit)
    }

    /// Puts the agent's reply right after the last message its turn saw (`after`, a seq), so the
    /// transcript reads question → answer even when more messages arrived during the turn.
    mutating func insertReply(_ message: ChatMessage, after seq: Int?, member: String?, limit: Int) {
        let at = seq.flatMap { s in entries.lastIndex { $0.seq <= s }.map { $0 + 1 } } ?? 0
        entries.insert(Entry(message: message, seq: nextSeq, seen: true, member: member, addressed: false), at: at)
        nextSeq += 1
        trim(limit)
    }

    private mutating func trim(_ limit: Int) {
        guard entries.count > limit else { return }
        entries.removeFirst(entries.count - limit)
    }

    /// Whether an entry is in `member`'s context (nil: every entry is).
    private static func belongs(_ e: Entry, to member: String?) -> Bool {
        guard let member else { return true }
        return e.member == nil ? e.message.role != .user : e.member == member
    }

    /// Messages the agent has not seen (of `member`'s session, when given).
    func unseen(for member: String? = nil) -> [ChatMessage] {
        entries.filter { !$0.seen && Self.belongs($0, to: member) }.map(\.message)
    }

    /// The transcript the agent has seen (of `member`'s session), newest `limit` of it.
    func history(limit: Int, for member: String? = nil) -> [ChatMessage] {
        Array(entries.filter { $0.seen && Self.belongs($0, to: member) }.suffix(limit).map(\.message))
    }

    /// Marks what a turn now sees (of `member`'s session): returns their seqs (to undo) and the
    /// newest seq of the transcript (where the reply goes).
    mutating func markSeen(for member: String? = nil) -> (seqs: [Int], last: Int?) {
        var seqs: [Int] = []
        for i in entries.indices where !entries[i].seen && Self.belongs(entries[i], to: member) {
            entries[i].seen = true
            seqs.append(entries[i].seq)
        }
        return (seqs, entries.last?.seq)
    }

    /// A stopped turn's messages go to the next turn again.
    mutating func markUnseen(_ seqs: [Int]) {
        let set = Set(seqs)
        for i in entries.indices where set.contains(entries[i].seq) { entries[i].seen = false }
    }

    /// Marks everything up to the agent's last reply as seen (a conversation read back from the store).
    mutating func markSeenThroughLastReply() {
        guard let last = entries.lastIndex(where: { $0.message.author == "agent" }) else { return }
        for i in 0...last { entries[i].seen = true }
    }

    /// The member whose addressed message has waited longest for the agent (member sessions).
    var nextMember: String? {
        entries.first { !$0.seen && $0.addressed && $0.member != nil }?.member
    }

    /// Some addressed message is still unseen.
    var hasUnseenAddressed: Bool { entries.contains { !$0.seen && $0.addressed } }
}

/// A turn in progress. Confined to the router actor.
final class RunningTurn {
    let id: UUID
    let mode: Owner
    let writer: ReplyWriter?
    /// The transcript entries this turn saw (made unseen again when it is redone).
    let seenSeqs: [Int]
    /// The newest entry when it started (its answer goes right after).
    let seenUpTo: Int?
    /// With member sessions: the group member it answers.
    let member: String?
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

    init(id: UUID, mode: Owner, writer: ReplyWriter?, seenSeqs: [Int], seenUpTo: Int?, member: String?, replyTo: String?,
         startedAt: SessionClock.Instant) {
        self.id = id
        self.replyTo = replyTo
        self.startedAt = startedAt
        self.mode = mode
        self.writer = writer
        self.seenSeqs = seenSeqs
        self.seenUpTo = seenUpTo
        self.member = member
    }
}
