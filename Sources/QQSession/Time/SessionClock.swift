import Foundation

/// The one clock of everything in QQSession that waits, expires or times out: gateway deadlines and
/// heartbeats, reconnect backoff, token refresh, reply windows and msg_seq expiry, send retries,
/// stream frame pacing, agent timeouts and store retries.
///
/// In the product it is the continuous clock (``continuous``) and the wall clock. Tests pass
/// ``manual(_:)`` with a ``ManualClock`` and advance time by hand, so timing logic is tested without
/// sleeping and without racing the scheduler.
public struct SessionClock: Clock, Sendable {
    /// A point in time, as the time since the clock's origin.
    public struct Instant: InstantProtocol, Hashable, Sendable {
        /// Time since the clock's origin (process start for the continuous clock, zero for a manual one).
        public var offset: Duration

        /// An instant `offset` after the origin.
        public init(offset: Duration) { self.offset = offset }

        /// This instant moved by `duration`.
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }

        /// The duration from this instant to `other`.
        public func duration(to other: Instant) -> Duration { other.offset - offset }

        /// Earlier first.
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }

        /// `duration` later.
        public static func + (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(by: rhs) }
        /// `duration` earlier.
        public static func - (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(by: .zero - rhs) }
        /// The time from `rhs` to `lhs`.
        public static func - (lhs: Instant, rhs: Instant) -> Duration { lhs.offset - rhs.offset }
    }

    private enum Source: Sendable {
        case continuous
        case manual(ManualClock)
    }

    private let source: Source

    /// Where continuous instants are counted from (the first use in this process).
    private static let origin = ContinuousClock.now

    /// The product's clock: monotonic time from `ContinuousClock`, dates from the system clock.
    public static let continuous = SessionClock(source: .continuous)

    /// A clock that moves only when `clock` is advanced (tests).
    public static func manual(_ clock: ManualClock) -> SessionClock { SessionClock(source: .manual(clock)) }

    /// The manual clock behind this one, if any.
    public var manualClock: ManualClock? {
        if case .manual(let clock) = source { return clock }
        return nil
    }

    /// Monotonic now: what deadlines and sleeps use.
    public var now: Instant {
        switch source {
        case .continuous: return Instant(offset: ContinuousClock.now - Self.origin)
        case .manual(let clock): return Instant(offset: clock.elapsed)
        }
    }

    /// Wall-clock now: what is stored and compared with the platform's timestamps (reply windows
    /// outlive a restart). A manual clock's date moves with it.
    public var date: Date {
        switch source {
        case .continuous: return Date()
        case .manual(let clock): return clock.date
        }
    }

    /// The smallest step the clock can tell apart.
    public var minimumResolution: Duration {
        switch source {
        case .continuous: return ContinuousClock().minimumResolution
        case .manual: return .nanoseconds(1)
        }
    }

    /// Sleeps until `deadline` (a manual clock: until it is advanced past it). Throws
    /// `CancellationError` when the task is cancelled first.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        switch source {
        case .continuous:
            // Not `ContinuousClock.sleep`: on Linux a cancelled one holds its task until the deadline.
            try await ContinuousSleepers.shared.sleep(until: Self.origin.advanced(by: deadline.offset))
        case .manual(let clock):
            try await clock.sleep(until: deadline.offset)
        }
    }
}
