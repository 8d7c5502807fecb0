import Foundation

/// The reply budget of one inbound message: next `msg_seq`, replies used, and when the window closes.
public struct LedgerEntry: Sendable, Hashable, Codable {
    /// The inbound message id (`msg_id`).
    public var msgID: String
    /// Its conversation.
    public var conversation: ConversationID
    /// The `msg_seq` the next reply will use (starts at 1, never repeats).
    public var nextSeq: Int
    /// Passive replies already sent.
    public var repliesUsed: Int
    /// Passive replies allowed.
    public var budget: Int
    /// When the platform stops accepting passive replies.
    public var windowEnds: Date
    /// True for an event (friend added, bot added): replies carry `event_id` instead of `msg_id`.
    public var isEvent: Bool = false

    /// Replies still allowed.
    public var repliesLeft: Int { max(0, budget - repliesUsed) }
}

/// Per inbound msg_id ledger of msg_seq and reply budget, as a TTL map: an entry lives exactly as
/// long as its reply window, so memory is bounded however much traffic arrives.
struct MsgSeqLedger: Sendable {
    private var map: ExpiringMap<String, LedgerEntry>
    /// Per conversation, the ids of its recent entries (newest last), for picking a reply target.
    private var recent: [ConversationID: [String]] = [:]
    /// `recent` is pruned when it holds this many conversations (twice what stayed live last time:
    /// amortised, never a scan per message while every conversation is still live).
    private var pruneAt = 4096
    let window: ReplyWindow
    /// Entries kept per conversation (its newest messages).
    /// A group's newest 32 messages (a member's turn answers their own message, which may be far
    /// back in a busy group); a private chat's newest 8 (every message there is the same user's).
    static func kept(in conversation: ConversationID) -> Int { conversation.isGroup ? 32 : 8 }

    init(window: ReplyWindow, capacity: Int = 500_000) {
        self.window = window
        self.map = ExpiringMap(capacity: capacity)
    }

    /// Entries held (after purging expired ones).
    mutating func count(now: Date) -> Int {
        map.removeExpired(now: now)
        return map.count
    }

    /// The window length for a conversation kind.
    func windowLength(for conversation: ConversationID) -> Duration {
        conversation.isGroup ? window.group : window.c2c
    }

    /// Opens the ledger entry of an inbound message that arrived at `start`; returns the entry.
    /// A message seen again keeps its entry (and its msg_seq counter).
    @discardableResult
    mutating func register(msgID: String, conversation: ConversationID, start: Date, now: Date,
                           isEvent: Bool = false) -> LedgerEntry {
        if let existing = map.value(for: msgID, now: now) { return existing }
        let entry = fresh(msgID: msgID, conversation: conversation, start: start, isEvent: isEvent)
        if entry.windowEnds > now { track(entry, now: now) }
        return entry
    }

    /// The entry of a message that arrived at `start` and has had no reply yet.
    func fresh(msgID: String, conversation: ConversationID, start: Date, isEvent: Bool = false) -> LedgerEntry {
        LedgerEntry(msgID: msgID, conversation: conversation, nextSeq: 1, repliesUsed: 0, budget: window.budget(for: conversation),
                    windowEnds: start.addingTimeInterval(windowLength(for: conversation).seconds), isEvent: isEvent)
    }

    /// Holds `entry` as its conversation's newest, letting the oldest go beyond ``kept(in:)``.
    private mutating func track(_ entry: LedgerEntry, now: Date) {
        map.set(entry.msgID, entry, expiresAt: entry.windowEnds, now: now)
        var ids = recent[entry.conversation, default: []]
        ids.append(entry.msgID)
        let keep = Self.kept(in: entry.conversation)
        if ids.count > keep {
            // A reply goes to one of a conversation's newest messages: older entries are let go
            // instead of holding one per message for an hour (a million messages held ~300 MB).
            let drop = ids.count - keep
            for old in ids.prefix(drop) { map.remove(old) }
            ids.removeFirst(drop)
        }
        recent[entry.conversation] = ids
        if recent.count >= pruneAt { pruneRecent(now: now) }
    }

    /// What a start reloads: the entries an earlier run saved (those that were used: their counters
    /// continue), and fresh ones for the messages received since `inbound` covers that were not (an
    /// unanswered message's entry is implied by its stored row and never written). Oldest first, each
    /// conversation keeping its newest ``kept(in:)``.
    mutating func restore(saved: [LedgerEntry], inbound: [InboundStart], now: Date) {
        var byID = Dictionary(saved.map { ($0.msgID, $0) }, uniquingKeysWith: { a, b in a.nextSeq >= b.nextSeq ? a : b })
        var all = inbound.map { m in byID.removeValue(forKey: m.msgID) ?? fresh(msgID: m.msgID, conversation: m.conversation, start: m.start) }
        all += byID.values
        for (_, entry) in all.enumerated().sorted(by: { ($0.element.windowEnds, $0.offset) < ($1.element.windowEnds, $1.offset) })
        where entry.windowEnds > now {
            if map.value(for: entry.msgID, now: now) != nil { restore(entry, now: now) } else { track(entry, now: now) }
        }
    }

