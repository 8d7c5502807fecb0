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

/// Per inbound msg_id ledger of msg_seq and reply budget. An entry lives as long as its reply window,
/// and each conversation keeps only its newest ``kept(in:)``, so memory is bounded however much
/// traffic arrives. Entries are held compactly (a burst over 1,000 groups holds 32,000 of them): a
/// ``Slot`` shares its conversation's id with the conversation's list instead of a copy per message.
struct MsgSeqLedger: Sendable {
    /// One entry, without its msg_id (the key) and with small counters.
    private struct Slot: Sendable {
        var conversation: ConversationID
        var windowEnds: Date
        var nextSeq: Int
        var repliesUsed: Int16
        var budget: Int16
        var isEvent: Bool

        init(_ e: LedgerEntry, conversation: ConversationID) {
            self.conversation = conversation
            windowEnds = e.windowEnds
            nextSeq = e.nextSeq
            repliesUsed = Int16(clamping: e.repliesUsed)
            budget = Int16(clamping: e.budget)
            isEvent = e.isEvent
        }

        func entry(_ msgID: String) -> LedgerEntry {
            LedgerEntry(msgID: msgID, conversation: conversation, nextSeq: nextSeq, repliesUsed: Int(repliesUsed),
                        budget: Int(budget), windowEnds: windowEnds, isEvent: isEvent)
        }
    }

    private var map: [String: Slot] = [:]
    /// Per conversation, the ids of its recent entries (newest last), for picking a reply target.
    private var recent: [ConversationID: [String]] = [:]
    /// `recent` is pruned when it holds this many conversations (twice what stayed live last time:
    /// amortised, never a scan per message while every conversation is still live).
    private var pruneAt = 4096
    /// Entries added since expired ones were last swept out (a sweep every `max(4096, count)` additions
    /// keeps the work per message constant).
    private var addedSinceSweep = 0
    /// Most entries kept at once (the ones closest to expiry go first beyond it).
    let capacity: Int
    let window: ReplyWindow
    /// Entries kept per conversation (its newest messages).
    /// A group's newest 32 messages (a member's turn answers their own message, which may be far
    /// back in a busy group); a private chat's newest 8 (every message there is the same user's).
    static func kept(in conversation: ConversationID) -> Int { conversation.isGroup ? 32 : 8 }

    init(window: ReplyWindow, capacity: Int = 500_000) {
        self.window = window
        self.capacity = max(1, capacity)
    }

    /// Entries held (after purging expired ones).
    mutating func count(now: Date) -> Int {
        sweep(now: now)
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
        if let existing = entry(msgID, now: now) { return existing }
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
        let (index, conversation) = held(entry)
        let keep = Self.kept(in: conversation)
        var ids: [String]
        if let index {
            ids = recent.values[index]
            recent.values[index] = []  // unique, so appending below does not copy
        } else {
            ids = []
            ids.reserveCapacity(keep + 1)
        }
        ids.append(entry.msgID)
        if ids.count > keep {
            // A reply goes to one of a conversation's newest messages: older entries are let go
            // instead of holding one per message for an hour (a million messages held ~300 MB).
            let drop = ids.count - keep
            for old in ids.prefix(drop) { map[old] = nil }
            ids.removeFirst(drop)
        }
        if let index { recent.values[index] = ids } else { recent[conversation] = ids }
        addedSinceSweep += 1
        if map.count > capacity || addedSinceSweep >= max(4096, map.count) { sweep(now: now) }
        if recent.count >= pruneAt { pruneRecent(now: now) }
    }

    /// Stores `entry`'s slot with its conversation's id as already held (every entry of a conversation
    /// shares one copy); the conversation's place in `recent`, if it has one.
    private mutating func held(_ entry: LedgerEntry) -> (Dictionary<ConversationID, [String]>.Index?, ConversationID) {
        let index = recent.index(forKey: entry.conversation)
        let conversation = index.map { recent.keys[$0] } ?? entry.conversation
        map[entry.msgID] = Slot(entry, conversation: conversation)
        return (index, conversation)
    }

    /// Drops expired entries and, beyond `capacity`, the ones closest to expiry.
    private mutating func sweep(now: Date) {
        addedSinceSweep = 0
        map = map.filter { $0.value.windowEnds > now }
        if map.count > capacity {
            let overflow = map.count - capacity * 3 / 4
            for (id, _) in map.sorted(by: { $0.value.windowEnds < $1.value.windowEnds }).prefix(overflow) { map[id] = nil }
        }
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
            if self.entry(entry.msgID, now: now) != nil { restore(entry, now: now) } else { track(entry, now: now) }
        }
    }

    /// Puts back an entry saved by an earlier run (its msg_seq counter and budget continue).
    mutating func restore(_ entry: LedgerEntry, now: Date) {
        guard entry.windowEnds > now else { return }
        if let existing = self.entry(entry.msgID, now: now), existing.nextSeq >= entry.nextSeq { return }
        let (index, _) = held(entry)
        var ids = index.map { recent.values[$0] } ?? []
        if !ids.contains(entry.msgID) { ids.append(entry.msgID) }
        recent[entry.conversation] = ids
    }

    /// Catches up with what another process on the same store used: the larger msg_seq counter and
    /// reply count win.
    mutating func merge(_ saved: LedgerEntry, now: Date) {
        guard entry(saved.msgID, now: now) != nil else { return restore(saved, now: now) }
        update(saved.msgID, now: now) { e in
            e.nextSeq = max(e.nextSeq, saved.nextSeq)
            e.repliesUsed = max(e.repliesUsed, Int16(clamping: saved.repliesUsed))
        }
    }

    /// Changes a live entry in place.
    private mutating func update(_ msgID: String, now: Date, _ change: (inout Slot) -> Void) {
        guard let i = map.index(forKey: msgID), map.values[i].windowEnds > now else { return }
        change(&map.values[i])
    }

    /// Drops conversations whose entries have all expired (keeps `recent` bounded).
    private mutating func pruneRecent(now: Date) {
        recent = recent.compactMapValues { ids in
            let live = ids.filter { map[$0].map { $0.windowEnds > now } ?? false }
            return live.isEmpty ? nil : live
        }
        pruneAt = max(4096, recent.count * 2)
    }

    /// Live entries of `conversation`, newest first.
    func entries(of conversation: ConversationID, now: Date) -> [LedgerEntry] {
        (recent[conversation] ?? []).reversed().compactMap { entry($0, now: now) }
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
        if let preferred, let e = entry(preferred, now: now), usable(e) { return e }
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
        update(msgID, now: now) { $0.repliesUsed = max(0, $0.repliesUsed - 1) }
    }

    /// Marks an entry unusable after the platform said its window or budget is over.
    mutating func exhaust(_ msgID: String, now: Date) {
        update(msgID, now: now) { $0.repliesUsed = $0.budget }
    }

    /// The live entry of `msgID` (nil once the window closed).
    func entry(_ msgID: String, now: Date) -> LedgerEntry? {
        guard let slot = map[msgID], slot.windowEnds > now else { return nil }
        return slot.entry(msgID)
    }

    /// Takes the next msg_seq for a reply to `msgID` (nil when the window closed).
    mutating func takeSeq(_ msgID: String, now: Date) -> Int? {
        var taken: Int?
        update(msgID, now: now) { e in
            taken = e.nextSeq
            e.nextSeq += 1
        }
        return taken
    }

    /// Counts one passive reply against the budget.
    mutating func recordReply(_ msgID: String, now: Date) {
        update(msgID, now: now) { $0.repliesUsed = $0.repliesUsed &+ ($0.repliesUsed < .max ? 1 : 0) }
    }
}
