import Foundation
import Logging
import Synchronization

/// What the driver hands the session, in gateway order.
enum GatewayInbound: Sendable {
    /// READY: the bot's identity (for @mention stripping) and the new session (with READY's `s`).
    case ready(ReadyPayload, seq: Int?)
    /// A dispatch other than READY/RESUMED.
    case dispatch(GatewayFrame)
    /// A frame that could not be used.
    case notice(Notice)
    /// A dispatch from a webhook callback, and what to tell the callback: true once it is durable.
    case webhook(GatewayFrame, ack: WebhookAck)
}

/// Tells a waiting webhook callback whether its event is durable (once).
final class WebhookAck: Sendable {
    private let done: @Sendable (Bool) -> Void
    init(_ done: @escaping @Sendable (Bool) -> Void) { self.done = done }
    func callAsFunction(_ durable: Bool) { done(durable) }
}

/// Owns the gateway connection: one reconnect loop at a time, paced by a ``ReconnectPacer``, and status.
///
/// The loop is started through an atomic guard (``start()``), so two failures or two reconnect
/// commands racing each other never run two loops. Each attempt is a ``GatewayConnection`` whose
/// own gate makes sure only the first of several simultaneous failures counts.
final class GatewayDriver: Sendable {
    struct State {
        var machine: GatewayStateMachine<SessionClock.Instant>
        var status = GatewayStatus()
        /// The loop's current step, which a reconnect command or shutdown cuts short.
        var stage: Stage = .idle
        /// A reconnect command not yet taken up by the loop (it resets the attempt count).
        var forcePending = false
        var shuttingDown = false
        var loopTask: Task<Void, Never>?
        var tokenExpiry: SessionClock.Instant?
        var attemptsStarted = 0
        var loopsStarted = 0
    }

    /// The session's callbacks.
    struct Delegate: Sendable {
        var onStatus: @Sendable (GatewayStatus) -> Void
        var onInbound: @Sendable (GatewayInbound) -> Void
        /// Awaited after each frame: returns when the inbound pipeline has room again, so a flood
        /// waits in the socket (TCP back-pressure) instead of piling up decoded in memory.
        var waitForRoom: @Sendable () async -> Void = {}
        /// A token was obtained that expires at this date (kept with the session; the token is not).
        var onToken: @Sendable (Date) -> Void = { _ in }
    }

    let configuration: SessionConfiguration
    let tokens: TokenProvider
    let rest: RESTClient
    let logger: Logger
    let delegate: Delegate
    let clock: SessionClock
    /// A connection ready this long counts as healthy: the next reconnect after it is immediate.
    let stableAfter: Duration = .seconds(10)
    /// How long a client-side close waits for the server's close frame before the socket is dropped.
    let closeGrace: Duration = .seconds(1)

    let loopActive = Atomic<Bool>(false)
    let state: Mutex<State>

    init(configuration: SessionConfiguration, tokens: TokenProvider, rest: RESTClient, logger: Logger,
         clock: SessionClock = .continuous, delegate: Delegate) {
        self.configuration = configuration
        self.clock = clock
        self.tokens = tokens
        self.rest = rest
        self.logger = logger
        self.delegate = delegate
        self.state = Mutex(State(machine: GatewayStateMachine(
            intents: configuration.intents.rawValue, shard: configuration.shard,
            helloTimeout: configuration.timeouts.hello, readyTimeout: configuration.timeouts.ready)))
    }

    /// Current status snapshot (with the live last seq and token TTL).
    var status: GatewayStatus {
        state.withLock { s in
            var status = s.status
            status.lastSeq = s.machine.lastSeq
            if let expiry = s.tokenExpiry { status.tokenTTLSeconds = Int(max(.zero, expiry - clock.now).seconds) }
            return status
        }
    }

    /// Connection attempts and reconnect loops started so far (tests check the guard with these).
    var counters: (attempts: Int, loops: Int) { state.withLock { ($0.attemptsStarted, $0.loopsStarted) } }

    /// Whether a reconnect loop runs now.
    var loopRunning: Bool { loopActive.load(ordering: .acquiring) }

    /// Resumes `position` (a session kept by an earlier run) on the first connection. Before ``start()``.
    func restore(_ position: GatewayPosition) {
        state.withLock { $0.machine.restore(sessionID: position.sessionID, seq: position.lastSeq) }
    }