    /// Puts back an entry saved by an earlier run (its msg_seq counter and budget continue).
    mutating func restore(_ entry: LedgerEntry, now: Date) {
        guard entry.windowEnds > now else { return }
        if let existing = map.value(for: entry.msgID, now: now), existing.nextSeq >= entry.nextSeq { return }
        map.set(entry.msgID, entry, expiresAt: entry.windowEnds, now: now)
        var ids = recent[entry.conversation, default: []]
        if !ids.contains(entry.msgID) { ids.append(entry.msgID) }
        recent[entry.conversation] = ids
    }

    /// Catches up with what another process on the same store used: the larger msg_seq counter and
    /// reply count win.
    mutating func merge(_ saved: LedgerEntry, now: Date) {
        guard map.value(for: saved.msgID, now: now) != nil else { return restore(saved, now: now) }
        map.update(saved.msgID, now: now) { e in
            e.nextSeq = max(e.nextSeq, saved.nextSeq)
            e.repliesUsed = max(e.repliesUsed, saved.repliesUsed)
        }
    }

    /// Drops conversations whose entries have all expired (keeps `recent` bounded).
    private mutating func pruneRecent(now: Date) {
        recent = recent.compactMapValues { ids in
            let live = ids.filter { map.value(for: $0, now: now) != nil }
            return live.isEmpty ? nil : live
        }
        pruneAt = max(4096, recent.count * 2)
    }

    /// Live entries of `conversation`, newest first.
    func entries(of conversation: ConversationID, now: Date) -> [LedgerEntry] {
        (recent[conversation] ?? []).reversed().compactMap { map.value(for: $0, now: now) }
    }

    /// The route a reply would take now: `preferred` (or the newest message of the conversation) while
    /// its window (minus `margin`) is open and its budget lasts, else proactive, else refused.
    func route(for conversation: ConversationID, preferred: String?, margin: Duration, proactive: Bool,
               now: Date) -> ReplyRoute {
        if let entry = candidate(for: conversation, preferred: preferred, margin: margin, now: now) {
            return entry.isEvent
                ? .passiveEvent(eventID: entry.msgID, windowEnds: entry.windowEnds, repliesLeft: entry.repliesLeft)
                : .passive(msgID: entry.msgID, windowEnds: entry.windowEnds, repliesLeft: entry.repliesLeft)
        }
        if proactive { return .proactive }
        return .refused(reason: "no reply window is open in \(conversation) and proactive messages are off ([replies] proactive)")
    }

    private func candidate(for conversation: ConversationID, preferred: String?, margin: Duration,
                           now: Date) -> LedgerEntry? {
        let usable = { (e: LedgerEntry) in
            e.conversation == conversation && e.repliesLeft > 0 && e.windowEnds.timeIntervalSince(now) > margin.seconds
        }
        if let preferred, let e = map.value(for: preferred, now: now), usable(e) { return e }
        return entries(of: conversation, now: now).first(where: usable)
    }

    /// Picks the route and, for a passive one, takes its msg_seq and one reply of its budget, atomically.
    mutating func reserve(for conversation: ConversationID, preferred: String?, margin: Duration, proactive: Bool,
                          now: Date) -> Reservation {
        let route = route(for: conversation, preferred: preferred, margin: margin, proactive: proactive, now: now)
        switch route {
        case .passive(let id, _, _), .passiveEvent(let id, _, _):
            let seq = takeSeq(id, now: now)
            recordReply(id, now: now)
            return Reservation(route: route, seq: seq)
        default:
            return Reservation(route: route, seq: nil)
        }
    }

    /// Gives back a reply the platform refused (its msg_seq stays used: msg_seq never repeats).
    mutating func refundReply(_ msgID: String, now: Date) {
        map.update(msgID, now: now) { $0.repliesUsed = max(0, $0.repliesUsed - 1) }
    }

    /// Marks an entry unusable after the platform said its window or budget is over.
    mutating func exhaust(_ msgID: String, now: Date) {
        map.update(msgID, now: now) { $0.repliesUsed = $0.budget }
    }

    /// The live entry of `msgID` (nil once the window closed).
    func entry(_ msgID: String, now: Date) -> LedgerEntry? {
        map.value(for: msgID, now: now)
    }

    /// Takes the next msg_seq for a reply to `msgID` (nil when the window closed).
    mutating func takeSeq(_ msgID: String, now: Date) -> Int? {
        var taken: Int?
        map.update(msgID, now: now) { e in
            taken = e.nextSeq
            e.nextSeq += 1
        }
        return taken
    }

    /// Counts one passive reply against the budget.
    mutating func recordReply(_ msgID: String, now: Date) {
        map.update(msgID, now: now) { $0.repliesUsed += 1 }
    }
}
