import Foundation
import Testing

/// `qqtui bench` as a user runs it (small sizes): each benchmark starts the simulator in a child
/// process, does its work over loopback and reports complete numbers. Timings are not asserted
/// (they are measured and reported in the README); what is checked is that nothing was lost and
/// that every measurement is there. One at a time: each runs two processes flat out.
@Suite("qqtui bench", .serialized, .timeLimit(.minutes(3)))
struct BenchCommandTests {
    /// Runs `qqtui bench <arguments> --json` and returns the metrics of its single result by key.
    private func bench(_ arguments: [String]) async throws -> [String: Double] {
        // At the lowest priority (the simulator child inherits it): a benchmark runs flat out, and the
        // timing-sensitive tests running alongside must not starve.
        let child = try ChildProcess("/usr/bin/nice", ["-n", "19", try #require(BuildPaths.qqtui), "bench"] + arguments + ["--json"])
        let code = await child.waitForExit(timeout: .seconds(150))
        if code == nil { _ = await child.stop() }
        #expect(code == 0, "exit \(String(describing: code)): \(child.stderr)")
        let json = try #require(child.stdoutLines.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect((json["machine"] as? [String: Any])?["date"] is String, "the machine and date are part of the report")
        let result = try #require((json["results"] as? [[String: Any]])?.first)
        var metrics: [String: Double] = [:]
        for metric in result["metrics"] as? [[String: Any]] ?? [] {
            if let key = metric["key"] as? String, let value = metric["value"] as? Double { metrics[key] = value }
        }
        return metrics
    }

    @Test("ingest: every message the simulator sent is emitted and stored, with a rate and latencies")
    func ingest() async throws {
        let m = try await bench(["ingest", "--events", "600", "--users", "30"])
        #expect(m["received"] == 600)
        #expect(m["stored"] == 600)
        #expect((m["events/s"] ?? 0) > 0)
        #expect((m["send→event p99"] ?? -1) >= (m["send→event p50"] ?? 0))
    }

    /// The peers' python (qq-botpy), or nil (an issue where CI requires it).
    private func peersPython() -> String? {
        if BuildPaths.peersPython == nil, BuildPaths.peersRequired { Issue.record("the peer venv is missing: run bash .ci/peers") }
        return BuildPaths.peersPython
    }

    @Test("ingest --against botpy: qqtui serve --json and the official SDK both get the whole burst; qqtui prints and stores every message")
    func ingestAgainstBotpy() async throws {
        guard let python = peersPython() else { return }
        let m = try await bench(["ingest", "--against", "botpy", "--python", python, "--events", "500"])
        #expect(m["qqtui printed"] == 500)
        #expect(m["qqtui stored"] == 500)
        #expect(m["botpy received"] == 500)
        #expect((m["ratio"] ?? 0) > 0 && (m["qqtui CPU"] ?? 0) > 0 && (m["botpy CPU"] ?? 0) > 0)
    }

    @Test("replies --against botpy: every message gets one echo from qqtui, none lost or duplicated")
    func repliesAgainstBotpy() async throws {
        guard let python = peersPython() else { return }
        let m = try await bench(["replies", "--against", "botpy", "--python", python, "--events", "150"])
        #expect(m["qqtui lost"] == 0)
        #expect(m["qqtui duplicated"] == 0)
        #expect(m["qqtui stored"] == 300, "every message and its reply")
        #expect((m["botpy acknowledged"] ?? 0) > 0)
    }

    @Test("--against takes botpy only, and --python needs it")
    func againstValidation() async throws {
        for arguments in [["ingest", "--against", "nonebot"], ["replies", "--python", "/usr/bin/python3"]] {
            let child = try ChildProcess(try #require(BuildPaths.qqtui), ["bench"] + arguments)
            let code = await child.waitForExit(timeout: .seconds(30))
            #expect(code == 64, "\(arguments): exit \(String(describing: code))")
            #expect(child.stderr.contains("--against") || child.stderr.contains("--python"), "\(child.stderr)")
        }
    }

    @Test("consoles: a reading console gets every event of both bursts, a sleeping one is held to its limit, everything is stored")
    func consoles() async throws {
        let m = try await bench(["consoles", "--events", "2000"])
        #expect(m["stored"] == 6000)
        #expect(m["lost at the reading console"] == 0)
        #expect((m["held for the sleeper"] ?? 99) <= 4)
        #expect((m["send→session (+1 asleep) p99"] ?? -1) >= (m["send→session (+1 asleep) p50"] ?? 0))
        #expect((m["send→console (1 console) p50"] ?? 0) > 0)
    }

    @Test("replies: every message gets an echo reply the platform accepted (0 lost)")
    func replies() async throws {
        let m = try await bench(["replies", "--events", "150"])
        #expect(m["sent"] == 150)
        #expect(m["failed"] == 0)
        #expect(m["lost"] == 0)
    }

    @Test("stream: deltas reach the session, the console on a pty and QQ's stream frames")
    func stream() async throws {
        let m = try await bench(["stream", "--deltas", "40", "--interval-ms", "10"])
        #expect((m["QQ frames"] ?? 0) >= 2, "an opening and a closing frame at least")
        #expect((m["frames drawn"] ?? 0) >= 1)
        #expect((m["bytes to terminal per delta"] ?? 0) > 0, "the streamed text was drawn")
        #expect(m["delta→screen p50"] != nil && m["delta→QQ frame p50"] != nil)
    }

    @Test("render: frames are built while paging a big conversation and while a reply streams")
    func render() async throws {
        let m = try await bench(["render", "--conversations", "200", "--messages", "1500"])
        #expect((m["frames"] ?? 0) > 10)
        #expect((m["bytes to terminal per delta"] ?? 0) > 0, "the streamed text was drawn at the bottom")
        #expect(m["frame build p99 (paging)"] != nil)
    }

    @Test("memory: everything ingested is paged back")
    func memory() async throws {
        let m = try await bench(["memory", "--messages", "3000"])
        #expect(m["paged"] == 3000)
        #expect((m["peak RSS"] ?? 0) > 0)
    }
}
