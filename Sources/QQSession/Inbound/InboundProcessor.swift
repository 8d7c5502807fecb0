import Foundation
import Logging
import Synchronization

/// Turns gateway dispatches into session events: decode → de-duplicate → allow_from → strip the
/// @mention → skip empty → open the ledger entry → download images → emit.
///
/// Runs on one task, so events leave in gateway order; a message waiting for its image holds back
/// only the later messages of its own conversation.
final class InboundProcessor {
    private let configuration: SessionConfiguration
    private let downloader: AttachmentDownloader
    private let ledger: LedgerBox
    private let emit: @Sendable (SessionEvent) -> Void
    private let now: @Sendable () -> Date
    private let downloads: DownloadRegistry
    private var seen: ExpiringMap<String, Bool>
    private var botIDs: Set<String> = []
    private var tails: [ConversationID: (task: Task<Void, Never>, done: DoneFlag)] = [:]

    init(configuration: SessionConfiguration, downloader: AttachmentDownloader, ledger: LedgerBox,
         downloads: DownloadRegistry = DownloadRegistry(),
         now: @escaping @Sendable () -> Date = { Date() }, emit: @escaping @Sendable (SessionEvent) -> Void) {
        self.configuration = configuration
        self.downloads = downloads
        self.downloader = downloader
        self.ledger = ledger
        self.emit = emit
        self.now = now
        self.seen = ExpiringMap(capacity: 1_000_000)
        // Until READY says otherwise, a mention of the AppID is a mention of the bot.
        self.botIDs = [configuration.appID]
    }

    /// Handles one item from the gateway.
    func handle(_ item: GatewayInbound) {
        switch item {
        case .ready(let ready):
            if let id = ready.user?.id, !id.isEmpty { botIDs.insert(id) }
        case .notice(let notice):
            emit(.notice(notice))
        case .dispatch(let frame):
            handleDispatch(frame)
        }
    }

    /// Waits until every pending download has been emitted.
    func drain() async {
        for (_, tail) in tails { await tail.task.value }
    }

    private func handleDispatch(_ frame: GatewayFrame) {
        let type = frame.t ?? "?"
        switch frame.payload {
        case .message(let payload):
            let source: InboundMessage.Source = type == "C2C_MESSAGE_CREATE" ? .c2c
                : type == "GROUP_AT_MESSAGE_CREATE" ? .groupAt : .group
            handleMessage(payload, frame: frame, source: source)
        case .groupRobot(let p):
            guard let kind = ConversationEvent.Kind(rawValue: type) else { return raw(frame, .null) }
            registerEvent(frame, in: .group(p.groupOpenID))
            deliver(.conversation(ConversationEvent(kind: kind, conversation: .group(p.groupOpenID),
                                                    operatorOpenID: p.opMemberOpenID, eventID: frame.id, receivedAt: now())),
                    in: .group(p.groupOpenID))
        case .friend(let p):
            guard let kind = ConversationEvent.Kind(rawValue: type) else { return raw(frame, .null) }
            registerEvent(frame, in: .c2c(p.openID))
            deliver(.conversation(ConversationEvent(kind: kind, conversation: .c2c(p.openID), operatorOpenID: p.openID,
                                                    eventID: frame.id, receivedAt: now())),
                    in: .c2c(p.openID))
        case .raw(let json):
            raw(frame, json)
        case .undecodable(let reason, let json):
            emit(.notice(Notice(level: .warning, kind: .malformedFrame, message: "undecodable \(type) (s=\(frame.s.map(String.init) ?? "-")): \(reason)",
                                subject: frame.id)))
            raw(frame, json ?? .null)
        default:
            raw(frame, .null)
        }
    }

    /// Events that allow a passive reply by `event_id` (qq-protocol.md §6.2) open a ledger entry.
    private func registerEvent(_ frame: GatewayFrame, in conversation: ConversationID) {
        let replyable: Set<String> = ["FRIEND_ADD", "C2C_MSG_RECEIVE", "GROUP_ADD_ROBOT", "GROUP_MSG_RECEIVE"]
        guard let id = frame.id, let t = frame.t, replyable.contains(t) else { return }
        let at = now()
        _ = ledger.register(msgID: id, conversation: conversation, start: at, now: at, isEvent: true)
    }

