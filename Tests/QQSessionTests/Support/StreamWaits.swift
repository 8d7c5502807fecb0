import Foundation
import QQSession

/// Waits for stream tests: timers on the manual clock and frames the writer reported.
extension ManualClock {
    /// Waits (in real time, at most `timeout`) until a task sleeps on this clock until at most
    /// `window` from now, then moves time to the earliest deadline: the frame pacing timer or retry
    /// pause the test expects fires, and nothing later (heartbeats, request deadlines). False when
    /// no such sleeper came.
    func fireNextTimer(within window: Duration, timeout: Duration = .seconds(20)) async -> Bool {
        let limit = elapsed + window
        guard await waitForSleepers(matching: { $0 <= limit }, timeout: timeout) else { return false }
        return advanceToNextDeadline()
    }

    /// True when no task sleeps until at most `window` from now (nothing short is pending).
    func noTimer(within window: Duration) -> Bool {
        let limit = elapsed + window
        return !sleepers.contains { $0 <= limit }
    }
}

/// Waiting for the writer's stream frames.
extension EventRecorder {
    /// Waits until the writer reported `count` stream frames that QQ has (accepted or known delivered).
    func waitForDeliveredFrames(_ count: Int, timeout: Duration = .seconds(10)) async -> Bool {
        await wait(timeout: timeout) { $0.deliveredFrames.count >= count }
    }
}

/// Stream frame views of recorded events.
extension Array where Element == SessionEvent {
    /// The stream frames reported as delivered, in order.
    var deliveredFrames: [StreamFrameEvent] {
        compactMap { if case .streamFrame(let f) = $0, f.error == nil { return f }; return nil }
    }
}
