import Testing

/// Lets one CPU-heavy test run at a time (fuzzers, soaks, bursts, million-row stores); the others
/// wait their turn, first come first served. Several at once held both cooperative threads of a
/// 2-core machine so long that the socket and timeout tests running beside them missed their
/// deadlines (20 fuzz tests alone need 9 s of CPU). The light tests keep running in parallel.
///
/// A gated test's time limit counts from its turn, not from its start: the queue ahead of it is the
/// other tests' time. (With Swift Testing's `.timeLimit` alone, the last fuzzers in a queue of 40 gated
/// tests passed their one minute waiting on a slower 2-core machine, having run for a few seconds.)
/// Their suites carry ``backstop`` instead, which only ends a run that hung.
public actor CPUGate {
    public static let shared = CPUGate()

    /// The Swift Testing limit of a suite whose tests take turns here: the whole queue and the test
    /// together. It is not the test's limit (see ``run(limit:_:)``); it ends a run that hung.
    public static let backstop: TimeLimitTrait = .timeLimit(.minutes(15))

    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public func enter() async {
        guard busy else { busy = true; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    public func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }

    /// Runs `body` when it is this test's turn, and records an issue if it is still running `limit`
    /// after that (its time limit; a hang fails the test there, and the suite's backstop ends it).
    public static func run<T>(limit: Duration = .seconds(120), sourceLocation: SourceLocation = #_sourceLocation,
                              _ body: () async throws -> T) async throws -> T {
        await shared.enter()
        do {
            let value = try await watched(limit: limit, at: sourceLocation, body)
            await shared.leave()
            return value
        } catch {
            await shared.leave()
            throw error
        }
    }

    /// `body` with a watchdog: an issue, attributed to the running test, if it runs longer than `limit`.
    private static func watched<T>(limit: Duration, at location: SourceLocation,
                                   _ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask {
                // A deadline, not a pause: nothing under test waits on it (it only reports a hang).
                do { try await Task.sleep(for: limit) } catch { return }   // cancelled: it finished in time
                Issue.record("still running \(limit) after its turn at the CPU gate (hung?)", sourceLocation: location)
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}
