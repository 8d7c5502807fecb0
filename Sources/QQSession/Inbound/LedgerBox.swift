import Foundation
import Synchronization

/// The msg_seq ledger shared by the inbound side (which opens entries) and the reply side, written
/// through to the store: every change is queued for the next commit, which a send awaits before its
/// POST, so a restart never reuses a msg_seq.
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
        if entry.windowEnds > now { persist?(entry) }
        return entry
    }
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
