import Synchronization

/// The gateway's hand-off to the inbound pipeline: a lock-protected list plus a wake-up, so the
/// pipeline takes everything that arrived since it last looked (one store transaction per burst).
final class InboundQueue: Sendable {
    private let items = Mutex<(list: [GatewayInbound], finished: Bool)>(([], false))
    private let continuation: AsyncStream<Void>.Continuation
    /// Yields when items may be waiting; ends after ``finish()``.
    let wakeups: AsyncStream<Void>

    init() {
        (wakeups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Adds an item (from the gateway's reader, any thread).
    @discardableResult
    func push(_ item: GatewayInbound) -> Bool {
        let accepted = items.withLock { s -> Bool in
            guard !s.finished else { return false }
            s.list.append(item)
            return true
        }
        if accepted { continuation.yield() }
        return accepted
    }

    /// Beyond this many waiting items the gateway's reader waits (``waitForRoom()``). Measured with `qqtui
    /// bench ingest` and `memory` (a million messages): 4,096 peaked ~17 MB above 1,024, which cost a
    /// fifth of the ingest rate; 2,048 sits between (72 MB against 65 MB).
    static let highWater = 2048

    /// Returns once at most ``highWater`` items wait (at once when fewer do), or when finished or
    /// cancelled. Under a flood this leaves the rest in the socket instead of in memory; the
    /// heartbeat runs on its own task meanwhile.
    func waitForRoom() async {
        while !Task.isCancelled, items.withLock({ !$0.finished && $0.list.count > Self.highWater }) {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Everything queued so far, in order.
    func drain() -> [GatewayInbound] {
        items.withLock { s in
            defer { s.list.removeAll(keepingCapacity: true) }
            return s.list
        }
    }

    /// No more items; the consumer drains what is left and stops.
    func finish() {
        items.withLock { $0.finished = true }
        continuation.finish()
    }
}
