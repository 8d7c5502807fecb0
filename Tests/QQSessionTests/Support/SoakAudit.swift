import Foundation
import GRDB
@testable import QQSession
import QQSimulator

/// Compares what a soak's users sent, what the platform accepted and streamed, what the session
/// showed, and what the store holds. `problems` lists every broken promise (empty when all held);
/// `report` is the counts to print.
struct SoakAudit {
    var report: [String] = []
    var problems: [String] = []

    /// Inbound: every message the platform delivered is stored once and was shown once.
    mutating func inbound(_ ledger: SoakLedger.State, stored: Set<String>, droppedBySim: Set<String>, streamed: [InboundMessage]) {
        let lost = ledger.dispatched.subtracting(stored).subtracting(droppedBySim)
        let droppedMissing = ledger.dispatched.intersection(droppedBySim).subtracting(stored)
        let shownTwice = ledger.shown.filter { $0.value > 1 }.map(\.key)
        var perID: [String: Int] = [:]
        for m in streamed { perID[m.id, default: 0] += 1 }
        let streamedTwice = perID.filter { $0.value > 1 }.map(\.key)
        let shownNotStored = Set(ledger.shown.keys).subtracting(stored)
        let storedNotShown = stored.subtracting(ledger.shown.keys)
        let phantom = stored.subtracting(ledger.dispatched).subtracting(ledger.undeliverable)
        report.append("inbound: sent \(ledger.c2c + ledger.group) (c2c \(ledger.c2c), group \(ledger.group)), delivered \(ledger.dispatched.count), "
                      + "no session to deliver to \(ledger.undeliverable.count), stored \(stored.count), lost \(lost.count), "
                      + "duplicates \(shownTwice.count + streamedTwice.count); dropped with an ended session \(ledger.dispatched.intersection(droppedBySim).count) "
                      + "(of which missing \(droppedMissing.count))")
        check(lost, "delivered by the platform but not stored (lost)")
        check(Set(shownTwice), "emitted twice as .message (tap)")
        check(Set(streamedTwice), "emitted twice on session.events")
        check(shownNotStored, "shown but not stored")
        check(storedNotShown, "stored but never shown")
        check(phantom, "stored but never sent by a user")
    }

    /// One outbound row of the store.
    struct OutRow {
        var uid: String, origin: String, conversation: ConversationID, status: String, detail: String?
        var parts: [OutboundMessage.Part]
    }

    /// Outbound: every reply ended sent or failed/refused with a reason; what the store says was sent
    /// is what QQ accepted; every C2C stream is closed (or its part failed with the reason).
    mutating func outbound(rows: [OutRow], ledger: SoakLedger.State, sent: [SentRecord], streams: [SimStreamRecord]) {
        statuses(rows: rows, ledger: ledger)
        let streamIDs = Set(streams.map(\.id))
        var accepted: [String: Int] = [:]
        for r in sent where r.status == 200 && r.body?["stream"] == nil && r.path.hasSuffix("/messages") {
            accepted[Self.key(path: r.path, msgID: r.body?["msg_id"]?.string, seq: r.body?["msg_seq"]?.int,
                              text: r.body?["content"]?.string), default: 0] += 1
        }
        var marked: [String: Int] = [:]
        var streamParts: [String: OutboundMessage.Part] = [:]
        for row in rows {
            for part in row.parts {
                if let id = part.qqMessageID, streamIDs.contains(id) { streamParts[id] = part; continue }
                guard part.status == .sent else { continue }
                var msgID: String?
                if case .passive(let id, _, _)? = part.route { msgID = id }
                marked[Self.key(path: OutboundSender.base(row.conversation) + "/messages", msgID: msgID, seq: part.msgSeq,
                                text: part.text), default: 0] += 1
            }
        }
        check(Set(marked.keys).subtracting(accepted.keys), "marked sent but never accepted by QQ")
        check(Set(accepted.keys).subtracting(marked.keys), "accepted by QQ but not marked sent")
        self.streams(streams, parts: streamParts, rows: rows, ledger: ledger)
    }

