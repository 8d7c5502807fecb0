import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A child process for an agent: its own process group (so a cancel reaches its children too), pipes
/// for stdin/stdout/stderr, output as async chunks, and a bounded stderr tail for error messages.
final class AgentProcess: Sendable {
    /// The child's pid (also its process group id).
    let pid: pid_t
    private let stdinFD: Mutex<Int32?>
    /// Raw stdout chunks as they are read; finishes at EOF.
    let stdout: AsyncStream<Data>
    private let shared = Shared()

    /// State the reader and reaper threads update.
    private final class Shared: Sendable {
        let stderrTail = Mutex<Data>(Data())
        let stderrClosed = Mutex(false)
        let exit = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))
    }
    /// Keep at most this much of stderr (the end of it).
    static let stderrLimit = 8 * 1024

    /// Starts `argv` (argv[0] is looked up in PATH when it has no slash).
    init(argv: [String], environment: [String: String], directory: String?) throws {
        guard let program = argv.first, !program.isEmpty else { throw QQError.agent("the agent command is empty") }
        Self.ignoreSIGPIPE
        // posix_spawn_file_actions_addchdir_np is not visible to Swift here: a shell changes directory
        // and execs the program (argv passed through untouched, no quoting).
        let argv = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + argv } ?? argv
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw QQError.agent("cannot create pipes for \(program): \(String(cString: strerror(errno)))")
        }
        // The parent's ends must not leak into other children.
        for fd in [inPipe[1], outPipe[0], errPipe[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in [inPipe[0], outPipe[1], errPipe[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        InheritedDescriptors.closeAbove2(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // Default signal handling in the child (the parent ignores SIGPIPE).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let env = environment.map { "\($0.key)=\($0.value)" }
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) }; for p in cEnv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, argv[0], &actions, &attributes, &cArgs, &cEnv)
        for fd in [inPipe[0], outPipe[1], errPipe[1]] { close(fd) }
        guard rc == 0 else {
            for fd in [inPipe[1], outPipe[0], errPipe[0]] { close(fd) }
            throw QQError.agent("cannot start \(program): \(String(cString: strerror(rc)))")
        }
        pid = child
        let childPID = child
        stdinFD = Mutex(inPipe[1])
        let (stream, continuation) = AsyncStream.makeStream(of: Data.self, bufferingPolicy: .unbounded)
        stdout = stream
        Self.readLoop(outPipe[0]) { data in
            if let data { continuation.yield(data) } else { continuation.finish() }
        }
        let shared = self.shared
        Self.readLoop(errPipe[0]) { data in
            guard let data else { shared.stderrClosed.withLock { $0 = true }; return }
            shared.stderrTail.withLock { t in
                t.append(data)
                if t.count > Self.stderrLimit { t.removeFirst(t.count - Self.stderrLimit) }
            }
        }
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(childPID, &status, 0) < 0 && errno == EINTR {}
            // Normal exit → its code; killed by a signal → 128 + signal, as shells report it.
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            let waiters = shared.exit.withLock { e in
                e.status = code
                defer { e.waiters.removeAll() }
                return e.waiters
            }
            for w in waiters { w.resume(returning: code) }
        }
    }

    /// Writing to an agent that died must fail with EPIPE, not kill us: SIGPIPE is ignored once, unless
    /// the host installed a handler of its own.
    private static let ignoreSIGPIPE: Void = {
        var current = sigaction()
        if sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil {
            signal(SIGPIPE, SIG_IGN)
        }
    }()

    /// Reads `fd` on its own thread until EOF; `body(nil)` at the end.
    private static func readLoop(_ fd: Int32, _ body: @escaping @Sendable (Data?) -> Void) {
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 { body(Data(buffer[0..<n])); continue }
                if n < 0 && errno == EINTR { continue }
                break
            }
            close(fd)
            body(nil)
        }
    }

    /// Writes to the child's stdin; false when it is closed or the child stopped reading.
    ///
    /// A child that exits without reading must not kill qqtui with SIGPIPE: the signal is blocked on
    /// this thread for the write, and one it raised is taken off the thread before unblocking.
    @discardableResult
    func write(_ data: Data) -> Bool {
        stdinFD.withLock { fd in
            guard let open = fd else { return false }
            var pipeSignal = sigset_t(), previous = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
            defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
            let written = data.withUnsafeBytes { raw -> Bool in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(open, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return false }
                    offset += n
                }
                return true
            }
            if !written {
                var none = timespec(tv_sec: 0, tv_nsec: 0)
                while sigtimedwait(&pipeSignal, nil, &none) == SIGPIPE {}
            }
            return written
        }
    }

    /// Closes stdin (the child sees EOF).
    func closeStdin() {
        stdinFD.withLock { fd in
            if let open = fd { close(open) }
            fd = nil
        }
    }

    /// Sends `signal` to the child's whole process group.
    func signalGroup(_ signal: Int32) {
        guard exitStatus == nil else { return }
        _ = kill(-pid, signal)
    }

    /// The exit code once it exited (128 + n when killed by signal n).
    var exitStatus: Int32? { shared.exit.withLock { $0.status } }

    /// Waits for the exit code.
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { (c: CheckedContinuation<Int32, Never>) in
            let done: Int32? = shared.exit.withLock { e in
                if let s = e.status { return s }
                e.waiters.append(c)
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }

    /// Waits up to `timeout` on `clock`; nil if still running.
    func waitForExit(timeout: Duration, clock: SessionClock = .continuous) async -> Int32? {
        if let s = exitStatus { return s }
        let deadline = clock.now + timeout
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(until: deadline) }
            group.addTask { [self] in
                // The exit is noticed by polling: the reaper's waiters cannot be cancelled.
                while exitStatus == nil, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
            }
            await group.next()
            group.cancelAll()
        }
        return exitStatus
    }

    /// Waits up to `timeout` until stderr reached EOF, so ``stderrText`` holds the child's last words.
    func waitForStderr(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !shared.stderrClosed.withLock({ $0 }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// SIGTERM to the group, SIGKILL after `grace` (on `clock`); returns once it exited.
    func terminate(grace: Duration, clock: SessionClock = .continuous) async {
        closeStdin()
        signalGroup(SIGTERM)
        if await waitForExit(timeout: grace, clock: clock) == nil {
            signalGroup(SIGKILL)
        }
        _ = await waitForExit()
        // Grandchildren that left the group's leader behind still get the KILL.
        _ = kill(-pid, SIGKILL)
    }

    /// The last bytes the child wrote to stderr, as text (trimmed).
    var stderrText: String {
        String(decoding: shared.stderrTail.withLock { $0 }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
