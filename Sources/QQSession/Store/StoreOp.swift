import Foundation
import GRDB
import Synchronization

/// One change to the store. Ops are applied in order, many per transaction (see ``StoreWriter``).
enum StoreOp: Sendable {
    /// A user's message (ignored if its id is already stored; then its uid goes into `duplicates`).
    case inbound(InboundMessage, duplicates: InboundOutcomes? = nil)
    /// The outcome of its attachment downloads.
    case attachments(uid: String, [Attachment])
    /// A message qqtui sends (inserted, then updated as it progresses).
    case outbound(OutboundMessage)
    /// A ledger entry's current state.
    case ledger(LedgerEntry)
    /// A dispatch nobody interprets.
    case raw(RawEvent)
    /// A lifecycle event: the conversation exists (bot added to a group, friend added).
    case touch(ConversationEvent)
    /// Who answers a conversation now (append-only).
    case ownership(OwnershipChange)
    /// An operator's name for an openid (nil removes it).
    case alias(openID: String, name: String?, note: String?)
    /// The operator has read the conversation.
    case markRead(ConversationID)
    /// The gateway session and the last seq whose events are committed in the same transaction.
    case gatewayPosition(GatewayPosition)
    /// When the access token the gateway uses expires.
    case tokenExpiry(key: String, expiresAt: Date)
    /// Shutdown ran out of time: every outbound row still `sending` ends `failed` with `detail`.
    case settleSending(detail: String, at: Date)
    /// A new status detail for a message (its status stays).
    case statusDetail(uid: String, detail: String)
    /// A sent message was recalled from the user's chat (it stays, marked).
    case recalled(uid: String, at: Date)
    /// A user pressed a button (kept as an inbound row of kind `interaction`).
    case interaction(Interaction)

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static func json(_ value: some Encodable) -> String? {
        (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A one-line preview for the conversation list.
    static func preview(_ text: String) -> String {
        // Most messages are one short ASCII line: they are their own preview (no split, no count).
        if text.utf8.count <= 80, text.utf8.allSatisfy({ $0 < 0x80 && ($0 < 0x0A || $0 > 0x0D) }) { return text }
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
        return line.count > 80 ? String(line.prefix(80)) + "…" : line
    }

    func apply(_ db: Database) throws {
        switch self {
        case .inbound(let m, let duplicates):
            try db.run("""
                INSERT INTO message (uid, conversation, direction, origin, kind, author, author_role, text,
                    raw_content, status, reply_to, event_id, source, seq, attachments, created_at, updated_at)
                VALUES (?, ?, 'in', 'user', ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(uid) DO NOTHING
                """, [.text(m.id), .text(m.conversation.description), .text(m.attachments.isEmpty ? "text" : "media"),
                       .text(m.author.openID), .text(m.author.role), .text(m.text), .text(m.rawContent),
                       .text(m.referencedMessageID), .text(m.eventID), .text(m.source.rawValue), .integer(m.seq),
                       .text(m.attachments.isEmpty ? nil : Self.json(m.attachments)),
                       .real(m.timestamp.timeIntervalSince1970), .real(m.receivedAt.timeIntervalSince1970)])
            guard db.changesCount > 0 else {
                duplicates?.add(m.id)
                return
            }
            let preview = m.text.isEmpty ? (m.attachments.first?.placeholder ?? "") : m.text
            if try touch(db, m.conversation, at: m.receivedAt, preview: preview, inbound: true) { duplicates?.addStarted(m.conversation) }
        case .attachments(let uid, let attachments):
            try db.run("UPDATE message SET attachments = ?, updated_at = ? WHERE uid = ?",
                       [.text(Self.json(attachments)), .real(Date().timeIntervalSince1970), .text(uid)])
        case .outbound(let m):
            try upsertOutbound(db, m)
        case .ledger(let e):
            try db.run("""
                INSERT INTO ledger (msg_id, conversation, next_seq, replies_used, budget, window_ends, is_event)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(msg_id) DO UPDATE SET next_seq = max(next_seq, excluded.next_seq),
                    replies_used = max(replies_used, excluded.replies_used), budget = excluded.budget,
                    window_ends = excluded.window_ends
                """, [.text(e.msgID), .text(e.conversation.description), .integer(e.nextSeq), .integer(e.repliesUsed),
                       .integer(e.budget), .real(e.windowEnds.timeIntervalSince1970), .flag(e.isEvent)])
        case .raw(let r):
            try db.run("INSERT INTO raw_event (type, seq, event_id, payload, received_at) VALUES (?, ?, ?, ?, ?)",
                       [.text(r.type), .integer(r.seq), .text(r.eventID), .text(r.payload.description), .real(r.receivedAt.timeIntervalSince1970)])
        case .touch(let e):
            try touch(db, e.conversation, at: e.receivedAt, preview: nil, inbound: false, counted: false)
        case .ownership(let o):
            try db.run("INSERT INTO ownership_log (conversation, owner, actor, reason, at) VALUES (?, ?, ?, ?, ?)",
                       [.text(o.conversation.description), .text(o.owner), .text(o.actor), .text(o.reason), .real(o.at.timeIntervalSince1970)])
            try touch(db, o.conversation, at: o.at, preview: nil, inbound: false, counted: false, owner: o.owner)
        case .alias(let openID, let name?, let note):
            try db.run("""
                INSERT INTO alias (openid, name, note, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(openid) DO UPDATE SET name = excluded.name, note = excluded.note, updated_at = excluded.updated_at
                """, [.text(openID), .text(name), .text(note), .real(Date().timeIntervalSince1970)])
        case .alias(let openID, nil, _):
            try db.run("DELETE FROM alias WHERE openid = ?", [.text(openID)])
        case .markRead(let c):
            try db.run("UPDATE conversation SET unread = 0 WHERE id = ?", [.text(c.description)])
        case .gatewayPosition(let p):
            try Self.applyGatewayPosition(db, p)
        case .tokenExpiry(let key, let expiresAt):
            try Self.applyTokenExpiry(db, key: key, expiresAt: expiresAt)
        case .settleSending(let detail, let at):
            try db.run("""
                UPDATE message SET status = 'failed', status_detail = ?, updated_at = max(updated_at, ?), fts_dirty = 1
                WHERE direction = 'out' AND status = 'sending'
                """, [.text(detail), .real(at.timeIntervalSince1970)])
        case .statusDetail(let uid, let detail):
            try db.run("UPDATE message SET status_detail = ? WHERE uid = ?", [.text(detail), .text(uid)])
        case .interaction(let i):
            try db.run("""
                INSERT INTO message (uid, conversation, direction, origin, kind, author, text, raw_content, status, event_id,
                    source, created_at, updated_at)
                VALUES (?1, ?2, 'in', 'user', 'interaction', ?3, ?4, ?5, 'received', ?1, ?6, ?7, ?7)
                ON CONFLICT(uid) DO NOTHING
                """, [.text(i.id), .text(i.conversation.description), .text(i.userOpenID), .text(i.summary), .text(i.buttonData),
                       .text(i.conversation.isGroup ? "group_at" : "c2c"), .real(i.receivedAt.timeIntervalSince1970)])
            if db.changesCount > 0 { try touch(db, i.conversation, at: i.receivedAt, preview: i.summary, inbound: true) }
        case .recalled(let uid, let at):
            try db.run("UPDATE message SET recalled_at = ? WHERE uid = ? AND recalled_at IS NULL",
                       [.real(at.timeIntervalSince1970), .text(uid)])
        }
    }

    private func upsertOutbound(_ db: Database, _ m: OutboundMessage) throws {
        let (status, detail) = Self.status(m.status)
        let qqID = m.parts.compactMap(\.qqMessageID).first
        let parts = m.parts.isEmpty ? nil : DirectJSON.parts(m.parts)
        // A message's first record (nothing sent, never changed) inserts its row; the later ones
        // (sending, then sent) update it. Each tries its likely statement first.
        let fresh = m.parts.isEmpty && m.updatedAt == m.createdAt
        if fresh, try insertOutbound(db, m, status: status, detail: detail, qqID: qqID, parts: parts) { return }
        try db.run("""
            UPDATE message SET text = ?1, status = ?2, status_detail = ?3, qq_code = ?4, trace_id = ?5, qq_message_id = ?6,
                parts = ?7, updated_at = ?8, fts_dirty = 1
            WHERE uid = ?9 AND updated_at <= ?8
            """, [.text(m.text), .text(status), .text(detail), .integer(m.error?.qqCode), .text(m.error?.traceID), .text(qqID),
                   .text(parts), .real(m.updatedAt.timeIntervalSince1970), .text(m.id)])
        if db.changesCount == 0, !fresh, try insertOutbound(db, m, status: status, detail: detail, qqID: qqID, parts: parts) {
            return
        }
        // An older snapshot that arrives late (a timer's save after the final one) changes nothing.
        try db.run("UPDATE conversation SET last_preview = ? WHERE id = ? AND last_activity <= ?",
                   [.text(Self.preview(m.text)), .text(m.conversation.description), .real(m.updatedAt.timeIntervalSince1970)])
    }

    /// Inserts an outbound message's row unless it exists, and records the activity in its
    /// conversation; false when the row existed.
    private func insertOutbound(_ db: Database, _ m: OutboundMessage, status: String, detail: String?, qqID: String?,
                                parts: String?) throws -> Bool {
        try db.run("""
            INSERT INTO message (uid, conversation, direction, origin, operator, kind, text, status, status_detail,
                qq_code, trace_id, qq_message_id, reply_to, parts, created_at, updated_at)
            VALUES (?, ?, 'out', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(uid) DO NOTHING
            """, [.text(m.id), .text(m.conversation.description), .text(m.origin), .text(m.operatorName), .text(m.kind.rawValue),
                   .text(m.text), .text(status), .text(detail), .integer(m.error?.qqCode), .text(m.error?.traceID), .text(qqID),
                   .text(m.replyTo), .text(parts), .real(m.createdAt.timeIntervalSince1970), .real(m.updatedAt.timeIntervalSince1970)])
        guard db.changesCount > 0 else { return false }
        try touch(db, m.conversation, at: m.createdAt, preview: m.text, inbound: false)
        return true
    }

    /// Creates the conversation if needed and records activity.
    /// Creates or updates the conversation's row; true when this created it (nothing of it was stored
    /// before: no message, no ownership change).
    @discardableResult
    private func touch(_ db: Database, _ c: ConversationID, at: Date, preview: String?, inbound: Bool,
                       counted: Bool = true, owner: String? = nil) throws -> Bool {
        let text = preview.map(Self.preview) ?? ""
        // Most messages are in a conversation that exists: one statement for them.
        try db.run("""
            UPDATE conversation SET
                last_activity = max(last_activity, ?1),
                last_preview = CASE WHEN ?2 <> '' THEN ?2 ELSE last_preview END,
                unread = unread + ?3,
                message_count = message_count + ?4,
                owner = coalesce(?6, owner)
            WHERE id = ?5
            """, [.real(at.timeIntervalSince1970), .text(text), .flag(inbound), .flag(counted), .text(c.description), .text(owner)])
        if db.changesCount > 0 { return false }
        try db.run("""
            INSERT INTO conversation (id, kind, openid, last_activity, last_preview, unread, message_count, owner, created_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?4)
            """, [.text(c.description), .text(c.isGroup ? "group" : "c2c"), .text(c.openID), .real(at.timeIntervalSince1970),
                   .text(text), .flag(inbound), .flag(counted), .text(owner ?? "human")])
        return true
    }

    /// Column values of an outbound status.
    static func status(_ s: OutboundMessage.Status) -> (String, String?) {
        switch s {
        case .sending: return ("sending", nil)
        case .sent: return ("sent", nil)
        case .failed(let reason): return ("failed", reason)
        case .refused(let reason): return ("refused", reason)
        case .cancelled: return ("cancelled", nil)
        }
    }
}

/// Conversations whose first message ever this process stored, until someone asks about them once:
/// their owner and history need no read. Bounded: past the limit it forgets (a read then answers).
final class StartedConversations: Sendable {
    private let ids = Mutex<Set<ConversationID>>([])
    static let limit = 65_536

    func insert(_ conversations: [ConversationID]) {
        guard !conversations.isEmpty else { return }
        ids.withLock { s in
            if s.count + conversations.count > Self.limit { s.removeAll() }
            s.formUnion(conversations)
        }
    }

    /// True (once) when `conversation` started in this process and nobody asked before.
    func take(_ conversation: ConversationID) -> Bool { ids.withLock { $0.remove(conversation) != nil } }
}

/// What an inbound batch found while it was stored: the uids already stored (the store is the
/// de-duplication authority), and the conversations it created (their first message ever).
final class InboundOutcomes: Sendable {
    private let uids = Mutex<Set<String>>([])
    private let started = Mutex<[ConversationID]>([])
    func add(_ uid: String) { _ = uids.withLock { $0.insert(uid) } }
    func contains(_ uid: String) -> Bool { uids.withLock { $0.contains(uid) } }
    func addStarted(_ conversation: ConversationID) { started.withLock { $0.append(conversation) } }
    /// Conversations whose row this batch inserted: nothing of theirs was stored before it.
    var startedConversations: [ConversationID] { started.withLock { $0 } }
}

/// A change of who answers a conversation (an append-only audit log).
public struct OwnershipChange: Sendable, Hashable, Codable {
    /// The conversation.
    public var conversation: ConversationID
    /// `human`, `agent` or `draft`.
    public var owner: String
    /// Who changed it (`operator`, `config`, `agent`…).
    public var actor: String
    /// Why, in words.
    public var reason: String?
    /// When.
    public var at: Date

    /// A change.
    public init(conversation: ConversationID, owner: String, actor: String, reason: String?, at: Date = Date()) {
        self.conversation = conversation
        self.owner = owner
        self.actor = actor
        self.reason = reason
        self.at = at
    }
}

