import Foundation

/// `qqtui attach --stdio`: copies stdin to serve's socket and the socket to stdout, byte for byte,
/// until either side ends (the far end of `qqtui attach --ssh`).
enum StdioRelay {
    static func run(path: String) -> Int32 {
        let fd: Int32
        do {
            fd = try ControlLink.connectedSocket(path)
        } catch {
            StandardOutput.error("qqtui: cannot attach to serve at \(path): \(error)")
            return 1
        }
        defer { close(fd) }
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let ready = poll(&fds, 2, -1)
            if ready < 0 { if errno == EINTR { continue } else { return 1 } }
            for (i, (from, to)) in [(Int32(0), fd), (fd, Int32(1))].enumerated() where fds[i].revents != 0 {
                let n = read(from, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    // stdin ended: the console left. The socket ended: serve went away.
                    return 0
                }
                var offset = 0
                while offset < n {
                    let w = buffer.withUnsafeBytes { write(to, $0.baseAddress! + offset, n - offset) }
                    if w < 0 { if errno == EINTR { continue } else { return 0 } }
                    offset += w
                }
            }
        }
    }
}
