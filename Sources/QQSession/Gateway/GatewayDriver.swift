import Foundation
import Logging
import Synchronization

/// What the driver hands the session, in gateway order.
enum GatewayInbound: Sendable {
    /// READY: the bot's identity (for @mention stripping).
    case ready(ReadyPayload)
    /// A dispatch other than READY/RESUMED.
    case dispatch(GatewayFrame)
    /// A frame that could not be used.
    case notice(Notice)
}

/// Owns the gateway connection: one reconnect loop at a time, backoff, the attempt cap, status.
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
    }

    let configuration: SessionConfiguration
    let tokens: TokenProvider
    let rest: RESTClient
    let logger: Logger
    let delegate: Delegate
    let backoff: Backoff
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
        self.backoff = Backoff(policy: configuration.reconnect)
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
        let maxAttempts = max(1, configuration.reconnect.maxAttempts)
        // Consecutive connections that did not hold: they pace the backoff.
        var failures = 0
        // Consecutive failed attempts: they make the session give up. A Resume that worked is not one,
        // even if the connection drops soon after: the session was kept, events flowed, no session start
        // was spent (only being kicked right after a fresh Identify is flapping worth stopping).
        var strikes = 0
        var authRejections = 0
        var delay: Duration = .zero
        var reason = ""
        var plan: GatewayPlan = state.withLock { $0.machine.sessionID != nil ? .resume : .identify }
        while !shuttingDown {
            if consumeForce() { failures = 0; strikes = 0; delay = .zero }
            if delay > .zero {
                let wait = delay
                publish { $0.phase = .reconnecting(attempt: strikes + 1, maxAttempts: maxAttempts,
                                                   nextInMs: wait.milliseconds, reason: reason) }
                await interruptibleSleep(wait)
                if shuttingDown { break }
                if consumeForce() { failures = 0; strikes = 0 }
            }
            publish { $0.phase = .connecting(attempt: strikes + 1) }
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
            if outcome.cause == .serverClosed(code: 4004) {
                authRejections += 1
                await tokens.invalidate(nil)
                if authRejections >= 2 {
                    goOffline("the gateway refused the token twice (close 4004 authentication failed): check app_id and app_secret")
                    break
                }
            } else if outcome.readyFor != nil {
                authRejections = 0
            }
            if let up = outcome.readyFor, up >= stableAfter {
                // A healthy connection ended (the platform rotates them every 30-65 min): go again now.
                failures = 0
                strikes = 0
                delay = .zero
            } else if outcome.readyFor != nil, outcome.cause == .reconnectRequested || outcome.cause == .forced {
                // Op 7 or the operator's command: asked for, not a failure; still paced.
                failures = 0
                strikes = 0
                delay = backoff.delay(afterFailures: 1, random: .random(in: 0...1))
            } else {
                // Never READY, or dropped right after it: paced like a failure. Counting the short-lived
                // ones too keeps a platform that kicks us after READY from costing a session start per second.
                failures += 1
                strikes = outcome.readyFor != nil && attempted == .resume ? 0 : strikes + 1
                if strikes >= maxAttempts {
                    let what = outcome.readyFor == nil ? "failed attempts" : "attempts (the last ones dropped right after READY)"
                    goOffline("gave up after \(strikes) \(what); last: \(outcome.detail ?? reason)")
                    break
                }
                delay = authRejections == 1 && outcome.cause == .serverClosed(code: 4004)
                    ? .zero : backoff.delay(afterFailures: failures, random: .random(in: 0...1))
            }
            logger.info("gateway connection ended", metadata: [
                "cause": "\(reason)", "next": "\(plan)", "failures": "\(failures)", "strikes": "\(strikes)",
                "delay": "\(delay.shortDescription)"])
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
