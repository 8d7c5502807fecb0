import Foundation
import Logging

/// The QQ bot session: token, gateway, inbound filters, ledger. Commands in, ``events`` out.
///
/// ```swift
/// let session = Session(configuration: config, logger: logger)
/// await session.start()
/// for await event in session.events { … }
/// await session.shutdown()
/// ```
/// Nothing here prints; logs go to the `Logger` given.
public actor Session {
    /// Everything that happens, in order. One consumer.
    public nonisolated let events: AsyncStream<SessionEvent>
    let continuation: EventTap.Emitter
    /// Sees each event synchronously as it is emitted (tests check ordering guarantees with it).
    nonisolated let tap: EventTap

    /// The configuration the session runs with.
    public nonisolated let configuration: SessionConfiguration
    /// Where every message is kept (nil: nothing is persisted).
    public nonisolated let store: MessageStore?
    /// What every deadline, window and timeout of the session is measured on.
    public nonisolated let clock: SessionClock
    let logger: Logger
    let tokens: TokenProvider
    let rest: RESTClient
    let ledger: LedgerBox
    private let driver: GatewayDriver
    let queue = InboundQueue()
    /// The agent answers only what is stored (see ``CommitFence``).
    let fence = CommitFence()
    private var pipeline: Task<Void, Never>?
    private var indexer: Task<Void, Never>?
    private var recovery: Task<Void, Never>?
    /// How far the msg_seq counters of open reply windows move on after a run that did not close the
    /// store (more than the numbers one store commit round can hold back).
    static let seqSkipAfterCrash = 16
    private let downloads = DownloadRegistry()
    /// Labels of the buttons sent (a press carries only the data).
    let buttons = ButtonLabels()
    private var interactionPipeline: Task<Void, Never>?
    var webhookTask: Task<Void, Never>?
    /// The webhook listener's counters (with `transport = .webhook`): where it listens, callbacks
    /// accepted and refused, the last one.
    public nonisolated let webhookCounters = WebhookCounters()
    private let interactionInbox: AsyncStream<Interaction>.Continuation
    private let interactionStream: AsyncStream<Interaction>
    let sender: OutboundSender
    nonisolated let lanes = OutboundLanes()
    let router: AgentRouter
    private let routerInbox: AsyncStream<InboundMessage>.Continuation
    private var routerPipeline: Task<Void, Never>?
    private let routerMessages: AsyncStream<InboundMessage>

    /// Creates a session; nothing connects until ``start()``. With a `store`, every message, send
    /// status and ledger change is kept in it, and a restart resumes from it. With an `agent`,
    /// conversations owned by AGENT or DRAFT are answered by it (see ``setOwner(_:for:by:reason:)``).
    /// `clock` is the continuous clock in the product; tests pass a manual one and move time by hand.
    public init(configuration: SessionConfiguration, store: MessageStore? = nil, agent: (any AgentBackend)? = nil,
                logger: Logger = Logger(label: "qqtui.session", factory: { _ in SwiftLogNoOpLogHandler() }),
                clock: SessionClock = .continuous) {
        self.configuration = configuration
        self.store = store
        self.clock = clock
        self.logger = logger
        let transport = HTTPTransport(clock: clock)
        let tokens = TokenProvider(configuration: configuration, transport: transport, logger: logger, clock: clock)
        self.tokens = tokens
        let rest = RESTClient(apiBase: Self.trimmed(configuration.apiBase), appID: configuration.appID, tokens: tokens,
                              transport: transport, timeout: configuration.timeouts.request)
        self.rest = rest
        var persistLedger: (@Sendable (LedgerEntry) -> Void)?
        if let store {
            persistLedger = { entry in store.enqueue([.ledger(entry)]) }
        }
        let ledger = LedgerBox(window: configuration.replyWindow, persist: persistLedger)
        self.ledger = ledger
        let (events, stream) = AsyncStream.makeStream(of: SessionEvent.self, bufferingPolicy: .unbounded)
        let tap = EventTap(stream)
        self.tap = tap
        let continuation = tap.continuation
        self.events = events
        self.continuation = continuation
        let sender = OutboundSender(rest: rest, ledger: ledger, configuration: configuration, markdownRefused: MarkdownSwitch(),
                                    emit: { continuation.yield($0) }, logger: logger, clock: clock, store: store)
        self.sender = sender
        let lanes = self.lanes
        self.router = AgentRouter(backend: agent, policy: configuration.handoff, store: store, logger: logger, clock: clock,
                                  emit: { continuation.yield($0) },
                                  makeWriter: { conversation, msgID in
                                      ReplyWriter(sender: sender, lanes: lanes, conversation: conversation, replyTo: msgID, origin: "agent")
                                  },
                                  sendLine: { conversation, msgID, text, keyboard in
                                      await Self.sendLine(text, keyboard: keyboard, to: conversation, replyTo: msgID,
                                                          sender: sender, lanes: lanes)
                                  },
                                  sendTyping: { conversation, msgID in await sender.sendTyping(to: conversation, replyTo: msgID) })
        (self.routerMessages, self.routerInbox) = AsyncStream.makeStream(of: InboundMessage.self, bufferingPolicy: .unbounded)
        (self.interactionStream, self.interactionInbox) = AsyncStream.makeStream(of: Interaction.self, bufferingPolicy: .unbounded)
        if let human = configuration.handoff.humanButtonKeyboard { buttons.remember(human) }
        store?.observeHealth { failure, count in
            if let failure {
                continuation.yield(.notice(Notice(level: .error, kind: .storeError, message:
                    "cannot save to the store: \(failure.message). Messages are still shown; \(count) change(s) are kept and retried every few seconds")))
            } else if count == 0 {
                continuation.yield(.notice(Notice(level: .info, kind: .storeError, message: "the store is writable again; nothing was lost")))
            } else {
                continuation.yield(.notice(Notice(level: .error, kind: .storeError, message:
                    "the store is writable again, but \(count) change(s) were dropped while it failed (the retry buffer was full)")))
            }
        }
        let queue = self.queue
        self.driver = GatewayDriver(configuration: configuration, tokens: tokens, rest: rest, logger: logger, clock: clock,
                                    delegate: .init(onStatus: { continuation.yield(.gateway($0)) },
                                                    onInbound: { queue.push($0) }, waitForRoom: { await queue.waitForRoom() },
                                                    onToken: { [store, configuration] expiry in
                                                        store?.enqueue([.tokenExpiry(key: GatewayPosition.key(
                                                            appID: configuration.appID, shard: configuration.shard), expiresAt: expiry)])
                                                    }))
    }

    private static func trimmed(_ base: String) -> String {
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        return b
    }

    /// Loads the reply ledger from the store without connecting (for a send-only process).
    public func restoreFromStore() {
        guard let store else { return }
        try? restoreLedger(from: store, now: clock.date)
    }

    /// Reloads the reply ledger: the entries saved because a reply used them, and those of the
    /// messages still in their window that nobody answered (derived from their rows). With `skip`,
    /// the saved counters move on that far, and are written back.
    private func restoreLedger(from store: MessageStore, now: Date, skippingSeqs skip: Int = 0) throws {
        var entries = try store.openLedgerEntries(now: now)
        if skip > 0 {
            entries = entries.map { var e = $0; e.nextSeq += skip; return e }
            store.enqueue(entries.map { .ledger($0) })
        }
        let inbound = try store.inboundStarts(since: now.addingTimeInterval(-ledger.longestWindow.seconds))
        ledger.restore(saved: entries, inbound: inbound, now: now)
    }

    /// Connects to the gateway (and keeps reconnecting). Calling it again does nothing.
    public func start() {
        if pipeline == nil {
            let processor = InboundProcessor(
                configuration: configuration,
                downloader: AttachmentDownloader(policy: configuration.attachments, transport: HTTPTransport(clock: clock), logger: logger),
                ledger: ledger, store: store, downloads: downloads, fence: fence, buttons: buttons, now: { [clock] in clock.date },
                emit: { [continuation, routerInbox, interactionInbox] event in
                    continuation.yield(event)
                    // The router sees a message after it is stored and shown, in arrival order.
                    if case .message(let m) = event { routerInbox.yield(m) }
                    if case .interaction(let i) = event { interactionInbox.yield(i) }
                })
            if let store {
                // Resume where the last run stopped: open reply windows (msg_seq counters) and the
                // ids already answered (no second answer to a message pushed again).
                let now = clock.date
                do {
                    // Not closed cleanly (or written by someone else): the last msg_seq numbers a killed
                    // run took may not have reached the store. Numbers only need to be unique per
                    // message, so skip past any it may have used.
                    try restoreLedger(from: store, now: now, skippingSeqs: store.integrityChecked ? Self.seqSkipAfterCrash : 0)
                    processor.rememberSeen(try store.inboundIDs(since: now.addingTimeInterval(-configuration.dedupWindow.seconds)))
                    // The gateway session the last run had: resumed, so what the platform held for it is replayed.
                    let key = GatewayPosition.key(appID: configuration.appID, shard: configuration.shard)
                    if let position = try store.gatewayPosition(key: key) {
                        processor.restorePosition(position)
                        driver.restore(position)
                        logger.info("resuming the last run's gateway session", metadata: [
                            "session": "\(position.sessionID)", "seq": "\(position.lastSeq)", "saved": "\(position.savedAt)"])
                    }
                } catch {
                    continuation.yield(.notice(Notice(level: .error, kind: .storeError, message: "could not read the store: \(error)")))
                }
                indexer = Task.detached { [store, clock] in await Self.runIndexer(store, now: clock.date) }
                let (sender, router, ledger, clock, emit) = (self.sender, self.router, self.ledger, self.clock, continuation)
                recovery = Task.detached {
                    await SessionRecovery(store: store, sender: sender, router: router, ledger: ledger, clock: clock,
                                          emit: { emit.yield($0) }).run()
                }
            }
            let (presses, rest, emit) = (self.interactionStream, self.rest, continuation)
            let pressRouter = self.router
            interactionPipeline = Task.detached {
                for await press in presses {
                    // Acknowledged at once (the user's button shows an error otherwise), then acted on.
                    Task { await Self.acknowledge(press, rest: rest, emit: { emit.yield($0) }) }
                    await pressRouter.interaction(press)
                }
            }
            let router = self.router, messages = self.routerMessages, fence = self.fence
            routerPipeline = Task.detached {
                for await m in messages where await fence.pass(m.id) { await router.inbound(m) }
            }
            let queue = self.queue
            pipeline = Task.detached {
                for await _ in queue.wakeups {
                    let batch = queue.drain()
                    if !batch.isEmpty { await processor.handle(batch) }
                }
                let rest = queue.drain()
                if !rest.isEmpty { await processor.handle(rest) }
                await processor.drain()
            }
        }
        if configuration.transport == .webhook {
            if webhookTask == nil { startWebhook() }
            return
        }
        driver.start()
    }

    /// Keeps the search index up with the writes, a batch at a time, off the write path.
    /// Its pauses are real time, not the session's clock: they pace disk work and decide nothing.
    private static func runIndexer(_ store: MessageStore, now: Date) async {
        try? await store.pruneLedger(now: now)
        let clock = ContinuousClock()
        var last = (count: store.writer.committedCount.withLock { $0 }, at: clock.now)
        var waitingSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            // A burst being stored has the cores first: while changes pour in (over 2,000 a second)
            // the index waits, 10 s at most at a time; search still finds what is not indexed yet.
            let count = store.writer.committedCount.withLock { $0 }, at = clock.now
            let rate = Double(count - last.count) / max(0.001, (at - last.at).seconds)
            last = (count, at)
            if rate > 2_000 {
                let since = waitingSince ?? at
                waitingSince = since
                if at - since < .seconds(10) {
                    try? await Task.sleep(for: .milliseconds(250))
                    continue
                }
            }
            waitingSince = nil
            let indexed = (try? await store.indexPending()) ?? 0
            // Catching up (a big import, a first run on an old store): a short pause between
            // batches leaves the write lock to the session's own commits.
            try? await Task.sleep(for: .milliseconds(indexed < MessageStore.indexBatch ? 500 : 50))
        }
    }

    /// Forces a fresh connection attempt now: after OFFLINE, during a backoff wait, or while connected.
    public func reconnect() {
        driver.forceReconnect()
    }

    /// Closes the gateway, lets pending events out, and finishes ``events``.
    public func shutdown() async {
        // Agents first, while QQ is still reachable: open C2C streams get their closing frame, and
        // sends in flight their answer, within [replies] shutdown_grace_s.
        let grace = configuration.sending.shutdownGrace
        let (router, lanes) = (self.router, self.lanes)
        let recovery = self.recovery
        let settling = AbandonableTask<Bool> {
            await recovery?.value
            await router.shutdown()
            await lanes.idle()
            return true
        }
        let timer = Task { [clock] in
            if (try? await clock.sleep(for: grace)) != nil { settling.abandon() }
        }
        let settled = await settling.value() ?? false
        timer.cancel()
        if !settled, let store {
            let detail = "qqtui stopped before it was sent (shutdown_grace_s \(grace.shortDescription))"
            store.enqueue([.settleSending(detail: detail, at: clock.date)])
            continuation.yield(.notice(Notice(level: .error, kind: .storeError, message:
                "stopping took longer than \(grace.shortDescription): what was still being sent is marked failed")))
        }
        await driver.shutdown()
        webhookTask?.cancel()
        await webhookTask?.value
        downloads.cancelAll()
        queue.finish()
        await pipeline?.value
        routerInbox.finish()
        await routerPipeline?.value
        indexer?.cancel()
        await indexer?.value
        if let store {
            do { try await store.flush() } catch {
                continuation.yield(.notice(Notice(level: .error, kind: .storeError,
                    message: "not everything is saved yet (\((error as? QQError)?.message ?? "\(error)")); closing the store tries once more")))
            }
        }
        continuation.finish()
    }

    /// The gateway status right now.
    public nonisolated var status: GatewayStatus { driver.status }

    /// The ledger entry of an inbound message (nil once its reply window closed).
    public nonisolated func ledgerEntry(for msgID: String) -> LedgerEntry? {
        ledger.entry(msgID, now: clock.date)
    }

    /// Ledger entries held right now (bounded by the reply windows).
    public nonisolated var ledgerCount: Int { ledger.count(now: clock.date) }

    /// Connection attempts and reconnect loops started since creation.
    public nonisolated var connectionCounters: (attempts: Int, loops: Int) { driver.counters }

    /// Whether the gateway's reconnect loop runs (after OFFLINE it has ended: nothing retries on its own).
    package nonisolated var reconnectLoopRunning: Bool { driver.loopRunning }

    // MARK: - Sending

    /// The route a message to `conversation` would take now: passive (which message, time and
    /// replies left), proactive, or refused. The console shows it before the operator presses Enter.
    public nonisolated func route(for conversation: ConversationID, replyingTo msgID: String? = nil) -> ReplyRoute {
        sender.route(for: conversation, replyingTo: msgID)
    }

    /// Takes the next place in `conversation`'s lane now: a send given it (`place:`) goes out after
    /// every message asked for before this call, however late that send starts. A console that
    /// starts each send in a task of its own takes the place first, in the order the operator sent.
    public nonisolated func holdPlace(in conversation: ConversationID) -> SendPlace {
        lanes.reserve(conversation)
    }

    /// Sends text (split at 2000 characters, each part routed on its own) and returns the outcome.
    /// Every step is also a `SessionEvent.outbound`. Messages to one conversation go out in the
    /// order of the calls (or of their `place`, from ``holdPlace(in:)``).
    /// `operatorName` names the operator who sent it (kept with the message in the store and on every screen).
    /// With `keyboard`, its buttons go under the message (as markdown); a keyboard the platform
    /// would refuse is refused here, before anything is sent.
    public func send(_ text: String, to conversation: ConversationID, replyingTo msgID: String? = nil,
                     origin: String = "operator", by operatorName: String? = nil, keyboard: Keyboard? = nil,
                     place: SendPlace? = nil) async -> OutboundMessage {
        // The place first, before anything can suspend: a later call cannot pass this one.
        let place = place ?? lanes.reserve(conversation)
        var draft = OutboundMessage.new(.text, to: conversation, text: text, replyTo: msgID, origin: origin,
                                        operatorName: operatorName, createdAt: clock.date)
        draft.keyboard = keyboard
        if let problem = keyboard?.problem {
            draft.status = .refused(reason: "buttons: " + problem)
            place.release()
            sender.emit(.outbound(draft))
            await sender.persist(draft)
            return draft
        }
        if let keyboard { buttons.remember(keyboard) }
        let message = draft
        sender.emit(.outbound(message))
        if origin == "operator" { await router.operatorSent(text, to: conversation, id: message.id) }
        let sender = self.sender
        return await Self.inLane(message, place: place, sender: sender, lanes: lanes) { await sender.sendText(&$0) }
    }

    /// Uploads an image and sends it (with an optional caption).
    public func sendImage(_ data: Data, filename: String, caption: String = "", to conversation: ConversationID,
                          replyingTo msgID: String? = nil, origin: String = "operator", by operatorName: String? = nil) async -> OutboundMessage {
        await sendFile(data, filename: filename, as: .image, caption: caption, to: conversation, replyingTo: msgID, origin: origin, by: operatorName)
    }

    /// Sends a local image file; an unreadable file is refused with the reason (nothing is sent).
    public func sendImage(path: String, caption: String = "", to conversation: ConversationID,
                          replyingTo msgID: String? = nil, by operatorName: String? = nil) async -> OutboundMessage {
        await sendFile(path: path, as: .image, caption: caption, to: conversation, replyingTo: msgID, by: operatorName)
    }

    /// Uploads a file and sends it as `kind` (`msg_type 7`): an image, a video, SILK voice or any file.
    /// A file over the platform's limit for its kind is refused before anything is uploaded; one over
    /// the inline limit (`[replies] max_upload_mb`) goes through the chunked upload, its progress in
    /// the message's part.
    public func sendFile(_ data: Data, filename: String, as kind: MediaKind, caption: String = "", to conversation: ConversationID,
                         replyingTo msgID: String? = nil, origin: String = "operator", by operatorName: String? = nil,
                         place: SendPlace? = nil) async -> OutboundMessage {
        let place = place ?? lanes.reserve(conversation)
        let message = OutboundMessage.new(kind.messageKind, to: conversation, text: caption, replyTo: msgID, origin: origin,
                                          operatorName: operatorName, createdAt: clock.date)
        sender.emit(.outbound(message))
        let sender = self.sender
        return await Self.inLane(message, place: place, sender: sender, lanes: lanes) {
            await sender.sendMedia(&$0, data: data, filename: filename, kind: kind)
        }
    }

    /// Keeps `message` on disk before it waits for its place in the conversation's lane (a crash
    /// while it queues still leaves it there), then sends it there.
    static func inLane(_ message: OutboundMessage, place: SendPlace, sender: OutboundSender, lanes: OutboundLanes,
                       _ send: @escaping @Sendable (inout OutboundMessage) async -> Void) async -> OutboundMessage {
        await sender.persist(message)
        return await lanes.run(place) {
            var m = message
            await send(&m)
            return m
        }
    }

    /// Sends a local file as `kind` (nil: guessed from its name); a missing, unreadable or too large
    /// file is refused with the reason, before it is read whole or uploaded.
    public func sendFile(path: String, as kind: MediaKind? = nil, caption: String = "", to conversation: ConversationID,
                         replyingTo msgID: String? = nil, by operatorName: String? = nil,
                         place: SendPlace? = nil) async -> OutboundMessage {
        let place = place ?? lanes.reserve(conversation)
        let name = (path as NSString).lastPathComponent
        let kind = kind ?? MediaKind.guess(name)
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
        var problem: String?
        if size == nil { problem = FileManager.default.fileExists(atPath: path) ? "cannot read \(path)" : "no such file: \(path)" }
        else if let size, let tooBig = OutboundSender.sizeProblem(size, filename: name, kind: kind) { problem = tooBig }
        let data = problem == nil ? FileManager.default.contents(atPath: path) : nil
        guard let data else {
            var message = OutboundMessage.new(kind.messageKind, to: conversation, text: caption, replyTo: msgID, origin: "operator",
                                              operatorName: operatorName, createdAt: clock.date)
            message.status = .refused(reason: problem ?? "cannot read \(path)")
            place.release()
            sender.emit(.outbound(message))
            await sender.persist(message)
            return message
        }
        return await sendFile(data, filename: name, as: kind, caption: caption, to: conversation, replyingTo: msgID,
                              by: operatorName, place: place)
    }

    /// A writer for an agent's reply: a C2C stream when a passive route exists, else one message at the end.
    public func openReply(to conversation: ConversationID, replyingTo msgID: String? = nil,
                          origin: String = "agent") -> ReplyWriter {
        ReplyWriter(sender: sender, lanes: lanes, conversation: conversation, replyTo: msgID, origin: origin)
    }

    // MARK: - Who answers

    /// Who answers `conversation` now.
    public func owner(of conversation: ConversationID) async -> Owner {
        await router.owner(of: conversation)
    }

    /// Hands a conversation to the agent (`.agent`, `.draft`) or takes it back (`.human`), at any
    /// moment: a take-back mid-stream stops forwarding at once, cancels the agent's turn and closes
    /// the C2C stream validly. Every change is recorded (who, when, why). False (and a notice) when
    /// no agent is configured to hand the conversation to.
    @discardableResult
    public func setOwner(_ owner: Owner, for conversation: ConversationID, by actor: String = "operator",
                         reason: String? = nil) async -> Bool {
        await router.setOwner(owner, for: conversation, actor: actor, reason: reason)
    }

    /// Answers an agent's permission request (nil denies).
    public func answerPermission(_ requestID: String, optionID: String?, in conversation: ConversationID) async {
        await router.answerPermission(requestID, optionID: optionID, in: conversation)
    }

    /// The oldest of the agent's finished drafts waiting for the operator (DRAFT mode).
    public func draft(for conversation: ConversationID) async -> String? {
        await router.drafts(for: conversation).first?.text
    }

    /// The agent's drafts waiting for the operator, oldest first: one per turn, each answering its
    /// own user message.
    public func drafts(for conversation: ConversationID) async -> [AgentDraft] {
        await router.drafts(for: conversation)
    }

    /// Sends a waiting draft (`id`, else the oldest), or the operator's edit of it (`text`), as the
    /// reply to the message it answers (passive with that msg_id while its window lasts). Nil when
    /// there is no such draft: nothing is sent, and a `place` given stays the caller's to use.
    public func sendDraft(_ id: UUID? = nil, for conversation: ConversationID, text: String? = nil,
                          by operatorName: String? = nil, place: SendPlace? = nil) async -> OutboundMessage? {
        let place = place ?? lanes.reserve(conversation)
        guard let draft = await router.takeDraft(id, in: conversation) else { return nil }
        return await send(text ?? draft.text, to: conversation, replyingTo: draft.replyTo, origin: "operator", by: operatorName,
                          place: place)
    }

    /// Every conversation's waiting drafts (what a console attaching to a running session starts with).
    public func allDrafts() async -> [ConversationID: [AgentDraft]] {
        await router.allDrafts()
    }

    /// Drops a waiting draft (`id`, else the oldest); the others stay.
    public func discardDraft(_ id: UUID? = nil, for conversation: ConversationID) async {
        _ = await router.takeDraft(id, in: conversation)
    }

    /// `GET /users/@me`: the bot's own user.
    public func botUser() async throws -> BotUser {
        try await rest.request(.GET, "/users/@me", as: BotUser.self)
    }
}

/// The events' way out: every event passes through here, where a test can watch synchronously.
final class EventTap: Sendable {
    /// What the session's parts call to emit (same shape as an AsyncStream continuation).
    struct Emitter: Sendable {
        let tap: EventTap
        @discardableResult
        func yield(_ event: SessionEvent) -> AsyncStream<SessionEvent>.Continuation.YieldResult {
            tap.observer.call(event)
            return tap.stream.yield(event)
        }
        func finish() { tap.stream.finish() }
    }

    let stream: AsyncStream<SessionEvent>.Continuation
    let observer = CallbackSlot<SessionEvent>()
    var continuation: Emitter { Emitter(tap: self) }

    init(_ stream: AsyncStream<SessionEvent>.Continuation) { self.stream = stream }

    /// Calls `body` with every event, on the emitting task, before the event is queued.
    func observe(_ body: @escaping @Sendable (SessionEvent) -> Void) { observer.set(body) }
}

/// The bot's own account (`GET /users/@me`).
public struct BotUser: Sendable, Hashable, Codable {
    /// The bot's user id.
    public var id: String
    /// Its name.
    public var username: String?
    /// Its avatar URL.
    public var avatar: String?
}
