import Foundation
import Logging
import Synchronization

/// Turns gateway dispatches into session events: decode → de-duplicate → allow_from → strip the
/// @mention → skip empty → open the ledger entry → commit to the store → emit (images downloaded first).
///
/// Works in batches on one task: everything that arrived together is committed in one transaction
/// before any of it is emitted, so nothing is seen that is not stored, unless the commit takes longer
/// than ``commitPatience`` (another process holds the file's lock): then it is shown anyway and
/// stored when the lock goes. A message waiting for its image holds back only the later events of
/// its own conversation.
final class InboundProcessor {
    private enum Output {
        case event(SessionEvent)
        case message(InboundMessage)
        case conversation(SessionEvent, ConversationID)
    }

    private let configuration: SessionConfiguration
    private let downloader: AttachmentDownloader
    private let ledger: LedgerBox
    private let store: MessageStore?
    private let emit: @Sendable (SessionEvent) -> Void
    private let now: @Sendable () -> Date
    /// How long delivery waits for the store's commit (on the store's clock; a commit takes milliseconds).
    static let commitPatience = Duration.milliseconds(500)
    private let downloads: DownloadRegistry
    private var seen: RecentIDs
    private var botIDs: Set<String> = []
    private var tails: [ConversationID: (task: Task<Void, Never>, done: DoneFlag)] = [:]
    /// The gateway session and the `s` of the last dispatch handled (kept with the events, under
    /// ``positionKey``; nil key: not kept).
    private var position: (sessionID: String, seq: Int)?
    private let positionKey: String?
    /// Holds the router back while a shown batch is not stored yet (nil: nobody routes).
    private let fence: CommitFence?
    /// Labels of the buttons qqtui sent (an interaction carries only the data).
    private let buttons: ButtonLabels?
    private var lastTimestamp: (text: String, date: Date?)?

    init(configuration: SessionConfiguration, downloader: AttachmentDownloader, ledger: LedgerBox, store: MessageStore? = nil,
         downloads: DownloadRegistry = DownloadRegistry(), fence: CommitFence? = nil, buttons: ButtonLabels? = nil,
         now: @escaping @Sendable () -> Date = { Date() }, emit: @escaping @Sendable (SessionEvent) -> Void) {
        self.fence = fence
        self.buttons = buttons
        self.configuration = configuration
        self.downloader = downloader
        self.ledger = ledger
        self.store = store
        self.downloads = downloads
        self.emit = emit
        self.now = now
        // The newest 20,000 ids (a resume replays recent events): beyond that the store (unique uid)
        // still catches a duplicate. (200,000 held 35 MB.)
        self.seen = RecentIDs(capacity: 20_000)
        // Until READY says otherwise, a mention of the AppID is a mention of the bot.
        self.botIDs = [configuration.appID]
        self.positionKey = store == nil ? nil : GatewayPosition.key(appID: configuration.appID, shard: configuration.shard)
    }

    /// The session a restart resumes: dispatches replayed for it move its position on.
    func restorePosition(_ p: GatewayPosition) {
        position = (p.sessionID, p.lastSeq)
    }

    /// Remembers ids already handled (loaded from the store after a restart).
    func rememberSeen(_ ids: [String]) {
        let at = now()
        let until = at.addingTimeInterval(configuration.dedupWindow.seconds)
        for id in ids { seen.insert(id, until: until, now: at) }
    }

