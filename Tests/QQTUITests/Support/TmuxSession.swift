import Foundation
import QQSession

/// A real terminal for end-to-end tests: a private tmux server (its own socket, no user config)
/// running one command; keys go in with `send-keys`, the screen comes out with `capture-pane`.
/// `stop()` kills the command by its pid and the server.
final class TmuxSession: @unchecked Sendable {
    // Invariant: only immutable state; tmux itself serialises commands.
    let socket = "qqtui-test-\(UUID().uuidString.prefix(8))"
    let tmux: String

    /// The tmux binary, if installed.
    static var binary: String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/tmux") {
            return dir + "/tmux"
        }
        return nil
    }

    /// Starts `command` (run by /bin/sh) in a `cols`×`rows` window with `environment` added.
    init(command: String, cols: Int = 120, rows: Int = 35, environment: [String: String] = [:]) throws {
        guard let tmux = Self.binary else { throw TmuxError(message: "tmux is not installed") }
        self.tmux = tmux
        var args = ["-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "\(cols)", "-y", "\(rows)"]
        // A sanitizer run (scripts/sanitize, CI) passes its options on to the program under test.
        var environment = environment
        for key in ["ASAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"] where environment[key] == nil {
            environment[key] = ProcessInfo.processInfo.environment[key]
        }
        for (k, v) in environment.sorted(by: { $0.key < $1.key }) { args += ["-e", "\(k)=\(v)"] }
        args.append(command)
        let (code, err) = run(args)
        guard code == 0 else { throw TmuxError(message: "tmux new-session failed: \(err)") }
        _ = run(["set-option", "-t", "t", "remain-on-exit", "on"])
    }

    struct TmuxError: Error { var message: String }

    /// Runs tmux with `args` and waits for it (posix_spawn + waitpid: the server it may start keeps
    /// running detached; its output goes to a file, never a pipe the server would hold open).
    @discardableResult
    private func run(_ args: [String]) -> (Int32, String) {
        let path = NSTemporaryDirectory() + "tmux-out-\(UUID().uuidString)"
        defer { unlink(path) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The tmux server outlives this call: it must not keep other tests' sockets open.
        InheritedDescriptors.closeAbove2(&actions)
        let argv: [UnsafeMutablePointer<CChar>?] = ([tmux, "-L", socket] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let settings: [String] = ["PATH=/usr/bin:/bin", "TMUX_TMPDIR=" + NSTemporaryDirectory()]
        let env: [UnsafeMutablePointer<CChar>?] = settings.map { strdup($0) } + [nil]
        defer { env.forEach { free($0) } }
        // A tmux server started with SIGCHLD and SIGTERM blocked never reaps its pane and outlives kill-server.
        var pid: pid_t = 0
        let spawned = SpawnSignals.withDefaults { posix_spawn(&pid, tmux, &actions, &$0, argv, env) }
        guard spawned == 0 else { return (-1, "cannot start tmux") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let data = FileManager.default.contents(atPath: path) ?? Data()
        return ((status >> 8) & 0xFF, String(decoding: data, as: UTF8.self))
    }

    /// The screen as text (blocks the caller while tmux runs: for failure messages; waits use
    /// ``capture()``).
    var screen: String { run(["capture-pane", "-p", "-t", "t"]).1 }

    /// Where tmux commands run from async code: a GCD thread, never the Swift concurrency pool. The
    /// pool has one thread per core; a test that blocked them in waitpid while polling the screen
    /// starved every other test's timers and sockets on a loaded 2-core machine.
    private static let queue = DispatchQueue(label: "qqtui.test.tmux", attributes: .concurrent)

    @discardableResult
    private func runOffPool(_ args: [String]) async -> (Int32, String) {
        await withCheckedContinuation { continuation in
            Self.queue.async { continuation.resume(returning: self.run(args)) }
        }
    }

    /// The screen as text, captured off the concurrency pool.
    func capture() async -> String { await runOffPool(["capture-pane", "-p", "-t", "t"]).1 }

    /// Sends keys by tmux name (`Enter`, `C-a`, `PageUp`).
    func press(_ keys: String...) async { await runOffPool(["send-keys", "-t", "t"] + keys) }

    /// Pastes text the way a terminal does: in one block, inside bracketed-paste marks when the program
    /// asked for them (qqtui does), line breaks as CR.
    func paste(_ text: String) async {
        await runOffPool(["set-buffer", "-b", "p", "--", text])
        await runOffPool(["paste-buffer", "-p", "-d", "-b", "p", "-t", "t"])
    }

    /// Writes `bytes` to the program exactly as given, in one write to its terminal: no paste marks,
    /// no line-break replacement, a character cut off at the end left cut.
    func write(_ bytes: [UInt8]) async {
        let path = NSTemporaryDirectory() + "/qqtui-tmux-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        await runOffPool(["load-buffer", "-b", "w", path])
        await runOffPool(["paste-buffer", "-r", "-d", "-b", "w", "-t", "t"])
    }

    /// Types text literally (any Unicode).
    func type(_ text: String) async { await runOffPool(["send-keys", "-t", "t", "-l", text]) }

    /// Appends a line to `path` for every bell the program rings (tmux's alert-bell hook).
    func recordBells(to path: String) async {
        await runOffPool(["set-option", "-g", "monitor-bell", "on"])
        await runOffPool(["set-option", "-g", "bell-action", "any"])
        await runOffPool(["set-hook", "-g", "alert-bell", "run-shell \"echo bell >> '\(path)'\""])
    }

    /// Resizes the window.
    func resize(cols: Int, rows: Int) async { await runOffPool(["resize-window", "-t", "t", "-x", "\(cols)", "-y", "\(rows)"]) }

    /// Waits until the screen satisfies `predicate`; false on timeout.
    func waitFor(timeout: Duration = .seconds(20), _ predicate: (String) -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if predicate(await capture()) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return predicate(await capture())
    }

    /// The pid of the pane's process (the command itself when it was started with `exec`).
    func panePID() async -> Int32? {
        await runOffPool(["list-panes", "-a", "-F", "#{pane_pid}"]).1.split(separator: "\n").compactMap { Int32($0) }.first
    }

    /// Kills the command by its pid, then the server.
    func stop() {
        let pids = run(["list-panes", "-a", "-F", "#{pane_pid}"]).1.split(separator: "\n").compactMap { Int32($0) }
        for pid in pids {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        run(["kill-server"])
    }
}
