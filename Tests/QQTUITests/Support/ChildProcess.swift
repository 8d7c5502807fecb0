import Foundation
import Synchronization

/// A real child process for tests: stdout/stderr captured line by line, every wait bounded,
/// and always killed by its pid at the end.
final class ChildProcess: @unchecked Sendable {
    // Invariant: `process` is only read after `run()`; its own methods are thread-safe.
    private let process: Process
    private let output = OutputBuffer()
    let pid: Int32

    /// Starts `executable` with `arguments`.
    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
         stdin: FileHandle? = nil) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        // Never the user's real data: default store, logs and attachments go to a scratch folder.
        var env = environment ?? ProcessInfo.processInfo.environment
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-child-\(UUID().uuidString)").path
        env["XDG_DATA_HOME"] = scratch + "/data"
        env["XDG_STATE_HOME"] = scratch + "/state"
        env["XDG_CONFIG_HOME"] = scratch + "/config"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = stdin ?? FileHandle.nullDevice
        let output = self.output
        out.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if d.isEmpty { h.readabilityHandler = nil; output.closed.withLock { $0.out = true } }
            else { output.text.withLock { $0.out += String(decoding: d, as: UTF8.self) } }
        }
        err.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if d.isEmpty { h.readabilityHandler = nil; output.closed.withLock { $0.err = true } }
            else { output.text.withLock { $0.err += String(decoding: d, as: UTF8.self) } }
        }
        try p.run()
        process = p
        pid = p.processIdentifier
    }

    var stdout: String { output.text.withLock { $0.out } }
    var stderr: String { output.text.withLock { $0.err } }
    var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    var isRunning: Bool { process.isRunning }

    /// Waits until `predicate(stdout lines)` holds; false on timeout.
    func waitForOutput(timeout: Duration = .seconds(20), _ predicate: ([String]) -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if predicate(stdoutLines) { return true }
            if !process.isRunning { return predicate(stdoutLines) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits for the process to exit; nil on timeout.
    func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if !process.isRunning {
                process.waitUntilExit()
                // Its last output is in once both pipes reached their end (a grandchild that kept
                // them open is not waited for past the deadline).
                while clock.now < deadline, !output.closed.withLock({ $0.out && $0.err }) {
                    try? await Task.sleep(for: .milliseconds(5))
                }
                return process.terminationStatus
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Sends `signal` to the pid.
    func send(_ signal: Int32) { if process.isRunning { kill(pid, signal) } }

    /// SIGTERM, then SIGKILL if it does not go within `grace`.
    @discardableResult
    func stop(grace: Duration = .seconds(5)) async -> Int32? {
        send(SIGTERM)
        if let code = await waitForExit(timeout: grace) { return code }
        send(SIGKILL)
        return await waitForExit(timeout: .seconds(5))
    }
}

/// Captured output, filled by the pipes' handlers.
final class OutputBuffer: Sendable {
    let text = Mutex<(out: String, err: String)>(("", ""))
    /// Each pipe reached its end.
    let closed = Mutex<(out: Bool, err: Bool)>((false, false))
}

/// Where the test build put things.
enum BuildPaths {
    /// The package root (from this file's path).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `qqtui` binary built next to the test bundle.
    static var qqtui: String? {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = runner.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("qqtui").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let fallback = packageRoot.appendingPathComponent(".build/debug/qqtui").path
        return FileManager.default.isExecutableFile(atPath: fallback) ? fallback : nil
    }

    /// The Python venv with the QQ SDK peers (`bash .ci/peers`).
    static var peersPython: String? {
        let path = packageRoot.appendingPathComponent(".build/peers/venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// True when CI demands the peers (`QQTUI_REQUIRE_PEERS=1`): then a missing venv fails instead of skipping.
    static var peersRequired: Bool { ProcessInfo.processInfo.environment["QQTUI_REQUIRE_PEERS"] == "1" }
}
