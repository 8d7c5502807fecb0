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
    private let continuation: AsyncStream<SessionEvent>.Continuation

    /// The configuration the session runs with.
    public nonisolated let configuration: SessionConfiguration
    private let logger: Logger
    let tokens: TokenProvider
    let rest: RESTClient
    let ledger: LedgerBox
    private let driver: GatewayDriver
    private let inboundContinuation: AsyncStream<GatewayInbound>.Continuation
    private var pipeline: Task<Void, Never>?
    private let inbound: AsyncStream<GatewayInbound>
    private let downloads = DownloadRegistry()

    /// Creates a session; nothing connects until ``start()``.
    public init(configuration: SessionConfiguration, logger: Logger = Logger(label: "qqtui.session", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.configuration = configuration
        self.logger = logger
        let transport = HTTPTransport()
        let tokens = TokenProvider(configuration: configuration, transport: transport, logger: logger)
        self.tokens = tokens
        let rest = RESTClient(apiBase: Self.trimmed(configuration.apiBase), appID: configuration.appID, tokens: tokens,
                              transport: transport, timeout: configuration.timeouts.request)
        self.rest = rest
        self.ledger = LedgerBox(window: configuration.replyWindow)
        let (events, continuation) = AsyncStream.makeStream(of: SessionEvent.self, bufferingPolicy: .unbounded)
        self.events = events
        self.continuation = continuation
        let (inbound, inboundContinuation) = AsyncStream.makeStream(of: GatewayInbound.self, bufferingPolicy: .unbounded)
        self.inbound = inbound
        self.inboundContinuation = inboundContinuation
        self.driver = GatewayDriver(configuration: configuration, tokens: tokens, rest: rest, logger: logger,
                                    delegate: .init(onStatus: { continuation.yield(.gateway($0)) },
                                                    onInbound: { inboundContinuation.yield($0) }))
    }

    private static func trimmed(_ base: String) -> String {
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        return b
    }

    /// Connects to the gateway (and keeps reconnecting). Calling it again does nothing.
    public func start() {
        if pipeline == nil {
            let processor = InboundProcessor(
                configuration: configuration,
                downloader: AttachmentDownloader(policy: configuration.attachments, transport: HTTPTransport(), logger: logger),
                ledger: ledger, downloads: downloads, emit: { [continuation] in continuation.yield($0) })
            let stream = inbound
            pipeline = Task.detached {
                for await item in stream { processor.handle(item) }
                await processor.drain()
            }
        }
        driver.start()
    }

    /// Forces a fresh connection attempt now: after OFFLINE, during a backoff wait, or while connected.
    public func reconnect() {
        driver.forceReconnect()
    }

    /// Closes the gateway, lets pending events out, and finishes ``events``.
    public func shutdown() async {
        await driver.shutdown()
        downloads.cancelAll()
        inboundContinuation.finish()
        await pipeline?.value
        continuation.finish()
    }

    /// The gateway status right now.
    public nonisolated var status: GatewayStatus { driver.status }

    /// The ledger entry of an inbound message (nil once its reply window closed).
    public nonisolated func ledgerEntry(for msgID: String) -> LedgerEntry? {
        ledger.entry(msgID, now: Date())
    }

    /// Ledger entries held right now (bounded by the reply windows).
    public nonisolated var ledgerCount: Int { ledger.count(now: Date()) }

    /// Connection attempts and reconnect loops started since creation.
    public nonisolated var connectionCounters: (attempts: Int, loops: Int) { driver.counters }

    /// `GET /users/@me`: the bot's own user.
    public func botUser() async throws -> BotUser {
        try await rest.request(.GET, "/users/@me", as: BotUser.self)
    }
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
