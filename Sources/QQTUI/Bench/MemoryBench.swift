import Foundation
import QQSession

/// `qqtui bench memory`: a session ingests messages from the gateway into the store, then every
/// conversation is paged through newest to oldest; the peak resident memory of this process.
enum MemoryBench {
    static let pageSize = 200

    static func run(messages: Int, users: Int = 1_000) async throws -> BenchResult {
        var result = try await withSimChild { sim in
            try await BenchSession.with(sim) { bench in
                var result = BenchResult(name: "memory", setup: "\(messages) messages from \(users) C2C users and \(users) groups through the gateway into the store, then every conversation paged through (\(pageSize) a page)")
                let startRSS = ProcessMemory.residentMB()
                let collector = Task { await IngestBench.collect(bench.session.events, expecting: messages, keepLatencies: false) }
                let started = ContinuousClock.now
                _ = try await sim.post("/sim/burst", ["count": messages, "users": users, "kind": "mixed", "tag": "memory"])
                guard await withTimeout(seconds: 1800, { await collector.value }) != nil else {
                    collector.cancel()
                    throw BenchError("ingesting took over 30 minutes")
                }
                try await bench.store.flush()
                let ingestSeconds = (ContinuousClock.now - started).seconds
                let afterIngest = ProcessMemory.residentMB()
                let peakIngest = ProcessMemory.peakMB()
                var paged = 0
                let pageStart = ContinuousClock.now
                for conversation in try await bench.store.conversations(limit: users * 2 + 10) {
                    var before: Int64?
                    while true {
                        let page = try await bench.store.messages(in: conversation.id, before: before, limit: pageSize)
                        paged += page.count
                        guard page.count == pageSize, let oldest = page.map(\.rowID).min() else { break }
                        before = oldest
                    }
                }
                let pageSeconds = (ContinuousClock.now - pageStart).seconds
                result.add("peak RSS", ProcessMemory.peakMB(), "MB", target: .atMost(60))
                result.add("peak RSS while ingesting", peakIngest, "MB")
                result.add("RSS after ingest", afterIngest, "MB")
                result.add("RSS at start", startRSS, "MB")
                result.add("RSS at end", ProcessMemory.residentMB(), "MB")
                result.add("ingested", Double(messages) / ingestSeconds, "/s")
                result.add("paged", Double(paged), "messages", target: .atLeast(Double(messages)))
                result.add("paging", Double(paged) / max(pageSeconds, 0.001), "messages/s")
                result.add("store size", bench.storeMB, "MB")
                return result
            }
        }
        // The same burst into `qqtui serve --json` in its own process, measured from outside.
        let serve = try await withSimChild { sim in
            let child = try await ServeChild.start(sim: sim, tag: "serve", echoAgent: false)
            defer { child.remove() }
            _ = try await sim.post("/sim/burst", ["count": messages, "users": users, "kind": "mixed", "tag": "serve"])
            let seen = await child.wait(timeout: .seconds(1800)) { $0.received >= messages }
            let peak = child.peakMB ?? 0
            await child.stop()
            return (printed: seen.received, peak: peak, stored: try await child.storedMessages())
        }
        result.add("serve peak RSS", serve.peak, "MB", target: .atMost(60))
        result.add("serve printed", Double(serve.printed), "events", target: .atLeast(Double(messages)))
        result.add("serve stored", Double(serve.stored), "messages", target: .atLeast(Double(messages)))
        return result
    }
}
