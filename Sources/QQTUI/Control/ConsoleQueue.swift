import Foundation
import Synchronization

/// What serve holds for one attached console: lines waiting to be written, bounded in bytes. A
/// console that falls behind (killed, hung, too slow) loses its backlog and is sent a fresh snapshot
/// once it reads again: the session never waits for it and never holds more than `limit` bytes for it.
final class ConsoleQueue: Sendable {
    struct State {
        var lines: [Data] = []
        /// Answers to the console's own requests: kept when the backlog is dropped.
        var direct: [Data] = []
        var bytes = 0
        /// Its backlog was dropped: it needs a snapshot before anything else (a new console starts so).
        var lagging = true
        var resyncs = 0
        var closed = false
    }

    /// The most bytes held for one console.
    let limit: Int
    private let state = Mutex(State())
    private let wake: AsyncStream<Void>.Continuation
    /// Rings when there is something to write.
    let wakeups: AsyncStream<Void>

    init(limit: Int) {
        self.limit = limit
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a line; past the limit the backlog is dropped and the console marked lagging.
    func push(_ line: Data) {
        let rang: Bool = state.withLock { s in
            guard !s.closed, !s.lagging else { return false }
            if s.bytes + line.count > limit {
                s.lines.removeAll()
                s.bytes = s.direct.reduce(0) { $0 + $1.count }
                s.lagging = true
                s.resyncs += 1
                return true
            }
            s.lines.append(line)
            s.bytes += line.count
            return s.lines.count + s.direct.count == 1
        }
        if rang { wake.yield() }
    }

    /// Queues a line even while lagging (answers to the console's own requests). A console that asks
    /// and never reads is bounded too: past twice the limit its backlog goes and it resyncs.
    func pushDirect(_ line: Data) {
        state.withLock { s in
            guard !s.closed else { return }
            if s.bytes + line.count > 2 * limit {
                // It asks and never reads: everything goes, answers too; it starts over from a snapshot.
                s.lines.removeAll()
                s.direct.removeAll()
                s.bytes = 0
                if !s.lagging { s.resyncs += 1 }
                s.lagging = true
                return
            }
            s.direct.append(line)
            s.bytes += line.count
        }
        wake.yield()
    }

    /// What to write next: a snapshot first if the console is lagging (`body` builds its in-memory
    /// part while no line can slip in between), else the queued lines.
    func take<T>(ifLagging body: () -> T) -> (snapshot: T?, lines: [Data]) {
        state.withLock { s in
            defer {
                s.lines.removeAll(keepingCapacity: true)
                s.direct.removeAll()
                s.bytes = 0
            }
            if s.lagging {
                // The snapshot replaces the backlog; answers to its own requests still go, after it.
                s.lagging = false
                return (body(), s.direct)
            }
            return (nil, s.direct + s.lines)
        }
    }

    var isLagging: Bool { state.withLock { $0.lagging } }
    var queuedBytes: Int { state.withLock { $0.bytes } }
    var resyncs: Int { state.withLock { $0.resyncs } }
    var hasLines: Bool { state.withLock { !$0.lines.isEmpty || !$0.direct.isEmpty || $0.lagging } }

    func close() {
        state.withLock { s in
            s.closed = true
            s.lines.removeAll()
            s.direct.removeAll()
            s.bytes = 0
        }
        wake.finish()
    }

    /// Rings the writer (a snapshot is due).
    func ring() { wake.yield() }
}
