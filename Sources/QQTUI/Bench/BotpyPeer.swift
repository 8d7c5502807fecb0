import Foundation

/// The official Python SDK, qq-botpy, as the other client of a side-by-side benchmark: it runs
/// `Tests/Peers/botpy_bench.py` with the test peers' venv (`bash .ci/peers` makes it) against the same
/// simulator, and reports what it received and answered.
final class BotpyPeer: Sendable {
    /// What the peer saw, from its last line.
    struct Report: Sendable {
        var received: Int
        var replied: Int
        var failed: Int
        var firstNs: Int64
        var lastNs: Int64
        var lastReplyNs: Int64
        var version: String
        /// CPU seconds botpy used between READY and its report.
        var cpuSeconds: Double
        /// Why its replies failed (botpy's exception, at most five kinds), with how often.
        var errors: [String: Int] = [:]
    }

    private let child: LineChild
    private let lines: AsyncStream<String?>
    private let readyCPU: Double

    private init(child: LineChild, lines: AsyncStream<String?>, readyCPU: Double) {
        self.child = child
        self.lines = lines
        self.readyCPU = readyCPU
    }

    /// The python with botpy and the peer script: `python` when given, else the venv under the
    /// package's `.build/peers`, found from this executable or the current folder.
    static func locate(python: String?) throws -> (python: String, script: String) {
        guard let root = packageRoot() else {
            throw BenchError("--against botpy needs the qqtui source tree (Tests/Peers/botpy_bench.py); run it from the checkout")
        }
        let script = root + "/Tests/Peers/botpy_bench.py"
        let interpreter = python ?? root + "/.build/peers/venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: interpreter) else {
            throw BenchError("no python with qq-botpy at \(interpreter): run `bash .ci/peers` first (or pass --python)")
        }
        return (interpreter, script)
    }

    private static func packageRoot() -> String? {
        var candidates = [URL(fileURLWithPath: SimChild.ownExecutable()).deletingLastPathComponent()]
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        for start in candidates {
            var dir = start
            for _ in 0..<6 {
                if FileManager.default.fileExists(atPath: dir.path + "/Tests/Peers/botpy_bench.py") { return dir.path }
                dir = dir.deletingLastPathComponent()
            }
        }
        return nil
    }

    /// Starts the peer against `sim` and waits until botpy is READY (30 s at most).
    static func start(sim: SimChild, mode: String, count: Int, tag: String, python: String?) async throws -> BotpyPeer {
        let (interpreter, script) = try locate(python: python)
        let (lines, continuation) = AsyncStream.makeStream(of: String?.self)
        let child = try LineChild(executable: interpreter, arguments: [
            script, "--base", sim.baseURL, "--app-id", sim.appID, "--secret", sim.appSecret,
            "--mode", mode, "--count", String(count), "--tag", tag,
        ], environment: ["PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"]) { line in
            continuation.yield(line)
            if line == nil { continuation.finish() }
        }
        guard let first = await nextObject(lines, timeout: .seconds(30)), first["ready"] as? Bool == true else {
            await child.stop(signal: SIGKILL)
            throw BenchError("qq-botpy did not reach READY against the simulator in 30 s")
        }
        return BotpyPeer(child: child, lines: lines, readyCPU: (first["cpu_s"] as? Double) ?? 0)
    }

    /// The peer's report once it has counted everything (or stopped making progress).
    func report(timeout: Duration) async throws -> Report {
        guard let o = await Self.nextObject(lines, timeout: timeout), let received = o["received"] as? Int else {
            await child.stop(signal: SIGKILL)
            throw BenchError("qq-botpy gave no report within \(timeout)")
        }
        await child.stop()
        func ns(_ key: String) -> Int64 { (o[key] as? NSNumber)?.int64Value ?? 0 }
        return Report(received: received, replied: o["replied"] as? Int ?? 0, failed: o["failed"] as? Int ?? 0,
                      firstNs: ns("first_ns"), lastNs: ns("last_ns"), lastReplyNs: ns("last_reply_ns"),
                      version: o["version"] as? String ?? "?", cpuSeconds: ((o["cpu_s"] as? Double) ?? 0) - readyCPU,
                      errors: o["errors"] as? [String: Int] ?? [:])
    }

    /// Stops the peer by its pid.
    func stop() async { await child.stop(signal: SIGKILL) }

    private static func nextObject(_ lines: AsyncStream<String?>, timeout: Duration) async -> [String: Any]? {
        let line = await withTimeout(seconds: timeout.seconds) { () -> String? in
            for await line in lines {
                guard let line else { return nil }
                if line.hasPrefix("{") { return line }
            }
            return nil
        } ?? nil
        guard let data = line?.data(using: .utf8) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }
}
