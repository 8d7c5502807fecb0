/// Lets one CPU-heavy test run at a time (fuzzers, soaks, bursts, million-row stores); the others
/// wait their turn, first come first served. Several at once held both cooperative threads of a
/// 2-core machine so long that the socket and timeout tests running beside them missed their
/// deadlines (20 fuzz tests alone need 9 s of CPU). The light tests keep running in parallel.
public actor CPUGate {
    public static let shared = CPUGate()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public func enter() async {
        guard busy else { busy = true; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    public func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }

    /// Runs `body` when it is this test's turn.
    public static func run<T>(_ body: () async throws -> T) async rethrows -> T {
        await shared.enter()
        do {
            let value = try await body()
            await shared.leave()
            return value
        } catch {
            await shared.leave()
            throw error
        }
    }
}
