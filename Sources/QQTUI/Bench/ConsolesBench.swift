import Foundation
import Logging
import QQSession
import QQSimulator
import Synchronization

/// `qqtui bench consoles`: what attached consoles cost serve. The same burst twice through a session
/// with serve's control socket: first with one console reading, then with a second console attached
/// that never reads (killed, hung, suspended). The session's send→event latency, the reading console's
/// latency and serve's memory are reported for both runs side by side.
enum ConsolesBench {
    static func run(events: Int) async throws -> BenchResult {
        try await withSimChild { sim in
            try await BenchSession.with(sim) { bench in
                var result = BenchResult(name: "consoles", setup: "\(events) C2C messages from 100 users, three times: no console, one console "
                                         + "reading, then a second console attached that never reads (queue limit 4 MiB)")
                let socket = bench.directory.appendingPathComponent("run/bench.sock").path
                let hub = ServeHub(session: bench.session, socketPath: socket, storePath: bench.directory.path, agentName: nil)
                let server = ControlServer(hub: hub, path: socket, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
                let listener = try await server.bind()
                let serving = Task { await server.run(listener) }
                defer { serving.cancel() }
                let atSession = BurstLatencies()
                // serve's consumer: every event to the hub, and the time each burst message took to be emitted.
                let pump = Task {
                    for await event in bench.session.events {
                        hub.publish(event)
                        if case .message(let m) = event { atSession.record(m.text) }
                    }
                }
                defer { pump.cancel() }
                let atConsole = BurstLatencies()
                var reader: ControlLink?
                defer { reader?.close() }

                for phase in ["none", "alone", "asleep"] {
                    if phase == "alone" {
                        reader = try AttachTarget.socket(socket).open(operatorName: "bench-reader").0
                        reader?.startReading(onLine: { line in atConsole.record(line) }, onEnd: { _ in })
                    }
                    var sleeper: ControlLink?
                    if phase == "asleep" { sleeper = try AttachTarget.socket(socket).open(operatorName: "bench-asleep").0 }
                    defer { sleeper?.close() }
                    let watched = phase != "none"
                    let started = SimPlatform.wallNanoseconds()
                    _ = try await sim.post("/sim/burst", ["count": events, "users": 100, "kind": "c2c", "rate": 0, "tag": phase])
                    let done = await withTimeout(seconds: 300) {
                        while atSession.count(phase) < events || (watched && atConsole.count(phase) < events) {
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                        return true
                    }
                    guard done == true else {
                        throw BenchError("gave up after 300 s: \(atSession.count(phase)) emitted, \(atConsole.count(phase)) at the console")
                    }
                    let seconds = Double(atSession.last(phase) - started) / 1e9
                    let label = ["none": "no console", "alone": "1 console"][phase] ?? "+1 asleep"
                    result.add("events/s (\(label))", Double(events) / seconds, "/s")
                    result.addLatency("send→session (\(label))", atSession.sample(phase))
                    if watched { result.addLatency("send→console (\(label))", atConsole.sample(phase)) }
                    result.add("RSS after (\(label))", ProcessMemory.residentMB(), "MB")
                    if phase == "asleep" {
                        let status = await hub.status()
                        let asleep = status.consoles.first { $0.operatorName == "bench-asleep" }
                        result.add("held for the sleeper", Double(asleep?.queuedBytes ?? 0) / 1_048_576, "MB", target: .atMost(4))
                        result.add("sleeper dropped to a snapshot", Double(asleep?.resyncs ?? 0), "times")
                    }
                }
                try await bench.store.flush()
                result.add("stored", Double(try await bench.store.counts().messages), "messages", target: .atLeast(Double(3 * events)))
                result.add("lost at the reading console", Double(2 * events - atConsole.total), "events", target: .atMost(0))
                result.notes.append("In one process: the session, serve's hub and socket, and the reading console's parsing share the cores; the sleeping console's socket buffers (kernel) are not counted as serve's.")
                return result
            }
        }
    }
}

/// When burst messages arrived, by burst tag (from the simulator's time stamp in each message).
final class BurstLatencies: Sendable {
    private struct Phase { var latencies = LatencySample(); var last: Int64 = 0 }
    private let phases = Mutex<[String: Phase]>([:])

    /// A burst message's text (or a raw control line holding one).
    func record(_ text: String) {
        guard let (tag, ns) = Self.stamp(in: Substring(text)) else { return }
        add(tag, ns)
    }

    /// A raw control line: only lines of message events are read (no JSON decoding on the hot path).
    func record(_ line: Data) {
        guard line.count < 4096, let text = String(data: line, encoding: .utf8), text.contains(#""type":"message""#),
              let range = text.range(of: #""text":""#) else { return }
        let rest = text[range.upperBound...]
        guard let end = rest.firstIndex(of: "\""), let (tag, ns) = Self.stamp(in: rest[..<end]) else { return }
        add(tag, ns)
    }

    private func add(_ tag: String, _ ns: Int64) {
        let now = SimPlatform.wallNanoseconds()
        phases.withLock { p in
            p[tag, default: Phase()].latencies.append(Double(now - ns) / 1e6)
            p[tag]?.last = now
        }
    }

    /// `"<tag> <i> <ns>"`.
    private static func stamp(in text: Substring) -> (String, Int64)? {
        let parts = text.split(separator: " ")
        guard parts.count == 3, Int(parts[1]) != nil, let ns = Int64(parts[2]) else { return nil }
        return (String(parts[0]), ns)
    }

    func count(_ tag: String) -> Int { phases.withLock { $0[tag]?.latencies.count ?? 0 } }
    func last(_ tag: String) -> Int64 { phases.withLock { $0[tag]?.last ?? 0 } }
    func sample(_ tag: String) -> LatencySample { phases.withLock { $0[tag]?.latencies ?? LatencySample() } }
    var total: Int { phases.withLock { $0.values.reduce(0) { $0 + $1.latencies.count } } }
}