    /// Handles everything that arrived together.
    func handle(_ items: [GatewayInbound]) async {
        var outputs: [Output] = []
        var ops: [StoreOp] = []
        var moved = false
        let duplicates = InboundOutcomes()
        var acks: [WebhookAck] = []
        for item in items {
            switch item {
            case .webhook(let frame, let ack):
                handleDispatch(frame, duplicates, &outputs, &ops)
                acks.append(ack)
            case .ready(let ready, let seq):
                if let id = ready.user?.id, !id.isEmpty { botIDs.insert(id) }
                position = (ready.sessionID, seq ?? 0)
                moved = true
            case .notice(let notice):
                outputs.append(.event(.notice(notice)))
            case .dispatch(let frame):
                handleDispatch(frame, duplicates, &outputs, &ops)
                if let s = frame.s, s > 0, position != nil { position?.seq = s; moved = true }
            }
        }
        // The position goes in the same transaction as the events up to it: a restart resumes after
        // the last event that is stored, so one in flight at a crash is replayed, never skipped.
        if moved, let positionKey, let position {
            ops.append(.gatewayPosition(GatewayPosition(key: positionKey, sessionID: position.sessionID,
                                                        lastSeq: position.seq, savedAt: now())))
        }
        if let store, !ops.isEmpty {
            do {
                // The store remembers every message ever received, beyond the de-duplication window
                // held in memory: one it already had was handled by an earlier run.
                // Not in yet (the file is locked): shown now, the store commits it when it can.
                let committed = try await store.write(ops, waitingAtMost: Self.commitPatience)
                if committed { store.started.insert(duplicates.startedConversations) }
                if committed { for ack in acks { ack(true) } } else { Self.acknowledgeWhenFlushed(acks, store) }
                acks.removeAll()
                if !committed, let fence {
                    // Shown now; answered once stored (CommitFence).
                    await fence.hold()
                    let ids = outputs.compactMap { output -> String? in if case .message(let m) = output { return m.id }; return nil }
                    Task {
                        try? await store.flush()
                        await fence.release(duplicates: ids.filter { duplicates.contains($0) })
                    }
                }
                if committed {
                    outputs = outputs.map { output in
                        guard case .message(let m) = output, duplicates.contains(m.id) else { return output }
                        return .event(.notice(Notice(level: .debug, kind: .duplicate,
                                                     message: "duplicate message \(m.id) ignored (already stored)", subject: m.id, at: m.receivedAt)))
                    }
                }
            } catch {
                // Shown anyway (never lost from view); the store keeps these writes and retries them,
                // and the session says when it fails and when it recovers (MessageStore.observeHealth).
                // Not durable yet: the callback is not acknowledged, so the platform sends it again.
                for ack in acks { ack(false) }
                acks.removeAll()
            }
        }
        if !acks.isEmpty {
            // Nothing to write (a duplicate, a filtered message): durable once what is queued is.
            if let store { Self.acknowledgeWhenFlushed(acks, store) } else { for ack in acks { ack(true) } }
        }
        for output in outputs {
            switch output {
            case .event(let e): emit(e)
            case .message(let m): deliver(m)
            case .conversation(let e, let c): deliver(e, in: c)
            }
        }
    }

    /// Acknowledges webhook callbacks once what the store holds is on disk (the platform sends them
    /// again until then).
    private static func acknowledgeWhenFlushed(_ acks: [WebhookAck], _ store: MessageStore) {
        guard !acks.isEmpty else { return }
        Task { let durable = (try? await store.flush()) != nil; for ack in acks { ack(durable) } }
    }

    /// Waits until every pending download has been emitted.
    func drain() async {
        for (_, tail) in tails { await tail.task.value }
    }

