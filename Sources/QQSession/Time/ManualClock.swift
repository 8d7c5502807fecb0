import Foundation
import Synchronization

/// Time that moves only when a test moves it: the test double of ``SessionClock`` (hummingbird's
/// `MockClock` is the model, with sleepers added).
///
/// ```swift
/// let time = ManualClock()
/// let session = Session(configuration: config, clock: .manual(time))
/// …
/// time.advance(by: .seconds(61))   // the reply window is over; sleepers due by now wake
/// ```
/// ``advance(by:)`` sets the new time first, then wakes every sleeper whose deadline has come, in
/// deadline order. A woken task reads the new time: a periodic task that should run several times
/// is advanced in as many steps. Deadlines a component computes from an event are fixed when the
/// event happens, so a test that waits for the event and then advances is deterministic whether the
/// component was already asleep or not.
public final class ManualClock: Sendable {
    private struct Sleeper {
        var deadline: Duration
        var order: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var elapsed: Duration = .zero
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
        var started = 0
    }

    private let state = Mutex(State())
    /// The wall-clock date at elapsed zero.
    public let start: Date

    /// A clock at elapsed zero, whose dates count from `start`.
    public init(start: Date = Date()) {
        self.start = start
    }

    /// Time advanced so far.
    public var elapsed: Duration { state.withLock { $0.elapsed } }

    /// The wall-clock date now: `start` plus the time advanced.
    public var date: Date { start.addingTimeInterval(elapsed.seconds) }

    /// The deadlines of the tasks asleep now, earliest first (as time since elapsed zero).
    public var sleepers: [Duration] {
        state.withLock { $0.sleepers.values.sorted { ($0.deadline, $0.order) < ($1.deadline, $1.order) }.map(\.deadline) }
    }

    /// Sleeps started so far (each call of `sleep` that had to wait counts once).
    public var sleepsStarted: Int { state.withLock { $0.started } }

    /// Moves time forward by `duration` and wakes every sleeper that is due.
    public func advance(by duration: Duration) {
        advance(to: elapsed + max(.zero, duration))
    }

    /// Moves time to `target` (time since elapsed zero; never backwards) and wakes every sleeper
    /// that is due, earliest deadline first.
    public func advance(to target: Duration) {
        let due = state.withLock { s -> [Sleeper] in
            s.elapsed = max(s.elapsed, target)
            let now = s.elapsed
            let ready = s.sleepers.filter { $0.value.deadline <= now }
            for id in ready.keys { s.sleepers.removeValue(forKey: id) }
            return ready.values.sorted { ($0.deadline, $0.order) < ($1.deadline, $1.order) }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Advances to the earliest sleeper's deadline (one timer fires); false when nobody sleeps.
    @discardableResult
    public func advanceToNextDeadline() -> Bool {
        guard let next = sleepers.first else { return false }
        advance(to: next)
        return true
    }

    /// Waits (in real time, at most `timeout`) until at least `count` tasks are asleep on this clock
    /// with a deadline that `matching` accepts (any, by default). A test calls it to know that a
    /// component reached its wait before it moves time. False on timeout. In a running session the
    /// gateway's heartbeat timer sleeps on the clock too: match the deadline the test expects.
    public func waitForSleepers(_ count: Int = 1, matching: @Sendable (Duration) -> Bool = { _ in true },
                                timeout: Duration = .seconds(20)) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while true {
            if sleepers.filter(matching).count >= count { return true }
            if clock.now >= end || Task.isCancelled { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Suspends until the clock is advanced to `deadline` (at once if it already has been).
    func sleep(until deadline: Duration) async throws {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case wait, due, cancelled }
                // Checked under the lock with the registration: a cancellation either sees the sleeper
                // registered (and removes it) or happened before, and is seen here.
                let now = state.withLock { s -> Now in
                    if Task.isCancelled { return .cancelled }
                    if deadline <= s.elapsed { return .due }
                    s.sleepers[id] = Sleeper(deadline: deadline, order: id, continuation: continuation)
                    s.started += 1
                    return .wait
                }
                switch now {
                case .wait: break
                case .due: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
