/// Runs `operation`, cancelling it and throwing a ``QQError`` of kind `.timeout` after `limit` on
/// `clock`.
///
/// The operation must honour cancellation (AsyncHTTPClient requests and `Task.sleep` do).
func withTimeout<T: Sendable>(
    _ limit: Duration, what: String, context: String? = nil, clock: SessionClock = .continuous,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await clock.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        guard let value = first else { throw QQError.timeout(what, after: limit, context: context) }
        return value
    }
}