    /// Starts the reconnect loop unless one is running. Returns true when this call started it.
    @discardableResult
    func start() -> Bool {
        guard loopActive.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return false
        }
        let proceed = state.withLock { s -> Bool in
            guard !s.shuttingDown else { return false }
            s.loopsStarted += 1
            s.forcePending = false
            return true
        }
        guard proceed else {
            loopActive.store(false, ordering: .releasing)
            return false
        }
        let task = Task.detached { [self] in await self.runLoop() }
        state.withLock { $0.loopTask = task }
        return true
    }

    /// A fresh attempt now: wakes a waiting loop (resetting the attempt count), replaces the live
    /// connection, or starts a new loop when the session is OFFLINE.
    func forceReconnect() {
        let stage = state.withLock { s in
            s.forcePending = true
            return s.stage
        }
        if start() { return }
        stage.interrupt(.forced)
    }

    /// Stops everything and waits for the loop to finish.
    func shutdown() async {
        let (stage, task) = state.withLock { s in
            s.shuttingDown = true
            return (s.stage, s.loopTask)
        }
        // A token or discovery request in flight must not hold shutdown for its whole timeout either.
        stage.interrupt(.shutdown)
        await task?.value
    }

    // MARK: - Status

    /// Fills the bot's id and name from `GET /users/@me` (nothing changes when it fails).
    func learnBotUser() {
        Task { [rest, logger] in
            do {
                let me = try await rest.request(.GET, "/users/@me", as: BotUser.self)
                publish { s in
                    if s.botID == nil { s.botID = me.id }
                    if s.botName == nil { s.botName = me.username }
                }
            } catch {
                logger.debug("could not read the bot's own user", metadata: ["reason": "\(error)"])
            }
        }
    }

    func publish(_ update: (inout GatewayStatus) -> Void) {
        let snapshot = state.withLock { s -> GatewayStatus in
            update(&s.status)
            s.status.lastSeq = s.machine.lastSeq
            if let expiry = s.tokenExpiry {
                s.status.tokenTTLSeconds = Int(max(.zero, expiry - clock.now).seconds)
            }
            return s.status
        }
        delegate.onStatus(snapshot)
    }

    // MARK: - The loop

    private func consumeForce() -> Bool {
        state.withLock { s in
            defer { s.forcePending = false }
            return s.forcePending
        }
    }

    private var shuttingDown: Bool { state.withLock { $0.shuttingDown } }

    private func runLoop() async {
        var pacer = ReconnectPacer(policy: configuration.reconnect, stableAfter: stableAfter)
        var reason = ""
        var plan: GatewayPlan = state.withLock { $0.machine.sessionID != nil ? .resume : .identify }
        while !shuttingDown {
            if consumeForce() { pacer.restart() }
            if pacer.wait > .zero {
                let (wait, attempt, maxAttempts) = (pacer.wait, pacer.attempt, pacer.maxAttempts)
                publish { $0.phase = .reconnecting(attempt: attempt, maxAttempts: maxAttempts,
                                                   nextInMs: wait.milliseconds, reason: reason) }
                await interruptibleSleep(wait)
                if shuttingDown { break }
                if consumeForce() { pacer.restart() }
            }
            let attempt = pacer.attempt
            publish { $0.phase = .connecting(attempt: attempt) }
            let attempted = plan
            let outcome = await runAttempt(plan: plan)
            if shuttingDown { break }
            reason = outcome.cause.summary
            let detail = outcome.detail ?? reason
            state.withLock { $0.status.lastError = Redactor.shared.redact(detail) }
            if let fatal = outcome.fatal {
                goOffline(fatal)
                break
            }
            let next = state.withLock { $0.machine.connectionEnded(outcome.cause) }
            if case .stop(let why) = next {
                goOffline(why)
                break
            }
            plan = next
            if outcome.cause == .serverClosed(code: 4004) { await tokens.invalidate(nil) }
            let decision = pacer.attemptEnded(cause: outcome.cause, readyFor: outcome.readyFor, attempted: attempted,
                                              detail: detail, random: .random(in: 0...1))
            if case .giveUp(let why) = decision {
                goOffline(why)
                break
            }
            logger.info("gateway connection ended", metadata: [
                "cause": "\(reason)", "next": "\(plan)", "failures": "\(pacer.failures)", "strikes": "\(pacer.strikes)",
                "delay": "\(pacer.wait.shortDescription)"])
        }
        loopActive.store(false, ordering: .releasing)
        // A reconnect command that raced with the loop's exit must not be lost.
        let retry = state.withLock { $0.forcePending && !$0.shuttingDown }
        if retry { start() }
    }

    private func goOffline(_ reason: String) {
        logger.error("gateway offline", metadata: ["reason": "\(reason)"])
        publish { $0.phase = .offline(reason: reason); $0.lastError = reason }
    }

    /// Sleeps for `duration` unless ``forceReconnect()`` or ``shutdown()`` wakes it.
    private func interruptibleSleep(_ duration: Duration) async {
        let wake = StopSignal()
        let wakeNow = state.withLock { s -> Bool in
            s.stage = .waiting(wake)
            return s.forcePending || s.shuttingDown
        }
        if !wakeNow {
            await wake.run { [clock] in try? await clock.sleep(for: duration) }
        }
        state.withLock { $0.stage = .idle }
    }
}
