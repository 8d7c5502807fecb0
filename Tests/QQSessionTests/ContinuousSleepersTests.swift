import Foundation
@testable import QQSession
import Synchronization
import Testing
import TestSupport

/// The continuous clock's sleeps (one thread, a heap): a cancelled sleep ends and is freed at once,
/// instead of holding its task until the deadline as `Task.sleep` does on Linux.
@Suite("Continuous clock sleeps", .timeLimit(.minutes(1)))
struct ContinuousSleepersTests {
    @Test("5,000 sleeps of ten minutes, cancelled: each ends at once with CancellationError, none is kept, the heap is swept")
    func cancelledSleepsAreFreed() async throws {
        let sleepers = ContinuousSleepers()
        let deadline = ContinuousClock.now + .seconds(600)
        let tasks = (0..<5000).map { _ in
            Task { () -> Bool in
                do { try await sleepers.sleep(until: deadline); return false } catch { return error is CancellationError }
            }
        }
        #expect(await eventually { sleepers.count == 5000 }, "\(sleepers.count) asleep")
        for task in tasks { task.cancel() }
        var cancelled = 0
        for task in tasks where await task.value { cancelled += 1 }   // a sleep still held would keep this waiting
        #expect(cancelled == 5000)
        #expect(sleepers.count == 0)
        #expect(sleepers.heapCount <= 1024, "cancelled entries piled up: \(sleepers.heapCount)")
    }

    @Test("a sleep shorter than the one the thread waits for ends at its own deadline, never before; past deadlines return at once; also with no file descriptor left for the wake-up pipe",
          arguments: [true, false])
    func earlierDeadlineWakesTheThread(pipe: Bool) async throws {
        let sleepers = ContinuousSleepers(pipe: pipe)
        let long = Task { try? await sleepers.sleep(until: .now + .seconds(600)) }
        #expect(await eventually { sleepers.count == 1 })   // the thread now waits ten minutes
        let ended = Ends()
        let start = ContinuousClock.now
        let short = [60, 20, 40].map { ms in
            Task {
                let deadline = start + .milliseconds(ms)
                try await sleepers.sleep(until: deadline)
                ended.list.withLock { $0.append((deadline, ContinuousClock.now)) }
            }
        }
        let allEnded = await eventually(timeout: .seconds(30)) { ended.list.withLock { $0.count } == 3 }
        #expect(allEnded, "woken only by the ten-minute deadline")
        if !allEnded { for task in short { task.cancel() } }   // the test ends now, not in ten minutes
        for task in short { _ = try? await task.value }
        #expect(ended.list.withLock { $0.allSatisfy { $0.at >= $0.deadline } }, "a sleep ended before its deadline")
        try await sleepers.sleep(until: .now - .seconds(1))
        #expect(sleepers.count == 1, "only the long sleep is left")
        long.cancel()
        await long.value
        #expect(sleepers.count == 0)
    }

    @Test("20,000 short sleeps from many tasks, half cancelled at random moments: every one ends, woken or cancelled, and none is left")
    func raceOfWakesAndCancels() async throws {
        let sleepers = ContinuousSleepers()
        var generator = SystemRandomNumberGenerator()
        let start = ContinuousClock.now
        let tasks = (0..<20_000).map { _ in
            let deadline = start + .microseconds(Int.random(in: 0...20_000, using: &generator))
            return Task { () -> Bool in
                do { try await sleepers.sleep(until: deadline); return ContinuousClock.now >= deadline } catch { return error is CancellationError }
            }
        }
        for (i, task) in tasks.enumerated() where i % 2 == 0 {
            if i % 64 == 0 { await Task.yield() }   // cancels land before, during and after the sleeps
            task.cancel()
        }
        var fine = 0
        for task in tasks where await task.value { fine += 1 }   // a lost wake-up would keep this waiting
        #expect(fine == 20_000, "a sleep ended before its deadline")
        #expect(sleepers.count == 0)
    }

    @Test("a task cancelled before it sleeps throws at once")
    func cancelledBeforeSleeping() async {
        let sleepers = ContinuousSleepers()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            do { try await sleepers.sleep(until: .now + .seconds(600)); return false } catch { return error is CancellationError }
        }
        #expect(await task.value)
        #expect(sleepers.count == 0)
    }
}

/// When each sleep was due and when it ended.
private final class Ends: Sendable {
    let list = Mutex<[(deadline: ContinuousClock.Instant, at: ContinuousClock.Instant)]>([])
}
