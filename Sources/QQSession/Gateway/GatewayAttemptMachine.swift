/// One WebSocket attempt's lifetime as a pure state machine: socket and timer events in, actions out.
///
/// It decides how a connection is taken down, not what flows on it (that is ``GatewayStateMachine``).
/// The driver runs it inside the attempt's task group (`GatewayDriver+Connect`) and performs the
/// actions; no I/O and no sleeping here. At most one timer is armed at a time: the connect deadline,
/// the close grace, the wait before the event loop is stopped, or the wait before a socket stranded
/// on the stopped loop is let go.
///
/// ```
/// idle ─start→ connecting ─upgraded→ open ─ended→ closing ─grace over→ dropping ─grace over→ aborting
///                  │ ended / connect deadline                                                 ↑   │
///                  └──────────────────────────────────────────────────────────────────────────┘   │
/// any state ─socket finished→ finished ←─────────────────────────────────── grace over (let go) ──┘
/// ```
struct GatewayAttemptMachine<Instant: InstantProtocol & Sendable>: Sendable where Instant.Duration == Duration {
    /// Where the attempt is, with what each step owns.
    enum State: Sendable, Equatable {
        /// Not started.
        case idle
        /// TCP connect and WebSocket upgrade under way; given up at `deadline`.
        case connecting(deadline: Instant)
        /// Upgraded: frames flow until something ends the connection.
        case open
        /// Our close frame is out; the peer has until `deadline` to answer it.
        case closing(GatewayEndCause, deadline: Instant)
        /// The peer never answered: the socket task is cancelled, and its event loop is stopped at
        /// `deadline` should even that not end it.
        case dropping(GatewayEndCause, deadline: Instant)
        /// The event loop is stopped: waiting for the socket task to report until `deadline`, after
        /// which it is let go (stranded on the stopped loop, it never will).
        case aborting(GatewayEndCause, deadline: Instant)
        /// The socket task reported; the attempt is over.
        case finished(GatewayEndCause)
    }

    /// What the driver must do.
    enum Action: Sendable, Equatable {
        /// End the connection through its gate (the first cause wins).
        case endConnection(GatewayEndCause)
        /// Start the close handshake from our side.
        case sendClose
        /// Sleep until the instant, then report ``timerFired(now:)``; replaces the armed timer.
        case armTimer(Instant)
        /// Drop the armed timer.
        case disarmTimer
        /// Cancel the socket task (drops the socket once upgraded).
        case cancelSocket
        /// Stop the attempt's event loop: the only way to abort a connect or upgrade that stalls.
        case shutDownEventLoop
        /// Stop waiting for the socket task: its loop is stopped and it has not reported
        /// (``AbandonableTask`` says why that can happen).
        case abandonSocket
        /// The attempt is over: the connection ended with this cause (unless the gate already holds one).
        case finish(GatewayEndCause)
    }

    /// How the socket task ended.
    enum SocketEnd: Sendable, Equatable {
        /// The connection closed, with the server's close code when it sent one.
        case closed(code: Int?)
        /// Connecting or the connection failed; the text says how (``GatewaySocketFailure``).
        case failed(String)

        /// The cause it gives a connection that nothing else had ended.
        var cause: GatewayEndCause {
            switch self {
            case .closed(let code): return .serverClosed(code: code)
            case .failed(let text): return .transportError(text)
            }
        }
    }

    /// How long connect and upgrade may take.
    let connectTimeout: Duration
    /// How long the peer has to answer our close frame, and then how long a cancelled socket has.
    let closeGrace: Duration
    /// Where the attempt is.
    private(set) var state: State = .idle

    /// An attempt not started yet.
    init(connectTimeout: Duration, closeGrace: Duration) {
        self.connectTimeout = connectTimeout
        self.closeGrace = closeGrace
    }

    /// The socket task is starting: arms the connect deadline.
    mutating func start(now: Instant) -> [Action] {
        guard case .idle = state else { return [] }
        let deadline = now.advanced(by: connectTimeout)
        state = .connecting(deadline: deadline)
        return [.armTimer(deadline)]
    }

    /// The WebSocket upgrade succeeded.
    mutating func upgraded() -> [Action] {
        guard case .connecting = state else { return [] }
        state = .open
        return [.disarmTimer]
    }

    /// The connection's gate closed with `cause` (a server close, a missed ACK, a command …).
    mutating func connectionEnded(_ cause: GatewayEndCause, now: Instant) -> [Action] {
        switch state {
        case .idle, .connecting:
            // Cancellation cannot stop a connect or an upgrade; the end of its event loop can.
            return abort(cause, now: now)
        case .open:
            // Polite first: a close frame, then the peer has the grace to answer it.
            let deadline = now.advanced(by: closeGrace)
            state = .closing(cause, deadline: deadline)
            return [.sendClose, .armTimer(deadline)]
        case .closing, .dropping, .aborting, .finished:
            return []
        }
    }

    /// The armed timer went off (a timer that was replaced meanwhile finds nothing due).
    mutating func timerFired(now: Instant) -> [Action] {
        switch state {
        case .connecting(let deadline) where now >= deadline:
            let cause = GatewayEndCause.transportError("connect timed out after \(connectTimeout.shortDescription)")
            return [.endConnection(cause)] + abort(cause, now: now)
        case .closing(let cause, let deadline) where now >= deadline:
            // A dead link: cancelling the socket task drops the socket.
            let next = now.advanced(by: closeGrace)
            state = .dropping(cause, deadline: next)
            return [.cancelSocket, .armTimer(next)]
        case .dropping(let cause, let deadline) where now >= deadline:
            return abort(cause, now: now)
        case .aborting(let cause, let deadline) where now >= deadline:
            state = .finished(cause)
            return [.abandonSocket, .finish(cause)]
        default:
            return []
        }
    }

    /// The socket task returned: the attempt is over.
    mutating func socketFinished(_ end: SocketEnd) -> [Action] {
        let cause: GatewayEndCause
        switch state {
        case .finished:
            return []
        case .aborting(let ended, _):
            state = .finished(ended)
            return [.finish(ended)]
        case .idle, .connecting, .open:
            cause = end.cause
        case .closing(let ended, _), .dropping(let ended, _):
            cause = ended
        }
        state = .finished(cause)
        return [.shutDownEventLoop, .finish(cause)]
    }

    /// Stops the event loop and gives the socket task a grace to report.
    private mutating func abort(_ cause: GatewayEndCause, now: Instant) -> [Action] {
        let deadline = now.advanced(by: closeGrace)
        state = .aborting(cause, deadline: deadline)
        return [.shutDownEventLoop, .armTimer(deadline)]
    }
}
