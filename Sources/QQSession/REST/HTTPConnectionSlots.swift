import NIOCore
import Synchronization

/// The connections to one origin: at most `limit` open at once. A request takes a kept connection,
/// else opens a new one while fewer than `limit` are open, else waits its turn (first come, first
/// served) for one to come back.
final class HTTPConnectionSlots: Sendable {
    /// What a request gets: a kept connection, or the right to open one.
    enum Lease: Sendable {
        case kept(any Channel)
        case connect
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Lease, any Error>
    }

    private struct State {
        var idle: [any Channel] = []
        /// Kept, in use and being opened.
        var open = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// A connection to use, or the right to open one; give it back with ``release(_:)``.
    func acquire() async throws -> Lease {
        enum Step { case lease(Lease), wait(UInt64) }
        let step = state.withLock { s -> Step in
            while let channel = s.idle.popLast() {
                if channel.isActive { return .lease(.kept(channel)) }
                s.open -= 1   // the server closed it while it was kept
            }
            if s.open < limit {
                s.open += 1
                return .lease(.connect)
            }
            s.nextID += 1
            return .wait(s.nextID)
        }
        let id: UInt64
        switch step {
        case .lease(let lease): return lease
        case .wait(let number): id = number
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                // Cancelled before it could queue: onCancel found nothing to remove.
                let cancelled = state.withLock { s -> Bool in
                    if Task.isCancelled { return true }
                    s.waiters.append(Waiter(id: id, continuation: continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> Waiter? in
                s.waiters.firstIndex { $0.id == id }.map { s.waiters.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives a lease back: `channel` to keep for the next request, or nil when the connection is
    /// gone (closed, failed, or never opened). The first waiting request gets it.
    func release(_ channel: (any Channel)?) {
        let handover = state.withLock { s -> (Waiter, Lease)? in
            if let channel, channel.isActive {
                guard !s.waiters.isEmpty else {
                    s.idle.append(channel)
                    return nil
                }
                return (s.waiters.removeFirst(), .kept(channel))
            }
            guard !s.waiters.isEmpty else {
                s.open -= 1
                return nil
            }
            return (s.waiters.removeFirst(), .connect)   // its slot passes to the waiter
        }
        if let (waiter, lease) = handover { waiter.continuation.resume(returning: lease) }
    }

    /// Kept connections still open.
    var keptCount: Int { state.withLock { $0.idle.filter(\.isActive).count } }

    /// Takes every kept connection (to close them).
    func drain() -> [any Channel] {
        state.withLock { s in
            defer { s.open -= s.idle.count; s.idle = [] }
            return s.idle
        }
    }
}
