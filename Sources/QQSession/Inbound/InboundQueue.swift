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
    /// fifth of the ingest rate; 2,048 sat between (72 MB against 65 MB). Measured again once a message
    /// cost less (2026-12-05): 1,024 against 2,048 took serve's peak from 62.4–63.8 to 59.1–60.1 MB;
    /// `bench memory`'s in-process rate fell 15–20 %, but `bench ingest --against botpy` (serve, the
    /// path that is compared) showed no difference: 0.70–0.78 against 0.69–0.79 of botpy's rate.
    static let highWater = 1024

    /// Returns once at most ``highWater`` items wait (at once when fewer do), or when finished or
    /// cancelled. Under a flood this leaves the rest in the socket instead of in memory; the
    /// heartbeat runs on its own task meanwhile.
    func waitForRoom() async {
        while !Task.isCancelled, items.withLock({ !$0.finished && $0.list.count > Self.highWater }) {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Everything queued so far, in order. The list starts afresh (keeping its capacity would allocate
    /// a full-size copy on every drain while the caller still holds the old one).
    func drain() -> [GatewayInbound] {
        items.withLock { s in
            defer { s.list = [] }
            return s.list
        }
    }

    /// No more items; the consumer drains what is left and stops.
    func finish() {
        items.withLock { $0.finished = true }
        continuation.finish()
    }
}
