import Synchronization

/// One streamed chat completion: the events of the turn and the task that reads the HTTP response.
///
/// Every event passes through ``emit(_:)``, which yields under the same lock ``cancel()`` takes to end
/// the turn: once `cancel()` has returned, no further event (a `.textDelta` least of all) is yielded.
final class OpenAITurn: AgentTurn {
    let events: AsyncThrowingStream<AgentEvent, any Error>
    private let continuation: AsyncThrowingStream<AgentEvent, any Error>.Continuation
    private let state = Mutex<State>(State())

    private struct State {
        /// The stream got its last event (finished, failed or cancelled).
        var ended = false
        /// The task doing the request, once started.
        var task: Task<Void, Never>?
    }

    /// A turn whose work has not started yet (see ``start(_:)``).
    init() {
        (events, continuation) = AsyncThrowingStream.makeStream(of: AgentEvent.self, throwing: (any Error).self)
        // A consumer that drops the stream (its task cancelled) stops the request too. A stream we
        // finished ourselves needs nothing: the task is ending on its own.
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.abortWork() }
        }
    }

    /// Runs `work` in a task that ``cancel()`` and the stream's termination cancel.
    func start(_ work: @escaping @Sendable (OpenAITurn) async -> Void) {
        let task = Task { await work(self) }
        let ended = state.withLock { s in
            s.task = task
            return s.ended
        }
        if ended { task.cancel() }
    }

    /// Yields `event` unless the turn has ended; false when it has.
    @discardableResult
    func emit(_ event: AgentEvent) -> Bool {
        state.withLock { s in
            guard !s.ended else { return false }
            continuation.yield(event)
            return true
        }
    }

    /// Ends the turn with `.finished(reason)`, unless it has ended already.
    func finish(_ reason: StopReason) {
        guard markEnded() else { return }
        continuation.yield(.finished(reason))
        continuation.finish()
    }

    /// Ends the turn by throwing `error`, unless it has ended already (a cancelled turn reports no error).
    func fail(_ error: any Error) {
        guard markEnded() else { return }
        continuation.finish(throwing: error)
    }

    /// Ends the stream with `.finished(.cancelled)` and cancels the request (closing its connection,
    /// which tells the server to stop generating); returns once the request task has ended. Idempotent.
    func cancel() async {
        if markEnded() {
            continuation.yield(.finished(.cancelled))
            continuation.finish()
        }
        let task = state.withLock { $0.task }
        task?.cancel()
        await task?.value
    }

    /// The openai backend asks no permissions: nothing to answer.
    func answer(_ requestID: String, optionID: String?) async {}

    /// Marks the turn ended; true for the caller that ended it.
    private func markEnded() -> Bool {
        state.withLock { s in
            guard !s.ended else { return false }
            s.ended = true
            return true
        }
    }

    /// The consumer is gone: stop the request without waiting for it.
    private func abortWork() {
        let task = state.withLock { s in
            s.ended = true
            return s.task
        }
        task?.cancel()
    }
}