    /// Replies by origin and status; none still sending; failures only for reasons the chaos causes.
    private mutating func statuses(rows: [OutRow], ledger: SoakLedger.State) {
        for origin in ["agent", "operator"] {
            let mine = rows.filter { $0.origin == origin }
            let counts = Dictionary(grouping: mine, by: \.status).mapValues(\.count).sorted { $0.key < $1.key }
            report.append("\(origin) replies: \(mine.count) (" + counts.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")
        }
        let unfinished = rows.filter { row in
            switch row.status {
            case "sent": return false
            case "failed", "refused": return (row.detail ?? "").isEmpty
            default: return true
            }
        }
        check(Set(unfinished.map { "\($0.uid) \($0.status)" }), "outbound not sent nor failed/refused with a reason")
        // The chaos only answers 429/5xx or late: a failure for any other reason is the client's doing.
        let unexplained = rows.filter { ["failed", "refused"].contains($0.status) && !Self.chaosExplains(ledger.outbound[$0.uid]) }
        check(Set(unexplained.map { "\($0.uid) (\($0.detail ?? "-"))" }), "outbound failed for a reason the chaos does not explain")
        let byID = Dictionary(rows.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let mismatched = ledger.operatorResults.filter { byID[$0.id]?.status != StoreOp.status($0.status).0 }
        check(Set(mismatched.map(\.id)), "operator send returned a status the store does not have")
    }

    /// Every C2C stream QQ opened belongs to a stored reply and is closed, or its part failed for a
    /// reason the chaos explains (QQ then rolls it back and the writer re-sends the rest).
    private mutating func streams(_ streams: [SimStreamRecord], parts streamParts: [String: OutboundMessage.Part],
                                  rows: [OutRow], ledger: SoakLedger.State) {
        let unclosed = streams.filter { !$0.closed }
        let explained = unclosed.filter { s in
            guard case .failed(let reason)? = streamParts[s.id]?.status, !reason.isEmpty,
                  let reply = rows.first(where: { $0.parts.contains { $0.qqMessageID == s.id } }) else { return false }
            return Self.chaosExplains(ledger.outbound[reply.uid])
        }
        var reason = ""
        if let first = explained.first, case .failed(let why)? = streamParts[first.id]?.status { reason = " (e.g. \(why))" }
        report.append("C2C streams: opened \(streams.count), closed \(streams.count - unclosed.count), "
                      + "left open with the reason recorded \(explained.count)\(reason); frames \(streams.reduce(0) { $0 + $1.frames.count })")
        let openForNoReason = Set(unclosed.map(\.id)).subtracting(explained.map(\.id))
        check(Set(openForNoReason.map { id in
            let reply = rows.first { $0.parts.contains { $0.qqMessageID == id } }
            let error = reply.flatMap { ledger.outbound[$0.uid]?.error }.map { "\($0)" } ?? "no error"
            return "\(id) [reply \(reply?.uid ?? "none") \(reply?.status ?? "-"), part \(streamParts[id].map { "\($0.status)" } ?? "none"), \(error)]"
        }), "C2C stream never closed (and no failure the chaos explains)")
        check(Set(streams.map(\.id)).subtracting(streamParts.keys), "C2C stream QQ opened that no stored reply knows")
    }

    /// True when the message's last error is one the chaos causes: a 429 or 5xx, a timeout, the network.
    static func chaosExplains(_ message: OutboundMessage?) -> Bool {
        guard let error = message?.error else { return false }
        return SendCodes.isTransient(error)
    }

    private static func key(path: String, msgID: String?, seq: Int?, text: String?) -> String {
        msgID.map { "\(path) \($0) #\(seq ?? 0)" } ?? "\(path) proactive \(text ?? "")"
    }

    private mutating func check(_ ids: Set<String>, _ what: String) {
        guard !ids.isEmpty else { return }
        problems.append("\(ids.count) \(what): " + ids.sorted().prefix(5).joined(separator: ", ") + (ids.count > 5 ? ", …" : ""))
    }

    /// Outbound rows still 'sending'.
    static func sendingCount(_ store: MessageStore) throws -> Int {
        try store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM message WHERE direction = 'out' AND status = 'sending'") ?? 0
        }
    }

    /// The store's inbound ids and outbound rows.
    static func read(_ store: MessageStore) throws -> (inbound: Set<String>, out: [OutRow]) {
        try store.pool.read { db in
            let inbound = Set(try String.fetchAll(db, sql: "SELECT uid FROM message WHERE direction = 'in'"))
            let out = try Row.fetchAll(db, sql: "SELECT * FROM message WHERE direction = 'out' ORDER BY rowid").map { row in
                let parts = (row["parts"] as String?).flatMap {
                    try? StoredMessage.decoder.decode([OutboundMessage.Part].self, from: Data($0.utf8))
                } ?? []
                return OutRow(uid: row["uid"], origin: row["origin"], conversation: ConversationID(row["conversation"] as String) ?? .c2c("?"),
                              status: row["status"], detail: row["status_detail"], parts: parts)
            }
            return (inbound, out)
        }
    }
}
