import Foundation
import QQSession

/// One message as the console shows it: a user's, the operator's, the agent's (maybe still growing),
/// or a line from qqtui itself. Text is sanitized when the entry is made.
struct MessageEntry: Sendable, Equatable {
    /// Who wrote it.
    enum Sender: Sendable, Equatable {
        case user(openID: String)
        /// An operator: `name` when their console gave one.
        case operatorSide(name: String? = nil)
        case agent
        /// A line from qqtui (ownership changes, agent notes, permission requests).
        case system
    }

    /// An inbound group message: addressed to the bot, or overheard.
    enum Address: Sendable, Equatable { case mention, context }

    /// Where an outbound message stands (inbound ones are `.received`).
    enum Status: Sendable, Equatable {
        case received, sending, sent, cancelled, interrupted
        case failed(String)
        case refused(String)
        /// An agent's draft for the operator (DRAFT mode).
        case draft
        /// A draft the operator has sent (as their own message) or dropped.
        case draftHandled
        /// The agent is still writing it.
        case streaming
    }

    /// The store's uid (inbound msg id, `out-…`), or a local id for drafts and system lines.
    var uid: String
    /// The store row, when it came from the store (older pages load before the smallest one).
    var rowID: Int64?
    var at: Date
    var sender: Sender
    /// Sanitized text (newlines kept).
    private(set) var text: String
    /// Attachment lines, e.g. `[image 16×12 receipt.png] /tmp/…/receipt.png`.
    var attachments: [String]
    var status: Status
    /// How an inbound group message reached the bot: `.mention` @-mentioned it, `.context` is group
    /// talk the bot only overheard; nil for private messages and everything outbound.
    var address: Address?
    /// An agent reply in a group with member sessions: the member it answers (their openid).
    var answering: String?
    /// A file's upload while it goes: `uploading 45 % of 12 MiB` (nil otherwise).
    private(set) var progress: String?
    /// Set once a sent message was recalled from the user's chat: who did it, when known ("" if not).
    private(set) var recalledBy: String?
    /// Bumped on every change (the wrap cache's key).
    private(set) var version = 0

    init(uid: String, rowID: Int64? = nil, at: Date, sender: Sender, text: String, attachments: [String] = [],
         status: Status) {
        self.uid = uid
        self.rowID = rowID
        self.at = at
        self.sender = sender
        self.text = TextSanitizer.multiline(text)
        self.attachments = attachments.map(TextSanitizer.line)
        self.status = status
    }

    /// Replaces the text.
    mutating func setText(_ new: String) {
        text = TextSanitizer.multiline(new)
        version += 1
    }

    /// Appends a streamed delta.
    mutating func append(_ delta: String) {
        text += TextSanitizer.multiline(delta)
        version += 1
    }

    /// Changes the status (and the version when it changed).
    mutating func setStatus(_ new: Status) {
        guard new != status else { return }
        status = new
        version += 1
    }

    /// Changes the upload progress line.
    mutating func setProgress(_ new: String?) {
        guard new != progress else { return }
        progress = new
        version += 1
    }

    /// Marks it recalled (by `operatorName` when known).
    mutating func markRecalled(by operatorName: String?) {
        guard recalledBy == nil else { return }
        recalledBy = operatorName ?? ""
        version += 1
    }

    /// True when the store has it (not a draft or a line from qqtui).
    var isStored: Bool { sender != .system && status != .draft && !uid.hasPrefix(Self.draftPrefix) }

    /// The entry of a DRAFT turn's text (not in the store: the draft goes to QQ only when sent).
    static func draftUID(_ turn: UUID) -> String { draftPrefix + turn.uuidString }
    private static let draftPrefix = "draft-"

    /// True while the agent is writing it.
    var isStreaming: Bool { status == .streaming }
}

extension MessageEntry {
    /// From a live inbound message.
    init(_ m: InboundMessage) {
        self.init(uid: m.id, at: m.timestamp, sender: .user(openID: m.author.openID), text: m.text,
                  attachments: m.attachments.map(Self.attachmentLine), status: .received)
        address = m.source == .groupAt ? .mention : m.source == .group ? .context : nil
    }

    /// From a live outbound message (operator line, image, agent reply).
    init(_ m: OutboundMessage) {
        var text = m.text
        if text.isEmpty, [.image, .video, .voice, .file].contains(m.kind) {
            text = "[" + m.kind.rawValue + (m.parts.first.map { " " + $0.text } ?? "") + "]"
        }
        // Buttons under it, as the user sees them: `[满意] [不满意] · [官网]`.
        let buttons = m.keyboard.map { k in k.rows.map { $0.map { "[" + $0.label + "]" }.joined(separator: " ") }.joined(separator: " · ") }
        self.init(uid: m.id, at: m.createdAt, sender: m.origin == "agent" || m.origin == "auto" ? .agent : .operatorSide(name: m.operatorName), text: text,
                  attachments: buttons.map { [$0] } ?? [], status: Self.status(of: m))
        progress = Self.progress(of: m)
    }

    /// `uploading 45 % of 12 MiB` while a file's parts go up.
    static func progress(of m: OutboundMessage) -> String? {
        guard case .sending = m.status, let part = m.parts.last, let size = part.size, size > 0, let done = part.uploaded else { return nil }
        return "uploading \(done * 100 / size) % of \(ByteCount.text(size))"
    }

    /// From the store.
    init(_ m: StoredMessage) {
        let sender: Sender
        if m.direction == "in" { sender = .user(openID: m.author ?? "?") }
        else { sender = m.origin == "agent" || m.origin == "auto" ? .agent : .operatorSide(name: m.operatorName) }
        let status: Status
        switch m.status {
        case "received": status = .received
        case "sending": status = .sending
        case "sent": status = .sent
        case "cancelled": status = .cancelled
        case "interrupted": status = .interrupted
        case "failed": status = .failed(Self.failure(code: m.qqCode, detail: m.statusDetail))
        case "refused": status = .refused(m.statusDetail ?? "no route")
        default: status = .received
        }
        var text = m.text
        if text.isEmpty, ["image", "video", "voice", "file"].contains(m.kind) { text = "[\(m.kind)]" }
        self.init(uid: m.uid, rowID: m.rowID, at: m.createdAt, sender: sender, text: text,
                  attachments: m.attachments.map(Self.attachmentLine), status: status)
        if m.direction == "in" { address = m.source == "group_at" ? .mention : m.source == "group" ? .context : nil }
        if m.recalledAt != nil { recalledBy = "" }
    }

    /// A line from qqtui.
    static func system(_ text: String, at: Date, id: String) -> MessageEntry {
        MessageEntry(uid: id, at: at, sender: .system, text: text, status: .received)
    }

    /// `[image 16×12 receipt.png] /path` (the path where the file was saved, when it was).
    static func attachmentLine(_ a: Attachment) -> String {
        a.localPath.map { a.placeholder + " " + $0 } ?? a.placeholder
    }

    /// The entry status of an outbound message.
    static func status(of m: OutboundMessage) -> Status {
        switch m.status {
        case .sending: return .sending
        case .sent: return .sent
        case .cancelled: return .cancelled
        case .refused(let reason): return .refused(reason)
        case .failed(let reason): return .failed(failure(code: m.error?.code, detail: reason))
        }
    }

    private static func failure(code: Int?, detail: String?) -> String {
        let detail = detail ?? "failed"
        guard let code, !detail.contains(String(code)) else { return detail }
        return "\(code) \(detail)"
    }
}
