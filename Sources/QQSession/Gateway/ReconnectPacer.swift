/// How the reconnect loop paces itself after each connection: how long to wait, and when to give up.
/// Pure: the loop reports how each attempt ended and performs the decision.
///
/// Two counts: `failures` (connections in a row that did not hold) set the backoff; `strikes`
/// (failed attempts in a row) make the session give up. A Resume that worked is no strike even if
/// the connection drops soon after: the session was kept, events flowed, no session start was
/// spent (only being kicked right after a fresh Identify is flapping worth stopping).
struct ReconnectPacer: Sendable {
    /// What the loop does next.
    enum Decision: Sendable, Equatable {
        /// Try again once `wait` has passed (zero: at once).
        case retry(after: Duration)
        /// Stop and go OFFLINE with this reason.
        case giveUp(String)
    }

    /// The waits after consecutive failures.
    let backoff: Backoff
    /// Failed attempts in a row that make the session give up.
    let maxAttempts: Int
    /// A connection READY this long counts as healthy: the next attempt is immediate.
    let stableAfter: Duration
    /// Connections in a row that did not hold.
    private(set) var failures = 0
    /// Failed attempts in a row.
    private(set) var strikes = 0
    /// Gateway token refusals (close 4004) in a row.
    private(set) var authRejections = 0
    /// The wait before the next attempt.
    private(set) var wait: Duration = .zero

    /// A pacer for `policy` that has seen no attempt yet.
    init(policy: ReconnectPolicy, stableAfter: Duration) {
        backoff = Backoff(policy: policy)
        maxAttempts = max(1, policy.maxAttempts)
        self.stableAfter = stableAfter
    }

    /// The number of the next attempt, as the status shows it.
    var attempt: Int { strikes + 1 }

    /// The operator asked for a fresh attempt: no wait, and the count starts over.
    mutating func restart() {
        failures = 0
        strikes = 0
        wait = .zero
    }

    /// A connection attempt made with `attempted` ended with `cause` after being READY for `readyFor`
    /// (nil: never); `detail` says what went wrong, `random` (0…1) sets the jitter.
    mutating func attemptEnded(cause: GatewayEndCause, readyFor: Duration?, attempted: GatewayPlan,
                               detail: String, random: Double) -> Decision {
        let refusedToken = cause == .serverClosed(code: 4004)
        if refusedToken {
            authRejections += 1
            if authRejections >= 2 {
                return .giveUp("the gateway refused the token twice (close 4004 authentication failed): check app_id and app_secret")
            }
        } else if readyFor != nil {
            authRejections = 0
        }
        if let up = readyFor, up >= stableAfter {
            // A healthy connection ended (the platform rotates them every 30-65 min): go again now.
            failures = 0
            strikes = 0
            wait = .zero
        } else if readyFor != nil, cause == .reconnectRequested || cause == .forced {
            // Op 7 or the operator's command: asked for, not a failure; still paced.
            failures = 0
            strikes = 0
            wait = backoff.delay(afterFailures: 1, random: random)
        } else {
            // Never READY, or dropped right after it: paced like a failure. Counting the short-lived
            // ones too keeps a platform that kicks us after READY from costing a session start per second.
            failures += 1
            strikes = readyFor != nil && attempted == .resume ? 0 : strikes + 1
            if strikes >= maxAttempts {
                let what = readyFor == nil ? "failed attempts" : "attempts (the last ones dropped right after READY)"
                return .giveUp("gave up after \(strikes) \(what); last: \(detail)")
            }
            // The first token refusal is retried at once, with a fresh token.
            wait = authRejections == 1 && refusedToken ? .zero : backoff.delay(afterFailures: failures, random: random)
        }
        return .retry(after: wait)
    }
}
