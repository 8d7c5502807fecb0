import Foundation
import QQSimulator

/// `qqtui bench ingest|replies --against botpy`: qqtui (`qqtui serve --json`, storing every message
/// and printing every event) and the official Python SDK connected to the same simulator at once,
/// receiving the same burst of C2C messages; both rates and their ratio, measured in one run.
enum AgainstBench {
    enum Mode: String, Sendable { case ingest, replies }

    static func run(_ mode: Mode, events: Int, python: String?) async throws -> BenchResult {
        _ = try BotpyPeer.locate(python: python)   // say what is missing before anything starts
        let tag = "vs\(mode.rawValue)"
        return try await withSimChild { sim in
            let serve = try await ServeChild.start(sim: sim, tag: tag, echoAgent: mode == .replies)
            defer { serve.remove() }
            let peer: BotpyPeer
            do {
                peer = try await BotpyPeer.start(sim: sim, mode: mode.rawValue, count: events, tag: tag, python: python)
            } catch {
                await serve.stop()
                throw error
            }
            var result = BenchResult(name: "\(mode.rawValue) vs botpy",
                                     setup: "\(events) C2C messages from \(events) users (one each), sent once to two clients connected at once: "
                                         + "qqtui serve --json (every message stored, every event printed"
                                         + (mode == .replies ? ", each answered by the echo agent in one passive message, as botpy's" : "")
                                         + ") and qq-botpy (a handler that "
                                         + (mode == .replies ? "answers each with post_c2c_message and msg_id)" : "only counts)"))
            let cpuBefore = serve.cpuSeconds ?? 0
            let started = SimPlatform.wallNanoseconds()
            let burst = try await sim.post("/sim/burst", ["count": events, "users": events, "kind": "c2c", "tag": tag]) as? [String: Any]
            let wrote = ((burst?["finished"] as? Double) ?? 0) - ((burst?["started"] as? Double) ?? 0)
            let limit = Duration.seconds(mode == .replies ? 600 : 300)
            let ours = await serve.wait(timeout: limit) { t in
                mode == .ingest ? t.received >= events : t.repliesSent + t.repliesFailed >= events
            }
            let peak = serve.peakMB
            let ourCPU = (serve.cpuSeconds ?? 0) - cpuBefore
            let theirs: BotpyPeer.Report
            do {
                theirs = try await peer.report(timeout: limit)
            } catch {
                await serve.stop()
                throw error
            }
            let exit = await serve.stop()
            let stored = try await serve.storedMessages()
            func rate(_ count: Int, _ last: Int64) -> Double { last > started ? Double(count) / (Double(last - started) / 1e9) : 0 }
            switch mode {
            case .ingest:
                let qqtui = rate(ours.received, ours.lastReceivedNs), botpy = rate(theirs.received, theirs.lastNs)
                result.add("qqtui events/s", qqtui, "/s")
                result.add("botpy events/s", botpy, "/s")
                result.add("ratio", botpy > 0 ? qqtui / botpy : 0, "×", target: .atLeast(2.5))
                result.add("qqtui printed", Double(ours.received), "events", target: .atLeast(Double(events)))
                result.add("botpy received", Double(theirs.received), "events")
            case .replies:
                let qqtui = rate(ours.repliesSent, ours.lastReplyNs), botpy = rate(theirs.replied, theirs.lastReplyNs)
                result.add("qqtui replies/s", qqtui, "/s")
                result.add("botpy replies/s", botpy, "/s")
                result.add("ratio", botpy > 0 ? qqtui / botpy : 0, "×", target: .atLeast(2))
                result.add("qqtui lost", Double(events - ours.repliesSent), "messages", target: .atMost(0))
                result.add("qqtui duplicated", Double(ours.duplicateReplies), "replies", target: .atMost(0))
                result.add("botpy acknowledged", Double(theirs.replied), "replies")
                result.add("botpy failed or never answered", Double(events - theirs.replied), "messages")
            }
            // Replies: each message and its answer.
            // Neither client can receive faster than the platform sends: this caps the ratio.
            if wrote > 0 { result.add("simulator sent", Double(events) / wrote, "/s to each client") }
            result.add("qqtui stored", Double(stored), "messages", target: .atLeast(Double(mode == .replies ? 2 * events : events)))
            result.add("qqtui CPU", ourCPU * 1000 / Double(max(1, events)) * 1000, "µs/message")
            result.add("botpy CPU", theirs.cpuSeconds * 1000 / Double(max(1, events)) * 1000, "µs/message")
            if let peak { result.add("qqtui peak RSS", peak, "MB") }
            if exit != 0 { result.notes.append("qqtui serve exited with \(exit) after SIGTERM") }
            for (reason, count) in theirs.errors.sorted(by: { $0.value > $1.value }) {
                result.notes.append("botpy failed \(count)× with \(reason)")
            }
            result.notes.append("qq-botpy \(theirs.version) from the test peers' venv; rates run from the burst's start to each client's last counted event\(mode == .replies ? " (an acknowledged reply)" : "").")
            return result
        }
    }
}