    private func handleDispatch(_ frame: GatewayFrame, _ duplicates: InboundOutcomes, _ outputs: inout [Output],
                                _ ops: inout [StoreOp]) {
        let type = frame.t ?? "?"
        switch frame.payload {
        case .message(let payload):
            let source: InboundMessage.Source = type == "C2C_MESSAGE_CREATE" ? .c2c
                : type == "GROUP_AT_MESSAGE_CREATE" ? .groupAt : .group
            handleMessage(payload, frame: frame, source: source, duplicates, &outputs, &ops)
        case .groupRobot(let p):
            guard let kind = ConversationEvent.Kind(rawValue: type) else { return raw(frame, .null, &outputs, &ops) }
            registerEvent(frame, in: .group(p.groupOpenID))
            let event = ConversationEvent(kind: kind, conversation: .group(p.groupOpenID), operatorOpenID: p.opMemberOpenID,
                                          eventID: frame.id, receivedAt: now())
            ops.append(.touch(event))
            outputs.append(.conversation(.conversation(event), .group(p.groupOpenID)))
        case .friend(let p):
            guard let kind = ConversationEvent.Kind(rawValue: type) else { return raw(frame, .null, &outputs, &ops) }
            registerEvent(frame, in: .c2c(p.openID))
            let event = ConversationEvent(kind: kind, conversation: .c2c(p.openID), operatorOpenID: p.openID,
                                          eventID: frame.id, receivedAt: now())
            ops.append(.touch(event))
            outputs.append(.conversation(.conversation(event), .c2c(p.openID)))
        case .interaction(let p):
            handleInteraction(p, frame: frame, &outputs, &ops)
        case .raw(let json):
            raw(frame, json, &outputs, &ops)
        case .undecodable(let reason, let json):
            outputs.append(.event(.notice(Notice(level: .warning, kind: .malformedFrame,
                message: "undecodable \(type) (s=\(frame.s.map(String.init) ?? "-")): \(reason)", subject: frame.id))))
            raw(frame, json ?? .null, &outputs, &ops)
        default:
            raw(frame, .null, &outputs, &ops)
        }
    }

    /// A button press: stored and shown in its conversation (guild presses stay raw events).
    private func handleInteraction(_ p: InteractionPayload, frame: GatewayFrame, _ outputs: inout [Output], _ ops: inout [StoreOp]) {
        let received = now()
        let conversation: ConversationID, user: String
        switch p.chatType {
        case 1?:
            conversation = .group(p.groupOpenID ?? "")
            user = p.groupMemberOpenID ?? p.resolvedUserID ?? ""
        case 2?:
            user = p.userOpenID ?? p.resolvedUserID ?? ""
            conversation = .c2c(user)
        default:
            return raw(frame, .null, &outputs, &ops)
        }
        guard !conversation.openID.isEmpty, !user.isEmpty else {
            outputs.append(.event(.notice(Notice(level: .warning, kind: .malformedFrame,
                message: "INTERACTION_CREATE \(p.id) has no \(user.isEmpty ? "user openid" : "group_openid")", subject: p.id, at: received))))
            return
        }
        if seen.contains(p.id, now: received) {
            outputs.append(.event(.notice(Notice(level: .debug, kind: .duplicate, message: "duplicate interaction \(p.id) ignored",
                                                 subject: p.id, at: received))))
            return
        }
        seen.insert(p.id, until: received.addingTimeInterval(configuration.dedupWindow.seconds), now: received)
        guard configuration.allowFrom.allows(user) else {
            outputs.append(.event(.notice(Notice(level: .info, kind: .notAllowed, message: "button press from \(user) not in allow_from",
                                                 subject: p.id, at: received))))
            return
        }
        let interaction = Interaction(id: p.id, conversation: conversation, userOpenID: user, buttonID: p.buttonID,
                                      buttonData: p.buttonData, label: buttons?.label(for: p.buttonData), receivedAt: received)
        ops.append(.interaction(interaction))
        outputs.append(.conversation(.interaction(interaction), conversation))
    }

    /// Events that allow a passive reply by `event_id` (qq-protocol.md §6.2) open a ledger entry.
    private func registerEvent(_ frame: GatewayFrame, in conversation: ConversationID) {
        let replyable: Set<String> = ["FRIEND_ADD", "C2C_MSG_RECEIVE", "GROUP_ADD_ROBOT", "GROUP_MSG_RECEIVE"]
        guard let id = frame.id, let t = frame.t, replyable.contains(t) else { return }
        let at = now()
        _ = ledger.register(msgID: id, conversation: conversation, start: at, now: at, isEvent: true)
    }

