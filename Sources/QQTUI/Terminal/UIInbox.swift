import Foundation
import Synchronization

/// The one door from async code into the UI thread: events queue under a lock and a pipe wakes the
/// thread's `poll` (one byte per batch, not per event).
final class UIInbox: AppEventSink {
    private let pending = Mutex<[AppEvent]>([])
    private let resized = Atomic<Bool>(false)
    /// The end the UI thread polls.
    let wakeRead: Int32
    private let wakeWrite: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fds = [-1, -1] }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        for fd in fds where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        if wakeRead >= 0 { Foundation.close(wakeRead) }
        if wakeWrite >= 0 { Foundation.close(wakeWrite) }
    }

    /// Queues an event for the UI thread.
    func post(_ event: AppEvent) {
        let wasEmpty = pending.withLock { q in
            let empty = q.isEmpty
            q.append(event)
            return empty
        }
        if wasEmpty { wake() }
    }

    /// Says the terminal changed size (from the SIGWINCH handler's queue).
    func postResize() {
        resized.store(true, ordering: .releasing)
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// Everything queued, and whether a resize is pending (UI thread).
    func drain() -> (events: [AppEvent], resized: Bool) {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &sink, sink.count) > 0 {}
        let events = pending.withLock { q in
            defer { q.removeAll(keepingCapacity: true) }
            return q
        }
        return (events, resized.exchange(false, ordering: .acquiring))
    }
}
