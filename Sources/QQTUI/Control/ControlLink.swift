import Foundation
import QQSession
import Synchronization

/// A console's end of the control protocol over a pair of file descriptors: a Unix socket to serve,
/// or the pipes of `ssh host qqtui attach --stdio`. Lines are read on a thread of its own (blocking
/// reads never touch the Swift concurrency pool) and written under a lock.
final class ControlLink: Sendable {
    private let readFD: Int32
    private let writeFD: Int32
    private let writeLock = Mutex(())
    private let closed = Atomic<Bool>(false)
    private let reading = Atomic<Bool>(false)
    /// Bytes read past the handshake's line (the reading thread starts with them).
    private let leftover = Mutex(Data())
    /// The ssh child, when the link runs through one (killed by its pid on close).
    private let child: pid_t?

    private init(readFD: Int32, writeFD: Int32, child: pid_t? = nil) {
        self.readFD = readFD
        self.writeFD = writeFD
        self.child = child
    }

    deinit {
        close()
        if !reading.load(ordering: .acquiring) { Foundation.close(readFD) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    // MARK: - Opening

    /// Connects to serve's socket at `path`.
    static func connect(path: String) throws -> ControlLink {
        let fd = try connectedSocket(path)
        return ControlLink(readFD: fd, writeFD: fd)
    }

    /// True when a serve accepts connections at `path` (a leftover socket file refuses them).
    static func isAnswering(_ path: String) -> Bool {
        guard let fd = try? connectedSocket(path) else { return false }
        Foundation.close(fd)
        return true
    }

    static func connectedSocket(_ path: String) throws -> Int32 {
        guard path.utf8.count <= ControlSocketPath.maxLength else {
            throw Failure(description: "the socket path \(path) is longer than \(ControlSocketPath.maxLength) bytes")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
            raw[min(bytes.count, raw.count - 1)] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = errno == ENOENT || errno == ECONNREFUSED ? "nothing is serving there" : String(cString: strerror(errno))
            Foundation.close(fd)
            throw Failure(description: "\(path): \(reason)")
        }
        return fd
    }

    /// Runs `argv` (ssh) with its stdin and stdout as the link; its stderr stays the console's log.
    static func spawn(_ argv: [String], stderrPath: String?) throws -> ControlLink {
        var toChild: [Int32] = [-1, -1], fromChild: [Int32] = [-1, -1]
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else { throw Failure(description: "cannot create pipes") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o600)
        for fd in toChild + fromChild { posix_spawn_file_actions_addclose(&actions, fd) }
        InheritedDescriptors.closeAbove2(&actions)
        let args: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, argv[0], &actions, nil, args, environ)
        Foundation.close(toChild[0])
        Foundation.close(fromChild[1])
        guard result == 0 else {
            Foundation.close(toChild[1])
            Foundation.close(fromChild[0])
            throw Failure(description: "cannot run \(argv[0]): \(String(cString: strerror(result)))")
        }
        for fd in [toChild[1], fromChild[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return ControlLink(readFD: fromChild[0], writeFD: toChild[1], child: pid)
    }

    // MARK: - Lines

    /// Says `hello` and reads serve's answer (`welcome`, `refused` or `error`), waiting at most `timeout`.
    func handshake(_ hello: ClientLine, timeout: Duration = .seconds(15)) throws -> ServerLine {
        guard send(hello) else { throw Failure(description: "cannot write to serve") }
        var pending = Data()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        let deadline = ContinuousClock.now + timeout
        while pending.firstIndex(of: 0x0A) == nil {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw Failure(description: "serve did not answer within \(timeout)") }
            var fds = [pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 1, Int32(left / .milliseconds(1)) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let n = read(readFD, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "serve closed the connection before answering") }
            pending.append(contentsOf: chunk[0..<n])
            guard pending.count <= ControlProtocol.maxLine else { throw Failure(description: "serve's answer is too long") }
        }
        let newline = pending.firstIndex(of: 0x0A)!
        let first = pending[pending.startIndex..<newline]
        leftover.withLock { $0 = Data(pending[(newline + 1)...]) }
        guard let line = try? ControlProtocol.decoder.decode(ServerLine.self, from: first) else {
            throw Failure(description: "serve answered something this qqtui cannot read: \(String(decoding: first.prefix(200), as: UTF8.self))")
        }
        return line
    }

    /// Writes one line; false once the link is gone.
    @discardableResult
    func send(_ line: ClientLine) -> Bool {
        let data = ControlProtocol.line(line)
        return writeLock.withLock { _ in
            guard !closed.load(ordering: .acquiring) else { return false }
            return data.withUnsafeBytes { raw -> Bool in
                var offset = 0
                while offset < raw.count {
                    let n = write(writeFD, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    offset += n
                }
                return true
            }
        }
    }

    /// Reads lines on a thread of its own until the link ends, calling `onLine` for each (raw bytes)
    /// and `onEnd` once with the reason.
    func startReading(onLine: @escaping @Sendable (Data) -> Void, onEnd: @escaping @Sendable (String) -> Void) {
        let fd = readFD
        reading.store(true, ordering: .releasing)
        let thread = Thread { [self] in
            var pending = self.leftover.withLock { $0 }
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            var reason = "serve closed the connection"
            reading: while true {
                if pending.firstIndex(of: 0x0A) == nil {
                    let n = read(fd, &chunk, chunk.count)
                    if n < 0 {
                        if errno == EINTR { continue }
                        reason = String(cString: strerror(errno))
                        break
                    }
                    if n == 0 { break }
                    pending.append(contentsOf: chunk[0..<n])
                }
                var start = pending.startIndex
                while let newline = pending[start...].firstIndex(of: 0x0A) {
                    onLine(pending[start..<newline])
                    start = newline + 1
                }
                pending.removeSubrange(pending.startIndex..<start)
                if pending.count > ControlProtocol.maxLine {
                    reason = "serve sent a line longer than \(ControlProtocol.maxLine) bytes"
                    break reading
                }
            }
            self.close()
            Foundation.close(fd)
            onEnd(reason)
        }
        thread.name = "qqtui-link"
        thread.start()
    }

    /// Closes the link (and kills the ssh child by its pid); the reading thread closes its end.
    func close() {
        writeLock.withLock { _ in
            guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
            shutdown(readFD, Int32(SHUT_RDWR))
            if readFD != writeFD { Foundation.close(writeFD) }
            if let child {
                kill(child, SIGTERM)
                DispatchQueue.global().async {
                    var status: Int32 = 0
                    waitpid(child, &status, 0)
                }
            }
        }
    }
}
