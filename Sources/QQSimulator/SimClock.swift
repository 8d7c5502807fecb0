import Foundation

/// The simulated platform's time: the dates its rules compare (token lifetimes, reply windows,
/// resume windows, heartbeats, stream roll-backs) and the waits of its heartbeat watchdog.
///
/// The system clock by default. A test that drives a client with a manual clock gives the simulator
/// the same time, so both sides of a reply window or a token expiry move together, by hand.
public struct SimClock: Sendable {
    /// The date now.
    public var now: @Sendable () -> Date
    /// Waits `duration` (throws when the task is cancelled).
    public var sleep: @Sendable (Duration) async throws -> Void

    /// A clock from two closures.
    public init(now: @escaping @Sendable () -> Date, sleep: @escaping @Sendable (Duration) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// Real time.
    public static let system = SimClock(now: { Date() }, sleep: { try await Task.sleep(for: $0) })
}
