import Foundation
import QQSession
import QQSimulator

extension SimClock {
    /// The simulator on a test's manual clock: its reply windows, token lifetimes and heartbeat
    /// watchdog move when the test advances the client's time.
    public static func manual(_ clock: ManualClock) -> SimClock {
        SimClock(now: { clock.date }, sleep: { try await SessionClock.manual(clock).sleep(for: $0) })
    }
}