    private func raw(_ frame: GatewayFrame, _ payload: JSONValue) {
        emit(.raw(RawEvent(type: frame.t ?? "?", seq: frame.s, eventID: frame.id, payload: payload, receivedAt: now())))
    }

    private func handleMessage(_ p: MessagePayload, frame: GatewayFrame, source: InboundMessage.Source) {
        let received = now()
        let conversation: ConversationID
        let authorID: String
        if source == .c2c {
            authorID = p.author.userOpenID ?? p.author.id ?? ""
            conversation = .c2c(authorID)
        } else {
            authorID = p.author.memberOpenID ?? p.author.id ?? ""
            conversation = .group(p.groupOpenID ?? p.groupID ?? "")
        }
        guard !authorID.isEmpty, !conversation.openID.isEmpty else {
            emit(.notice(Notice(level: .warning, kind: .malformedFrame,
                                message: "\(frame.t ?? "message") \(p.id) has no \(authorID.isEmpty ? "author openid" : "group_openid")",
                                subject: p.id, at: received)))
            return
        }
        if seen.value(for: p.id, now: received) != nil {
            emit(.notice(Notice(level: .debug, kind: .duplicate, message: "duplicate message \(p.id) ignored",
                                subject: p.id, at: received)))
            return
        }
        seen.set(p.id, true, expiresAt: received.addingTimeInterval(configuration.dedupWindow.seconds), now: received)
        guard configuration.allowFrom.allows(authorID) else {
            emit(.notice(Notice(level: .info, kind: .notAllowed, message: "message from \(authorID) not in allow_from",
                                subject: p.id, at: received)))
            return
        }
        var ids = botIDs
        var others: Set<String> = []
        for m in p.mentions {
            let mentioned = [m.id, m.memberOpenID].compactMap { $0 }
            if m.isYou == true { ids.formUnion(mentioned) } else { others.formUnion(mentioned) }
        }
        let text = source == .c2c ? p.content.trimmingCharacters(in: .whitespacesAndNewlines)
            : MentionStripper.strip(p.content, botIDs: ids, otherIDs: others.subtracting(ids), atEvent: source == .groupAt)
        let attachments = p.attachments.enumerated().map { AttachmentDownloader.describe($1, index: $0) }
        guard !text.isEmpty || !attachments.isEmpty else {
            emit(.notice(Notice(level: .debug, kind: .skippedEmpty, message: "empty message \(p.id) skipped",
                                subject: p.id, at: received)))
            return
        }
        let timestamp = p.timestamp.flatMap(Self.parseTimestamp) ?? received
        let start = min(timestamp, received)
        let entry = ledger.register(msgID: p.id, conversation: conversation, start: start, now: received)
        let message = InboundMessage(
            id: p.id, eventID: frame.id, conversation: conversation, source: source,
            author: .init(openID: authorID, role: p.author.memberRole, isBot: p.author.bot ?? false, username: p.author.username),
            text: text, rawContent: p.content, timestamp: timestamp, receivedAt: received, attachments: attachments,
            messageType: p.messageType, referencedMessageID: p.referencedMessageID, seq: frame.s,
            replyWindowEnds: entry.windowEnds)
        deliver(message)
    }

    /// Emits a conversation's non-message event after that conversation's pending messages.
    private func deliver(_ event: SessionEvent, in conversation: ConversationID) {
        guard let previous = tails[conversation].flatMap({ $0.done.isDone ? nil : $0.task }) else {
            emit(event)
            return
        }
        let done = DoneFlag()
        let emit = self.emit
        let task = Task {
            await previous.value
            emit(event)
            done.set()
        }
        tails[conversation] = (task, done)
    }

