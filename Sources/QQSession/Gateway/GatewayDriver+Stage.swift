extension GatewayDriver {
    /// What the reconnect loop is doing now, with the handle a command uses to cut that step short.
    /// One step at a time: the loop waits, prepares or is connected, never two at once.
    enum Stage: Sendable {
        /// Between steps, or no loop.
        case idle
        /// Waiting out a backoff; firing the signal tries again at once.
        case waiting(StopSignal)
        /// Fetching the token and the gateway URL; firing the signal cancels the requests.
        case preparing(StopSignal)
        /// A socket attempt; `readyAt` once READY or RESUMED arrived on it.
        case connected(GatewayConnection, readyAt: SessionClock.Instant?)

        /// The connection of a socket attempt under way.
        var connection: GatewayConnection? {
            if case .connected(let connection, _) = self { return connection }
            return nil
        }

        /// Cuts the step short: wakes a backoff, cancels a preparation, or ends the connection with
        /// `cause`.
        func interrupt(_ cause: GatewayEndCause) {
            switch self {
            case .idle: break
            case .waiting(let stop), .preparing(let stop): stop.fire()
            case .connected(let connection, _): connection.end(cause)
            }
        }
    }
}

extension GatewayDriver.State {
    /// Records that `connection` reached READY or RESUMED now (a connection already replaced is ignored).
    mutating func markReady(_ connection: GatewayConnection, at now: SessionClock.Instant) {
        if case .connected(let current, _) = stage, current === connection {
            stage = .connected(current, readyAt: now)
        }
    }

    /// Ends `connection`'s stage; returns how long it was READY (nil: never).
    mutating func endStage(of connection: GatewayConnection, at now: SessionClock.Instant) -> Duration? {
        guard case .connected(let current, let readyAt) = stage, current === connection else { return nil }
        stage = .idle
        return readyAt.map { now - $0 }
    }
}
