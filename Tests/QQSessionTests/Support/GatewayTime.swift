import Foundation
import QQSession

/// Waits for a gateway test on a manual clock: the sleeps the driver takes, its backoff waits, its loop.
extension ManualClock {
    /// Waits (in real time, at most `timeout`) until `condition` holds for the deadlines asleep on
    /// this clock (``sleepers``, earliest first). False on timeout.
    func waitUntilAsleep(timeout: Duration = .seconds(20), _ condition: ([Duration]) -> Bool) async -> Bool {
        let end = ContinuousClock.now + timeout
        while !condition(sleepers) {
            if ContinuousClock.now >= end { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }

    /// Waits until a task sleeps until exactly `deadline` (time since elapsed zero), then moves time there.
    func advance(toSleeperAt deadline: Duration) async -> Bool {
        guard await waitUntilAsleep({ $0.contains(deadline) }) else { return false }
        advance(to: deadline)
        return true
    }
}

extension SimHarness {
    /// Moves `time` through the reconnect loop's backoff waits until the recorded events satisfy
    /// `done`: each time the status says `reconnecting … in N ms` and the loop sleeps until exactly
    /// N ms from now, time moves to that deadline and nothing else. Returns the waits passed (nil:
    /// `done` did not come within `timeout` of real time).
    func passBackoffs(on time: ManualClock, timeout: Duration = .seconds(30),
                      until done: @escaping @Sendable ([SessionEvent]) -> Bool) async -> [Duration]? {
        let end = ContinuousClock.now + timeout
        var waits: [Duration] = []
        while ContinuousClock.now < end {
            if done(await recorder.events) { return waits }
            if let wait = passBackoffNow(on: time) { waits.append(wait) } else { try? await Task.sleep(for: .milliseconds(1)) }
        }
        return nil
    }

    /// Passes the next backoff wait (as ``passBackoffs(on:timeout:until:)`` does); returns its length
    /// (nil: no wait came within 20 s of real time).
    func passBackoff(on time: ManualClock) async -> Duration? {
        let end = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < end {
            if let wait = passBackoffNow(on: time) { return wait }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    /// If the loop is asleep in a backoff wait now, moves time to its end and returns its length.
    private func passBackoffNow(on time: ManualClock) -> Duration? {
        guard case .reconnecting(_, _, let ms, _) = session.status.phase, ms > 0,
              time.sleepers.contains(time.elapsed + .milliseconds(ms)) else { return nil }
        time.advance(by: .milliseconds(ms))
        return .milliseconds(ms)
    }

    /// ``passBackoffs(on:timeout:until:)`` until the gateway has been READY `times` times.
    func passBackoffs(on time: ManualClock, untilReady times: Int) async -> [Duration]? {
        await passBackoffs(on: time) { $0.readyTransitions >= times }
    }

    /// Waits until the `n`-th reconnect wait is announced; returns its delay.
    func backoff(_ n: Int) async -> Duration? {
        _ = await recorder.wait { $0.backoffs.count >= n }
        let waits = await recorder.events.backoffs
        return waits.count >= n ? waits[n - 1] : nil
    }

    /// Waits (in real time, at most 10 s) until the reconnect loop has ended.
    func waitForLoopEnd() async -> Bool {
        let end = ContinuousClock.now + .seconds(10)
        while session.reconnectLoopRunning {
            if ContinuousClock.now >= end { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }
}

extension SessionConfiguration {
    /// Step timeouts for gateway tests on a manual clock: the gateway's as in the product (connect
    /// 10 s, Hello and READY 15 s) and requests an hour (a request in flight while a test moves time
    /// would otherwise time out).
    mutating func useGatewayTimeouts() {
        timeouts.connect = .seconds(10)
        timeouts.hello = .seconds(15)
        timeouts.ready = .seconds(15)
        timeouts.request = .seconds(3600)
    }
}

extension ReconnectPolicy {
    /// Pacing for a test: waits from `base` doubling up to `max`, `jitter` of them random, at most
    /// `attempts` failed attempts in a row.
    static func paced(base: Duration, max: Duration, jitter: Double = 0.5, attempts: Int = 30) -> ReconnectPolicy {
        var policy = ReconnectPolicy()
        policy.baseDelay = base
        policy.maxDelay = max
        policy.jitter = jitter
        policy.maxAttempts = attempts
        return policy
    }
}

extension Array where Element == SessionEvent {
    /// The reconnect waits announced so far (`reconnecting … in N ms`), in order.
    var backoffs: [Duration] {
        var waits: [Duration] = []
        var previous: GatewayStatus.Phase?
        for case .gateway(let s) in self {
            if case .reconnecting(_, _, let ms, _) = s.phase, s.phase != previous { waits.append(.milliseconds(ms)) }
            previous = s.phase
        }
        return waits
    }

    /// Heartbeat ACKs the client has taken: each publishes a status with the round trip (and so does
    /// any later status: count them where nothing else changes the status).
    var acknowledgedBeats: Int {
        reduce(0) { if case .gateway(let s) = $1, s.heartbeatRTTMs != nil { return $0 + 1 }; return $0 }
    }
}
