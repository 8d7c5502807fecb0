import Foundation
import Synchronization

/// The msg_seq ledger shared by the inbound side (which opens entries) and the reply side, written
/// through to the store: every change is queued for the next commit, which a send awaits before its
/// POST, so a restart never reuses a msg_seq. A message's fresh entry (nothing used yet) is not
/// written: its stored row implies it, and a start derives it from there (`restore(saved:inbound:now:)`).
/// An event's entry is written at once (no row of its own holds it).
final class LedgerBox: Sendable {
    private let ledger: Mutex<MsgSeqLedger>
    private let persist: (@Sendable (LedgerEntry) -> Void)?

    init(window: ReplyWindow, persist: (@Sendable (LedgerEntry) -> Void)? = nil) {
        ledger = Mutex(MsgSeqLedger(window: window))
        self.persist = persist
    }

    private func changed(_ id: String, now: Date) {
        guard let persist, let entry = ledger.withLock({ $0.entry(id, now: now) }) else { return }
        persist(entry)
    }

    /// Puts back entries loaded from the store (their counters continue).
    func restore(_ entries: [LedgerEntry], now: Date) {
        ledger.withLock { l in for e in entries { l.restore(e, now: now) } }
    }

    /// Takes the larger counters of an entry saved by another process (see `MsgSeqLedger.merge`).
    func merge(_ saved: LedgerEntry, now: Date) {
        ledger.withLock { $0.merge(saved, now: now) }
    }

    func register(msgID: String, conversation: ConversationID, start: Date, now: Date, isEvent: Bool = false) -> LedgerEntry {
        let entry = ledger.withLock { $0.register(msgID: msgID, conversation: conversation, start: start, now: now, isEvent: isEvent) }
        if isEvent, entry.windowEnds > now { persist?(entry) }
        return entry
    }

    /// Reloads what an earlier run left: the saved (used) entries and fresh ones for the messages
    /// received within the longest window (see ``MsgSeqLedger/restore(saved:inbound:now:)``).
    func restore(saved: [LedgerEntry], inbound: [InboundStart], now: Date) {
        ledger.withLock { $0.restore(saved: saved, inbound: inbound, now: now) }
    }

    /// The entry of a stored message that has had no reply yet.
    func fresh(_ m: InboundStart) -> LedgerEntry {
        ledger.withLock { $0.fresh(msgID: m.msgID, conversation: m.conversation, start: m.start) }
    }

    /// How far back a message can still be answered passively (the longer of the two windows).
    var longestWindow: Duration { ledger.withLock { max($0.window.c2c, $0.window.group) } }
    func entry(_ msgID: String, now: Date) -> LedgerEntry? { ledger.withLock { $0.entry(msgID, now: now) } }
    func takeSeq(_ msgID: String, now: Date) -> Int? {
        let seq = ledger.withLock { $0.takeSeq(msgID, now: now) }
        changed(msgID, now: now)
        return seq
    }
    func recordReply(_ msgID: String, now: Date) {
        ledger.withLock { $0.recordReply(msgID, now: now) }
        changed(msgID, now: now)
    }
    func count(now: Date) -> Int { ledger.withLock { $0.count(now: now) } }
    func route(for conversation: ConversationID, preferred: String?, margin: Duration, proactive: Bool, now: Date) -> ReplyRoute {
        ledger.withLock { $0.route(for: conversation, preferred: preferred, margin: margin, proactive: proactive, now: now) }
    }
    func reserve(for conversation: ConversationID, preferred: String?, margin: Duration, proactive: Bool, now: Date) -> Reservation {
        let r = ledger.withLock { $0.reserve(for: conversation, preferred: preferred, margin: margin, proactive: proactive, now: now) }
        if let key = r.key { changed(key, now: now) }
        return r
    }
    func refundReply(_ msgID: String, now: Date) {
        ledger.withLock { $0.refundReply(msgID, now: now) }
        changed(msgID, now: now)
    }
    func exhaust(_ msgID: String, now: Date) {
        ledger.withLock { $0.exhaust(msgID, now: now) }
        changed(msgID, now: now)
    }
}
