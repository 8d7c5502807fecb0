import Foundation
import QQSession
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A real peer server (a Python fixture, fakellm) as a child process: output captured, every wait
/// bounded, and killed by its pid when the test ends.
final class PeerProcess: Sendable {
    private let process: SpawnedProcess
    private let output = Captured()
    /// The read ends of its stdout and stderr (their handlers fill `output`).
    private let pipes: [FileHandle]
    /// The child's pid.
    let pid: Int32

    /// Starts `executable` with `arguments` in `directory`.
    init(_ executable: String, _ arguments: [String], directory: String? = nil) throws {
        let out = try SpawnedProcess.pipe(), err = try SpawnedProcess.pipe()
        defer { close(out.write); close(err.write) }
        do {
            process = try SpawnedProcess([executable] + arguments, directory: directory, stdout: out.write, stderr: err.write)
        } catch {
            close(out.read)
            close(err.read)
            throw error
        }
        pid = process.pid
        let outHandle = FileHandle(fileDescriptor: out.read, closeOnDealloc: true)
        let errHandle = FileHandle(fileDescriptor: err.read, closeOnDealloc: true)
        pipes = [outHandle, errHandle]
        outHandle.readabilityHandler = { [output] h in
            let d = h.availableData
            if !d.isEmpty { output.text.withLock { $0.out += String(decoding: d, as: UTF8.self) } }
        }
        errHandle.readabilityHandler = { [output] h in
            let d = h.availableData
            if !d.isEmpty { output.text.withLock { $0.err += String(decoding: d, as: UTF8.self) } }
        }
    }

    /// Everything written to stdout so far.
    var stdout: String { output.text.withLock { $0.out } }
    /// The last 2 000 characters written to stderr, for failure messages.
    var stderrTail: String { String(output.text.withLock { $0.err }.suffix(2000)) }

    /// Output filled by the pipes' handlers (a class, so the handlers can hold it).
    private final class Captured: Sendable {
        let text = Mutex<(out: String, err: String)>(("", ""))
    }

    /// The first complete stdout line, waiting at most `timeout`; nil when it does not come.
    func firstLine(timeout: Duration = .seconds(15)) async -> String? {
        await eventually(timeout: timeout) {
            let out = self.stdout
            return out.firstIndex(of: "\n").map { String(out[..<$0]) }
        }
    }

    /// The port a uvicorn server started with `--port 0` says it listens on ("Uvicorn running on
    /// http://host:PORT" on stderr), waiting at most `timeout`; nil when it does not say. Asking the
    /// server for the port it bound, rather than handing it one found free beforehand, leaves no
    /// moment in which another test's server can take that port. Nil at once when the process exits.
    func uvicornPort(timeout: Duration = .seconds(30)) async -> Int? {
        let found: Int?? = await eventually(timeout: timeout) {
            if let port = Self.uvicornPort(in: self.output.text.withLock { $0.err }) { return .some(port) }
            return self.process.isRunning ? nil : .some(nil)
        }
        return found ?? nil
    }

    /// The port in a complete "Uvicorn running on http://host:PORT " line of `log`, if there is one.
    private static func uvicornPort(in log: String) -> Int? {
        guard let marker = log.range(of: "Uvicorn running on http://") else { return nil }
        let rest = log[marker.upperBound...]
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let after = rest[rest.index(after: colon)...]
        let digits = after.prefix { $0.isNumber }
        guard after.dropFirst(digits.count).first == " ", let port = Int(digits), port > 0 else { return nil }
        return port
    }

    /// SIGKILL to the pid, then reaps it (bounded).
    func kill() async {
        process.signal(SIGKILL)
        _ = await eventually(timeout: .seconds(5)) { self.process.isRunning ? nil : true }
    }

    /// Runs `body`, then kills the process, whatever `body` did.
    func killing<T>(after body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await kill()
            return result
        } catch {
            await kill()
            throw error
        }
    }

    /// The Python of the peer venv (`bash .ci/peers`), or nil when it is missing.
    static var peersPython: String? {
        let path = packageRoot.appendingPathComponent(".build/peers/venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// True when CI demands the peers (`QQTUI_REQUIRE_PEERS=1`): a missing venv then fails instead of skipping.
    static var peersRequired: Bool { ProcessInfo.processInfo.environment["QQTUI_REQUIRE_PEERS"] == "1" }

    /// The package root (from this file's path).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Calls `check` every 20 ms until it returns a value or `timeout` passes.
func eventually<T>(timeout: Duration, _ check: () async -> T?) async -> T? {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if let value = await check() { return value }
        guard clock.now < deadline else { return nil }
        try? await Task.sleep(for: .milliseconds(20))
    }
}
