import Foundation
import QQSimulator
import QQSession

/// `qqtui bench replies`: every message is handed to the `echo` agent, whose reply goes back to QQ
/// (a C2C stream, passive with the message's msg_id); replies per second acknowledged by the
/// platform, and how many messages never got an answer the platform accepted.
enum RepliesBench {
    static func run(events: Int) async throws -> BenchResult {
        try await withSimChild { sim in
            try await BenchSession.with(sim, agent: EchoAgent(), configure: { config in
                config.handoff.defaultOwner = .agent
            }) { bench in
                var result = BenchResult(name: "replies", setup: "\(events) C2C messages from \(events) users, each answered by the echo agent")
                let collector = Task { await collect(bench.session.events, expecting: events) }
                let started = SimPlatform.wallNanoseconds()
                _ = try await sim.post("/sim/burst", ["count": events, "users": events, "kind": "c2c", "tag": "replies"])
                let outcome = await withTimeout(seconds: 600) { await collector.value }
                collector.cancel()
                guard let outcome else { throw BenchError("gave up after 600 s waiting for the replies") }
                let seconds = Double(outcome.lastAt - started) / 1e9
                // The platform's side: how many of the messages got an answer it accepted.
                let answered = (try await sim.get("/sim/burst/answered?tag=replies") as? [String: Any])?["answered"] as? Int ?? 0
                result.add("replies/s", Double(outcome.sent) / seconds, "/s", target: .atLeast(5_000))
                result.add("sent", Double(outcome.sent), "replies")
                result.add("failed", Double(outcome.failed), "replies")
                result.add("lost", Double(events - answered), "messages", target: .atMost(0))
                result.addLatency("message→reply sent", outcome.latencies)
                result.add("peak RSS", ProcessMemory.peakMB(), "MB")
                result.notes.append("lost = messages the platform never saw answered (a closed stream or a message with their msg_id), counted by the simulator.")
                return result
            }
        }
    }

    struct Outcome: Sendable {
        var sent = 0
        var failed = 0
        var lastAt: Int64 = 0
        var latencies = LatencySample()
    }

    /// Reads events until `expecting` agent replies ended (sent or not).
    static func collect(_ events: AsyncStream<SessionEvent>, expecting: Int) async -> Outcome {
        var outcome = Outcome()
        outcome.latencies = LatencySample(reservingCapacity: expecting)
        for await event in events {
            guard case .outbound(let message) = event, message.kind == .reply else { continue }
            switch message.status {
            case .sending: continue
            case .sent:
                outcome.sent += 1
                if let stamp = burstStamp(message.text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                    outcome.latencies.append(Double(SimPlatform.wallNanoseconds() - stamp.ns) / 1e6)
                }
            case .failed, .refused, .cancelled:
                outcome.failed += 1
            }
            outcome.lastAt = SimPlatform.wallNanoseconds()
            if outcome.sent + outcome.failed >= expecting { break }
        }
        return outcome
    }
}