    private func raw(_ frame: GatewayFrame, _ payload: JSONValue, _ outputs: inout [Output], _ ops: inout [StoreOp]) {
        let event = RawEvent(type: frame.t ?? "?", seq: frame.s, eventID: frame.id, payload: payload, receivedAt: now())
        ops.append(.raw(event))
        outputs.append(.event(.raw(event)))
    }

    private func handleMessage(_ p: MessagePayload, frame: GatewayFrame, source: InboundMessage.Source,
                               _ duplicates: InboundOutcomes, _ outputs: inout [Output], _ ops: inout [StoreOp]) {
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
        func notice(_ level: Notice.Level, _ kind: Notice.Kind, _ text: String) {
            outputs.append(.event(.notice(Notice(level: level, kind: kind, message: text, subject: p.id, at: received))))
        }
        guard !authorID.isEmpty, !conversation.openID.isEmpty else {
            return notice(.warning, .malformedFrame, "\(frame.t ?? "message") \(p.id) has no \(authorID.isEmpty ? "author openid" : "group_openid")")
        }
        if seen.contains(p.id, now: received) {
            return notice(.debug, .duplicate, "duplicate message \(p.id) ignored")
        }
        seen.insert(p.id, until: received.addingTimeInterval(configuration.dedupWindow.seconds), now: received)
        guard configuration.allowFrom.allows(authorID) else {
            return notice(.info, .notAllowed, "message from \(authorID) not in allow_from")
        }
        var ids = botIDs
        var others: Set<String> = []
        for m in p.mentions {
            let mentioned = [m.id, m.memberOpenID].compactMap { $0 }
            if m.isYou == true { ids.formUnion(mentioned) } else { others.formUnion(mentioned) }
        }
        let text = source == .c2c ? Self.trimmed(p.content)
            : MentionStripper.strip(p.content, botIDs: ids, otherIDs: others.subtracting(ids), atEvent: source == .groupAt)
        let attachments = p.attachments.enumerated().map { AttachmentDownloader.describe($1, index: $0) }
        guard !text.isEmpty || !attachments.isEmpty else {
            return notice(.debug, .skippedEmpty, "empty message \(p.id) skipped")
        }
        let timestamp = p.timestamp.flatMap(timestamp(_:)) ?? received
        let start = min(timestamp, received)
        let entry = ledger.register(msgID: p.id, conversation: conversation, start: start, now: received)
        let message = InboundMessage(
            id: p.id, eventID: frame.id, conversation: conversation, source: source,
            author: .init(openID: authorID, role: p.author.memberRole, isBot: p.author.bot ?? false, username: p.author.username),
            text: text, rawContent: p.content, timestamp: timestamp, receivedAt: received, attachments: attachments,
            messageType: p.messageType, referencedMessageID: p.referencedMessageID, seq: frame.s,
            replyWindowEnds: entry.windowEnds)
        ops.append(.inbound(message, duplicates: duplicates))
        outputs.append(.message(message))
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

    /// Emits now, or after the downloads (stored before it is shown) and after earlier messages of
    /// the same conversation.
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
        let store = self.store
        let task = Task {
            var resolved = message
            for (i, a) in message.attachments.enumerated() {
                resolved.attachments[i] = await downloader.resolve(a, messageID: message.id, index: i)
            }
            if needsDownload { try? await store?.write([.attachments(uid: message.id, resolved.attachments)]) }
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

    /// `text` without leading and trailing blanks and line breaks (Foundation's set); a text whose first
    /// and last characters are neither, as nearly all are, is returned as is (no copy through NSString).
    static func trimmed(_ text: String) -> String {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return text }
        if !blanks.contains(first), !blanks.contains(last) { return text }
        return text.trimmingCharacters(in: blanks)
    }

    private static let blanks = CharacterSet.whitespacesAndNewlines

    /// The platform's timestamp; messages of the same second share one (the last is remembered).
    private func timestamp(_ text: String) -> Date? {
        if let last = lastTimestamp, last.text == text { return last.date }
        let date = Self.parseTimestamp(text)
        lastTimestamp = (text, date)
        return date
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
