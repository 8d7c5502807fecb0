import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The sleeps of the continuous ``SessionClock``, woken by one thread.
///
/// `Task.sleep` on Linux hands each sleep to a dispatch timer that keeps the task (about 2 KB) until
/// the original deadline, even when the sleep was cancelled long before. qqtui cancels most of its
/// sleeps: every agent turn has a watchdog and a delivery deadline (up to `turn_timeout_s`, 10
/// minutes), every reply a persistence timer, every commit wait a patience limit. Under a steady
/// 600 replies/s that was hundreds of megabytes waiting for deadlines nobody waited on any more.
///
/// Here a sleep is an entry in a heap and a continuation. Cancelling it resumes the task and frees
/// it at once; the heap entry is a few bytes, swept once cancelled entries outnumber the live ones.
/// One thread waits (`poll` on a pipe, with the earliest deadline as its timeout) and is woken
/// only when a sleep ends earlier than everything it already waits for.
final class ContinuousSleepers: Sendable {
    /// The process's sleepers (the thread starts with the first sleep).
    static let shared = ContinuousSleepers()

    private struct Entry {
        var deadline: ContinuousClock.Instant
        var id: Int
        static func < (a: Entry, b: Entry) -> Bool { (a.deadline, a.id) < (b.deadline, b.id) }
    }

    private struct State {
        /// Min-heap by deadline; entries of cancelled sleeps stay until popped or swept.
        var heap: [Entry] = []
        /// The live sleeps.
        var waiting: [Int: CheckedContinuation<Void, any Error>] = [:]
        var nextID = 0
        /// The deadline the thread waits for now (nil: none, it waits for a wake-up).
        var armed: ContinuousClock.Instant?
        var threadStarted = false
    }

    private let state = Mutex(State())
    /// A pipe: a byte written to `wakeWrite` wakes the thread (a new earliest deadline). -1 when
    /// none could be made (no file descriptor left): the thread then looks every ``unwokenWait``.
    private let wakeRead: Int32, wakeWrite: Int32
    /// The longest the thread waits without a pipe to wake it: how late a new earlier deadline can be.
    static let unwokenWait: Int32 = 5

    /// Sleepers of their own (tests); the product uses ``shared``. `pipe: false` is a process out of
    /// file descriptors (tests).
    init(pipe usePipe: Bool = true) {
        var fds: [Int32] = [-1, -1]
        if usePipe, pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        } else {
            fds = [-1, -1]
        }
        (wakeRead, wakeWrite) = (fds[0], fds[1])
    }

    /// Live sleeps (tests).
    var count: Int { state.withLock { $0.waiting.count } }

    /// Heap entries, live and cancelled (tests: cancelled ones do not pile up).
    var heapCount: Int { state.withLock { $0.heap.count } }

    /// Sleeps until `deadline`. Throws `CancellationError` when the task is cancelled first, and
    /// frees the sleep at once.
    func sleep(until deadline: ContinuousClock.Instant) async throws {
        try Task.checkCancellation()
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Next { case wait(wake: Bool, start: Bool), due, cancelled }
                // Under the lock with the registration: a cancellation either finds the sleep (and
                // removes it) or happened before and is seen here.
                let next = state.withLock { s -> Next in
                    if Task.isCancelled { return .cancelled }
                    if deadline <= .now { return .due }
                    s.waiting[id] = continuation
                    Self.push(Entry(deadline: deadline, id: id), into: &s.heap)
                    let start = !s.threadStarted
                    s.threadStarted = true
                    let wake = s.armed.map { deadline < $0 } ?? true
                    if wake { s.armed = deadline }
                    return .wait(wake: wake && !start, start: start)
                }
                switch next {
                case .wait(let wake, let start):
                    if start { startThread() }
                    if wake { signal() }
                case .due: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let continuation = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                let c = s.waiting.removeValue(forKey: id)
                // Cancelled entries are swept once they outnumber the live ones (amortised).
                if c != nil, s.heap.count > 1024, s.heap.count > 2 * s.waiting.count {
                    let live = s.waiting
                    s.heap.removeAll { live[$0.id] == nil }
                    Self.heapify(&s.heap)
                }
                return c
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    // MARK: - The thread

    private func startThread() {
        let thread = Thread { [self] in self.run() }
        thread.name = "qqtui-sleepers"
        thread.start()
    }

    private func run() -> Never {
        while true {
            let (due, next) = state.withLock { s -> ([CheckedContinuation<Void, any Error>], ContinuousClock.Instant?) in
                let t = ContinuousClock.now
                var due: [CheckedContinuation<Void, any Error>] = []
                while let first = s.heap.first, first.deadline <= t {
                    Self.popFirst(&s.heap)
                    if let c = s.waiting.removeValue(forKey: first.id) { due.append(c) }
                }
                s.armed = s.heap.first?.deadline
                return (due, s.armed)
            }
            for c in due { c.resume() }
            wait(until: next)
        }
    }

    /// Blocks until `deadline` or a wake-up, whichever comes first.
    private func wait(until deadline: ContinuousClock.Instant?) {
        var fd = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        // Whole milliseconds, rounded up: never woken before the deadline (then it would spin).
        let timeout = deadline.map { deadline -> Int32 in
            let (seconds, attoseconds) = max(.zero, ContinuousClock.now.duration(to: deadline)).components
            // Beyond about 24 days poll's limit: it wakes then and waits again.
            guard seconds < Int64(Int32.max / 1000) else { return Int32.max }
            return Int32(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        } ?? -1
        guard wakeRead >= 0 else {
            _ = poll(nil, 0, timeout < 0 ? Self.unwokenWait : min(timeout, Self.unwokenWait))
            return
        }
        _ = poll(&fd, 1, timeout)
        if fd.revents & Int16(POLLIN) != 0 {
            var bytes = [UInt8](repeating: 0, count: 64)
            while read(wakeRead, &bytes, bytes.count) == bytes.count {}   // non-blocking: empties the pipe
        }
    }

    private func signal() {
        guard wakeWrite >= 0 else { return }   // the thread looks again within unwokenWait
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)   // a full pipe already wakes the thread: nothing lost
    }

    // MARK: - Heap

    private static func push(_ entry: Entry, into heap: inout [Entry]) {
        heap.append(entry)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i] < heap[parent] else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private static func popFirst(_ heap: inout [Entry]) {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(&heap, from: 0)
    }

    private static func siftDown(_ heap: inout [Entry], from start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < heap.count, heap[left] < heap[smallest] { smallest = left }
            if right < heap.count, heap[right] < heap[smallest] { smallest = right }
            guard smallest != i else { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }

    private static func heapify(_ heap: inout [Entry]) {
        guard heap.count > 1 else { return }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(&heap, from: i) }
    }
}
