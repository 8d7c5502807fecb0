import Foundation
import QQSimulator
import QQSession

/// `qqtui bench stream`: an agent streams deltas into a C2C conversation while the real console draws
/// on a pseudo-terminal. Measures delta → session event, delta → frame on the terminal, and
/// delta → QQ stream frame (its pacing, as the simulator received the frames).
enum StreamBench {
    static func run(deltas: Int, interval: Duration, rows: Int = 35, cols: Int = 120) async throws -> BenchResult {
        try await withSimChild { sim in
            try await BenchSession.with(sim, agent: PacedAgent(deltas: deltas, interval: interval),
                                        configure: {
                                            $0.handoff.defaultOwner = .agent
                                            // 1,000 stamped deltas are ~24,000 characters: past the default cut at 20,000.
                                            $0.handoff.maxReplyLength = 10_000_000
                                        }) { bench in
            let ms = interval.seconds * 1000
            var result = BenchResult(name: "stream", setup: "\(deltas) deltas \(BenchFormat.number(ms)) ms apart into one C2C conversation; console \(cols)×\(rows) on a pty")
            guard let probe = ConsoleProbe(rows: rows, cols: cols, makeState: { ConsoleState() }, inspect: { state in
                state.current?.entries.last.map { lastPacedIndex($0.text) } ?? -1
            }) else { throw BenchError("no pseudo-terminal available") }
            do {
                let forward = Task { await forwardEvents(bench.session.events, to: probe, expecting: deltas) }
                _ = try await sim.post("/sim/c2c", ["user_openid": "U1", "content": "stream please"])
                let bytesBefore = probe.bytesWritten
                guard await probe.waitForValue(deltas - 1, timeout: .seconds(60) + interval * deltas) else {
                    throw BenchError("the console did not show the last delta in time")
                }
                let bytes = probe.bytesWritten - bytesBefore
                let eventLatencies = await withTimeout(seconds: 30) { await forward.value } ?? EventLatencies()
                forward.cancel()
                // Every delta's time on the console: the first frame that showed it.
                let frames = probe.recorded
                var screen = LatencySample(reservingCapacity: deltas)
                let builds = LatencySample(frames.map { $0.build.seconds * 1000 }).summary
                var f = 0
                let stamps = eventLatencies.stamps
                for (i, ns) in stamps.enumerated() {
                    while f < frames.count, frames[f].value < i { f += 1 }
                    if f < frames.count { screen.append(Double(frames[f].at - ns) / 1e6) }
                }
                result.addLatency("delta→event", eventLatencies.sample)
                result.addLatency("delta→screen", screen, p99Target: .atMost(33))
                result.add("frames drawn", Double(frames.count), "")
                result.add("frame build p50", builds.p50, "ms")
                result.add("frame build p99", builds.p99, "ms", target: .atMost(2))
                result.add("bytes to terminal per delta", Double(bytes) / Double(deltas), "B")
                try await addQQFrames(&result, sim: sim, stamps: stamps)
                result.notes.append("delta→screen is the agent's yield to the end of the curses write that first shows it; the console draws at most 40 frames a second, so deltas closer than 25 ms share frames.")
            } catch {
                await probe.stop()
                throw error
            }
            await probe.stop()
            return result
            }
        }
    }

    struct EventLatencies: Sendable {
        var sample = LatencySample()
        /// Each delta's yield time (ns), by index.
        var stamps: [Int64] = []
    }

    /// Forwards the session's events to the console and times the deltas on the way.
    static func forwardEvents(_ events: AsyncStream<SessionEvent>, to probe: ConsoleProbe, expecting: Int) async -> EventLatencies {
        var out = EventLatencies()
        for await event in events {
            if case .agent(let activity) = event, case .event(.textDelta(let text)) = activity.kind {
                let now = SimPlatform.wallNanoseconds()
                for stamp in pacedStamps(Substring(text)) {
                    out.sample.append(Double(now - stamp.ns) / 1e6)
                    out.stamps.append(stamp.ns)
                }
            }
            probe.inbox.post(.session(event))
            if out.stamps.count >= expecting { break }
        }
        return out
    }

    /// The simulator's record of the C2C stream: frames, their spacing, and delta → frame latency.
    static func addQQFrames(_ result: inout BenchResult, sim: SimChild, stamps: [Int64]) async throws {
        // The closing frame follows the last delta by up to one stream interval.
        var frames: [[String: Any]] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let streams = try await sim.get("/sim/streams") as? [[String: Any]] ?? []
            if let stream = streams.last, stream["closed"] as? Bool == true {
                frames = stream["frames"] as? [[String: Any]] ?? []
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard !frames.isEmpty else {
            result.notes.append("the simulator saw no closed stream: QQ frame numbers missing")
            return
        }
        var gaps = LatencySample()
        var toQQ = LatencySample(reservingCapacity: stamps.count)
        var previous: Double?
        for frame in frames {
            guard let at = frame["at"] as? Double else { continue }
            if let previous { gaps.append((at - previous) * 1000) }
            previous = at
            for stamp in pacedStamps(Substring(frame["text"] as? String ?? "")) where stamp.index < stamps.count {
                toQQ.append(at * 1000 - Double(stamps[stamp.index]) / 1e6)
            }
        }
        result.add("QQ frames", Double(frames.count), "")
        let spacing = gaps.summary
        result.add("QQ frame interval p50", spacing.p50, "ms")
        result.add("QQ frame interval min", spacing.min, "ms")
        result.addLatency("delta→QQ frame", toQQ)
    }
}
