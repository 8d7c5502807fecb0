import Foundation
import QQSession

/// Collects a session's events on a background task; tests wait for the ones they expect, with a timeout.
actor EventRecorder {
    private(set) var events: [SessionEvent] = []
    private var waiters: [(id: Int, predicate: @Sendable ([SessionEvent]) -> Bool, continuation: CheckedContinuation<Bool, Never>)] = []
    private var nextWaiter = 0
    private var task: Task<Void, Never>?

    init() {}

    /// Starts consuming `stream`.
    func attach(_ stream: AsyncStream<SessionEvent>) {
        task = Task { [weak self] in
            for await event in stream { await self?.append(event) }
        }
    }

    private func append(_ event: SessionEvent) {
        events.append(event)
        let ready = waiters.filter { $0.predicate(events) }
        waiters.removeAll { w in ready.contains { $0.id == w.id } }
        for w in ready { w.continuation.resume(returning: true) }
    }

    /// Waits until `predicate(allEventsSoFar)` holds; false on timeout.
    func wait(timeout: Duration = .seconds(10), until predicate: @escaping @Sendable ([SessionEvent]) -> Bool) async -> Bool {
        if predicate(events) { return true }
        nextWaiter += 1
        let id = nextWaiter
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.expire(id)
        }
        let result = await withCheckedContinuation { continuation in
            waiters.append((id, predicate, continuation))
        }
        timer.cancel()
        return result
    }

    private func expire(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(returning: false)
    }

    // MARK: - Views

    var messages: [InboundMessage] {
        events.compactMap { if case .message(let m) = $0 { return m }; return nil }
    }
    var statuses: [GatewayStatus] {
        events.compactMap { if case .gateway(let s) = $0 { return s }; return nil }
    }
    var notices: [Notice] {
        events.compactMap { if case .notice(let n) = $0 { return n }; return nil }
    }
    var conversationEvents: [ConversationEvent] {
        events.compactMap { if case .conversation(let c) = $0 { return c }; return nil }
    }
    var rawEvents: [RawEvent] {
        events.compactMap { if case .raw(let r) = $0 { return r }; return nil }
    }

    /// Waits for `count` messages in total.
    func waitForMessages(_ count: Int, timeout: Duration = .seconds(10)) async -> Bool {
        await wait(timeout: timeout) { $0.messageCount >= count }
    }

    /// Waits for the gateway to be READY for the `n`-th time (identify or resume).
    func waitForReady(times n: Int = 1, timeout: Duration = .seconds(10)) async -> Bool {
        await wait(timeout: timeout) { events in
            events.readyTransitions >= n
        }
    }

    /// Waits for an OFFLINE status and returns its reason.
    func waitForOffline(timeout: Duration = .seconds(10)) async -> String? {
        _ = await wait(timeout: timeout) { $0.offlineReason != nil }
        return events.offlineReason
    }
}

extension Array where Element == SessionEvent {
    var messageCount: Int { reduce(0) { if case .message = $1 { return $0 + 1 }; return $0 } }

    /// Number of times the phase became `.ready` (from something else).
    var readyTransitions: Int {
        var count = 0
        var wasReady = false
        for case .gateway(let s) in self {
            if s.isReady, !wasReady { count += 1 }
            wasReady = s.isReady
        }
        return count
    }

    var offlineReason: String? {
        for case .gateway(let s) in self.reversed() {
            if case .offline(let reason) = s.phase { return reason }
        }
        return nil
    }
}
