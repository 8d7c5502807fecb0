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

    /// Replies still allowed.
    public var repliesLeft: Int { max(0, budget - repliesUsed) }
}

/// Per inbound msg_id ledger of msg_seq and reply budget, as a TTL map: an entry lives exactly as
/// long as its reply window, so memory is bounded however much traffic arrives.
struct MsgSeqLedger: Sendable {
    private var map: ExpiringMap<String, LedgerEntry>
    let window: ReplyWindow

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
    mutating func register(msgID: String, conversation: ConversationID, start: Date, now: Date) -> LedgerEntry {
        if let existing = map.value(for: msgID, now: now) { return existing }
        let ends = start.addingTimeInterval(windowLength(for: conversation).seconds)
        let entry = LedgerEntry(msgID: msgID, conversation: conversation, nextSeq: 1, repliesUsed: 0,
                                budget: window.budget, windowEnds: ends)
        if ends > now { map.set(msgID, entry, expiresAt: ends, now: now) }
        return entry
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