    /// Emits now, or after the downloads and after earlier messages of the same conversation.
    private func deliver(_ message: InboundMessage) {
        let previous = tails[message.conversation].flatMap { $0.done.isDone ? nil : $0.task }
        let needsDownload = message.attachments.contains(where: downloader.wantsDownload)
        guard needsDownload || previous != nil else {
            emit(.message(message))
            return
        }
        let done = DoneFlag()
        let downloader = self.downloader
        let emit = self.emit
        let task = Task {
            var resolved = message
            for (i, a) in message.attachments.enumerated() {
                resolved.attachments[i] = await downloader.resolve(a, messageID: message.id, index: i)
            }
            await previous?.value
            for a in resolved.attachments {
                if case .failed(let reason) = a.state {
                    emit(.notice(Notice(level: .warning, kind: .downloadFailed, message: "\(a.filename): \(reason)",
                                        subject: message.id)))
                }
            }
            emit(.message(resolved))
            done.set()
        }
        downloads.register(task)
        tails[message.conversation] = (task, done)
        if tails.count > 256 { tails = tails.filter { !$0.value.done.isDone } }
    }

    /// RFC 3339 with or without fractional seconds.
    static func parseTimestamp(_ text: String) -> Date? {
        if let d = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return d }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// The running download tasks, so shutdown can cancel them: a cancelled download still emits its
/// message, with a failed-download placeholder, so nothing is lost and nobody waits 30 s.
final class DownloadRegistry: Sendable {
    private let state = Mutex<(tasks: [Task<Void, Never>], cancelled: Bool)>(([], false))

    func register(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { s -> Bool in
            s.tasks.removeAll { $0.isCancelled }
            if s.tasks.count > 512 { s.tasks.removeFirst(s.tasks.count - 512) }
            s.tasks.append(task)
            return s.cancelled
        }
        if cancelNow { task.cancel() }
    }

    func cancelAll() {
        let tasks = state.withLock { s -> [Task<Void, Never>] in
            s.cancelled = true
            defer { s.tasks.removeAll() }
            return s.tasks
        }
        for t in tasks { t.cancel() }
    }
}

/// A flag a finished task sets, read without awaiting it.
final class DoneFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isDone: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}

/// The msg_seq ledger shared by the inbound side (which opens entries) and the reply side.
final class LedgerBox: Sendable {
    private let ledger: Mutex<MsgSeqLedger>
    init(window: ReplyWindow) { ledger = Mutex(MsgSeqLedger(window: window)) }

    func register(msgID: String, conversation: ConversationID, start: Date, now: Date, isEvent: Bool = false) -> LedgerEntry {
        ledger.withLock { $0.register(msgID: msgID, conversation: conversation, start: start, now: now, isEvent: isEvent) }
    }
    func route(for conversation: ConversationID, preferred: String?, margin: Duration, proactive: Bool, now: Date) -> ReplyRoute {
        ledger.withLock { $0.route(for: conversation, preferred: preferred, margin: margin, proactive: proactive, now: now) }
    }
    func reserve(for conversation: ConversationID, preferred: String?, margin: Duration, proactive: Bool, now: Date) -> Reservation {
        ledger.withLock { $0.reserve(for: conversation, preferred: preferred, margin: margin, proactive: proactive, now: now) }
    }
    func refundReply(_ msgID: String, now: Date) { ledger.withLock { $0.refundReply(msgID, now: now) } }
    func exhaust(_ msgID: String, now: Date) { ledger.withLock { $0.exhaust(msgID, now: now) } }
    func entry(_ msgID: String, now: Date) -> LedgerEntry? { ledger.withLock { $0.entry(msgID, now: now) } }
    func takeSeq(_ msgID: String, now: Date) -> Int? { ledger.withLock { $0.takeSeq(msgID, now: now) } }
    func recordReply(_ msgID: String, now: Date) { ledger.withLock { $0.recordReply(msgID, now: now) } }
    func count(now: Date) -> Int { ledger.withLock { $0.count(now: now) } }
}
