import Synchronization

/// A one-shot signal that cuts short the work run under it, without that work leaving its scope.
///
/// A task group cannot cancel one of its children, and an unstructured `Task` that can be cancelled
/// may outlive its owner. ``run(_:)`` runs the work as a child of the caller, beside a watcher of
/// the signal; ``fire()`` cancels the work, and `run` returns once it has. Fired before `run`, the
/// work starts cancelled.
///
/// ```swift
/// let stop = StopSignal()
/// group.addTask { await stop.run { try? await clock.sleep(until: deadline) } }
/// …
/// stop.fire()   // the sleep ends now; the child returns
/// ```
final class StopSignal: Sendable {
    private let fired: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    /// A signal not fired yet.
    init() {
        (fired, continuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// Cancels the work under ``run(_:)`` (now, or as soon as it starts). Idempotent.
    func fire() { continuation.finish() }

    /// Runs `body` until it returns; cancels it first if the signal fires. Returns what `body`
    /// returned (a cancelled body still returns: cancellation only asks it to hurry). Call it once.
    @discardableResult
    func run<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await body() }
            group.addTask { [fired] in
                for await _ in fired {}
                return nil
            }
            var value: T?
            for await result in group {
                if let result { value = result }
                group.cancelAll()
            }
            return value
        }
    }
}

/// A sleeper that another task can wake early: the heartbeat timer sleeps to the gateway machine's
/// next wakeup, and a frame that moves the wakeup (Hello) wakes it to read the new one.
final class Alarm: Sendable {
    private let current = Mutex(StopSignal())

    /// An alarm with no sleep under way.
    init() {}

    /// The signal the next sleep runs under. Take it *before* reading the deadline to sleep to:
    /// a ``ring()`` between the two then ends that sleep at once instead of being lost.
    func arm() -> StopSignal {
        current.withLock { s in
            s = StopSignal()
            return s
        }
    }

    /// Ends the sleep under way (or the next one, if it was armed but has not started).
    func ring() { current.withLock { $0 }.fire() }
}
