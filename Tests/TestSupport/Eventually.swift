import Foundation

/// Polls `condition` every 10 ms until it holds (true) or `timeout` passes (false): how a test that
/// needs real time (sockets, processes, tmux) waits, instead of sleeping a fixed time.
public func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
