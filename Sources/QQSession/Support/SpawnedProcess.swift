import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A child process started with `posix_spawn`: its stdin, stdout and stderr from the descriptors
/// given (or /dev/null), no other descriptor inherited, default handling of the signals the parent
/// ignores or blocks. One thread waits for it; its exit code is then known, and ``signal(_:)`` never
/// reaches a pid that was reaped (and may belong to another process by then).
///
/// Not Foundation's `Process`: on Linux with Swift 6.3, `Process.run()` copies each `/proc/self/fd`
/// entry as a 256-byte name and crashes now and then when one sits at the end of readdir's buffer
/// (swift-corelibs-foundation#5472). It took the whole test suite down in CI, and the console runs
/// `[notify] command` for every new message.
package final class SpawnedProcess: Sendable {
    /// The child's pid.
    package let pid: pid_t
    private let state = ExitState()

    /// The exit code once the child is reaped, and who waits for it (a class: the reaper holds it).
    private final class ExitState: Sendable {
        let exit = Mutex<(code: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))
    }

    /// Why a child could not start.
    package struct SpawnError: Error, CustomStringConvertible {
        package var description: String
    }

    /// Starts `argv` (its first element is looked up in PATH when it has no slash). `environment`:
    /// the child's whole environment (nil: this process's). `directory`: where it runs (nil: here).
    /// `stdin`, `stdout`, `stderr`: descriptors the child gets as 0, 1 and 2 (nil: /dev/null); the
    /// caller still owns and closes them.
    package init(_ argv: [String], environment: [String: String]? = nil, directory: String? = nil,
                 stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil) throws {
        guard let program = argv.first, !program.isEmpty else { throw SpawnError(description: "no program to start") }
        // posix_spawn_file_actions_addchdir_np is not visible to Swift here: a shell changes directory
        // and execs the program (argv passed through untouched, no quoting).
        let argv = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + argv } ?? argv
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            if let fd {
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        InheritedDescriptors.closeAbove2(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) }; for p in cEnv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, argv[0], &actions, &attributes, &cArgs, &cEnv)
        guard rc == 0 else { throw SpawnError(description: "cannot start \(program): \(String(cString: strerror(rc)))") }
        pid = child
        let state = self.state, started = child
        Thread.detachNewThread {
            // Wait without reaping, then reap under the lock `signal` takes: the pid stays this
            // child's for as long as anyone may signal it.
            var info = siginfo_t()
            while waitid(P_PID, id_t(started), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
            let waiters = state.exit.withLock { e in
                var status: Int32 = 0
                while waitpid(started, &status, 0) < 0 && errno == EINTR {}
                // Normal exit → its code; killed by a signal → 128 + signal, as shells report it.
                e.code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                defer { e.waiters = [] }
                return e.waiters.map { ($0, e.code ?? 0) }
            }
            for (waiter, code) in waiters { waiter.resume(returning: code) }
        }
    }

    /// A pipe for a child's output, both ends close-on-exec (the child's copy, made by dup2, is not):
    /// no other child inherits either end.
    package static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard Glibc.pipe(&fds) == 0 else { throw SpawnError(description: "cannot create a pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// The exit code (128 + the signal for a child a signal ended); nil while it runs.
    package var exitCode: Int32? { state.exit.withLock { $0.code } }

    /// True until the child has ended and been reaped.
    package var isRunning: Bool { exitCode == nil }

    /// Sends `signal` to the child, unless it has already been reaped.
    package func signal(_ signal: Int32) {
        state.exit.withLock { e in
            if e.code == nil { _ = kill(pid, signal) }
        }
    }

    /// Waits for the child to end; its exit code.
    package func wait() async -> Int32 {
        await withCheckedContinuation { c in
            let code: Int32? = state.exit.withLock { e in
                if e.code == nil { e.waiters.append(c) }
                return e.code
            }
            if let code { c.resume(returning: code) }
        }
    }

    /// Stops the child: `signal`, then SIGKILL if it still runs after `grace`; its exit code.
    @discardableResult
    package func stop(signal first: Int32 = SIGTERM, grace: Duration = .seconds(3)) async -> Int32 {
        signal(first)
        let killer = Task {
            try await Task.sleep(for: grace)
            signal(SIGKILL)
        }
        let code = await wait()
        killer.cancel()
        return code
    }
}
