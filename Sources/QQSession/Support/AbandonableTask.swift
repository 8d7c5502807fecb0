import Synchronization

/// Work its owner waits for, unless the owner decides it never will finish and lets it go.
///
/// For two cases. A session's shutdown waits for replies being sent only for `shutdown_grace_s`.
/// And a WebSocket connect whose event loop was stopped under it (the way an attempt
/// aborts a connect or upgrade that stalls). If the loop stops before NIO registered the callback
/// that resumes the connecting task, NIO drops that callback and the task waits forever (found by
/// testing; `SWIFTNIO_STRICT=1` turns the drop into a crash in `EventLoopFuture.get()`). A child task
/// waiting for it would hold its task group, the attempt and the session's shutdown forever. So the
/// work runs in a task of its own; ``value()`` waits for it and returns its result, and only
/// ``abandon()`` (after the loop stopped and a grace passed without a result) makes it return nil.
/// A task let go that way can never run again: its event loop is gone.
final class AbandonableTask<Value: Sendable>: Sendable {
    private struct State {
        var result: Value??
        var waiter: CheckedContinuation<Value?, Never>?
    }

    private let state = Mutex(State())
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    /// Starts `body`.
    init(_ body: @escaping @Sendable () async -> Value) {
        let started = Task { [self] in settle(with: await body()) }
        task.withLock { $0 = started }
    }

    /// Cancels the work (it still runs to its end, which ``value()`` waits for).
    func cancel() { task.withLock { $0 }?.cancel() }

    /// Stops waiting: ``value()`` returns nil now, and whatever the work returns later is dropped.
    func abandon() { settle(with: nil) }

    /// The work's result, or nil once abandoned. Cancelling the caller cancels the work.
    func value() async -> Value? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                let ready = state.withLock { s -> Value?? in
                    if let result = s.result { return .some(result) }
                    s.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Records the first outcome (a result, or nil for abandoned) and wakes the waiter.
    private func settle(with outcome: Value?) {
        let waiter = state.withLock { s -> CheckedContinuation<Value?, Never>? in
            guard s.result == nil else { return nil }
            s.result = .some(outcome)
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: outcome)
    }
}
