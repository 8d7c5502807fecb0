import Foundation
import QQSession
import Synchronization

/// A real child process for tests: stdout/stderr captured line by line, every wait bounded,
/// and always killed by its pid at the end.
///
/// Started with posix_spawn, not Foundation's `Process`: `Process.run()` crashes now and then on
/// Linux when tests start children from several threads at once (a memmove on a freed buffer inside
/// it, swift-corelibs-foundation#5472; it took the whole suite down in CI about once in twenty runs).
final class ChildProcess: @unchecked Sendable {
    // Invariant: `pid` is set once; the exit status and output are behind locks.
    private let output = OutputBuffer()
    private let exit = Mutex<Int32?>(nil)
    let pid: Int32

    /// Starts `executable` with `arguments`.
    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
         stdin: FileHandle? = nil) throws {
        // Never the user's real data: default store, logs and attachments go to a scratch folder.
        var env = environment ?? ProcessInfo.processInfo.environment
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-child-\(UUID().uuidString)").path
        env["XDG_DATA_HOME"] = scratch + "/data"
        env["XDG_STATE_HOME"] = scratch + "/state"
        env["XDG_CONFIG_HOME"] = scratch + "/config"
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw SpawnError(message: "cannot create pipes") }
        // Close-on-exec here, so other tests' children never hold these pipes open (dup2 clears it
        // on the child's own 1 and 2).
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin.fileDescriptor, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        // Other tests' sockets stay theirs: a child holding one keeps it open after its test closed it.
        InheritedDescriptors.closeAbove2(&actions)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var child: pid_t = 0
        // A serve must see SIGTERM: the child starts with no signal blocked.
        let result = SpawnSignals.withDefaults { posix_spawn(&child, executable, &actions, &$0, argv, envp) }
        close(out[1])
        close(err[1])
        guard result == 0 else {
            close(out[0])
            close(err[0])
            throw SpawnError(message: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
        let output = self.output
        Self.drain(out[0], into: output, isErr: false)
        Self.drain(err[0], into: output, isErr: true)
        let spawned = child
        // Reaped on a thread of its own (never the concurrency pool): the exit status, or the signal.
        Thread.detachNewThread { [self] in
            var status: Int32 = 0
            while waitpid(spawned, &status, 0) < 0, errno == EINTR {}
            let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : status & 0x7F
            self.exit.withLock { $0 = code }
        }
    }

    struct SpawnError: Error { var message: String }

    /// Reads `fd` to its end on a thread of its own.
    private static func drain(_ fd: Int32, into output: OutputBuffer, isErr: Bool) {
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { break }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                output.text.withLock { if isErr { $0.err += text } else { $0.out += text } }
            }
            close(fd)
            output.closed.withLock { if isErr { $0.err = true } else { $0.out = true } }
        }
    }

    var stdout: String { output.text.withLock { $0.out } }
    var stderr: String { output.text.withLock { $0.err } }
    var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    var isRunning: Bool { exit.withLock { $0 == nil } }

    /// Waits until `predicate(stdout lines)` holds; false on timeout.
    func waitForOutput(timeout: Duration = .seconds(20), _ predicate: ([String]) -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if predicate(stdoutLines) { return true }
            if !isRunning { return predicate(stdoutLines) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits for the process to exit; nil on timeout.
    func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let code = exit.withLock({ $0 }) {
                // Its last output is in once both pipes reached their end (a grandchild that kept
                // them open is not waited for past the deadline).
                while clock.now < deadline, !output.closed.withLock({ $0.out && $0.err }) {
                    try? await Task.sleep(for: .milliseconds(5))
                }
                return code
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Sends `signal` to the pid.
    func send(_ signal: Int32) { if isRunning { kill(pid, signal) } }

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
