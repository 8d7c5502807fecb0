import Foundation
import QQSimulator
import QQSession

/// `qqtui bench ingest`: events per second from the simulator's gateway (another process, loopback
/// WebSocket) to a stored message the session has emitted, with the latency from the simulator's
/// send time to the event.
enum IngestBench {
    static func run(events: Int, users: Int, rate: Int) async throws -> BenchResult {
        try await withSimChild { sim in
            try await BenchSession.with(sim) { bench in
                var result = BenchResult(name: "ingest", setup: "\(events) messages from \(users) C2C users and \(users) groups (half each), "
                                         + (rate == 0 ? "as fast as the simulator writes" : "paced at \(rate)/s"))
                let collector = Task { await collect(bench.session.events, expecting: events) }
                let started = SimPlatform.wallNanoseconds()
                let burst = try await sim.post("/sim/burst", ["count": events, "users": users, "kind": "mixed", "rate": rate, "tag": "ingest"])
                let seen = await withTimeout(seconds: 300) { await collector.value }
                collector.cancel()
                guard let seen else { throw BenchError("gave up after 300 s waiting for the events") }
                let seconds = Double(seen.lastAt - started) / 1e9
                let simSeconds = ((burst as? [String: Any])?["finished"] as? Double ?? 0) - ((burst as? [String: Any])?["started"] as? Double ?? 0)
                try await bench.store.flush()
                let stored = try await bench.store.counts().messages
                result.add("events/s", Double(seen.count) / seconds, "/s", target: rate == 0 ? .atLeast(100_000) : nil)
                result.addLatency("send→event", seen.latencies)
                result.add("received", Double(seen.count), "events")
                result.add("stored", Double(stored), "messages", target: .atLeast(Double(events)))
                result.add("simulator wrote for", simSeconds * 1000, "ms")
                result.add("store size", bench.storeMB, "MB")
                result.add("peak RSS", ProcessMemory.peakMB(), "MB")
                if rate == 0 {
                    result.notes.append("A burst: the latency is mostly queueing behind the events sent before it (the simulator writes faster than any client reads); --rate N measures it at a steady load.")
                }
                return result
            }
        }
    }

    struct Seen: Sendable {
        var count = 0
        var lastAt: Int64 = 0
        var latencies = LatencySample()
    }

    /// Reads events until `expecting` burst messages were emitted.
    static func collect(_ events: AsyncStream<SessionEvent>, expecting: Int, keepLatencies: Bool = true) async -> Seen {
        var seen = Seen()
        if keepLatencies { seen.latencies = LatencySample(reservingCapacity: expecting) }
        for await event in events {
            guard case .message(let message) = event, let stamp = burstStamp(message.text) else { continue }
            let now = SimPlatform.wallNanoseconds()
            seen.count += 1
            seen.lastAt = now
            if keepLatencies { seen.latencies.append(Double(now - stamp.ns) / 1e6) }
            if seen.count >= expecting { break }
        }
        return seen
    }
}

/// `body`'s value, or nil after `seconds`.
func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async -> T) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await body() }
        group.addTask {
            try? await Task.sleep(for: .seconds(seconds))
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
