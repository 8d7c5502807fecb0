import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP listener on 127.0.0.1 that accepts connections (kernel backlog) and never answers:
/// for timeouts that must really fire.
final class BlackHoleServer: Sendable {
    let fd: Int32
    let port: Int

    /// With `listening` false the port is only bound: held so nobody else can take it, and every
    /// connection to it is refused.
    init(listening: Bool = true) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, !listening || listen(fd, 16) == 0 else { Glibc.close(fd); throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: addr.sin_port))
    }

    func close() { Glibc.close(fd) }
}

extension BlackHoleServer {
    /// Waits (in real time, at most `timeout`) until a client has connected and sent its first bytes
    /// (a WebSocket upgrade request), then returns the accepted socket, still unanswered; the caller
    /// closes it. The client is then waiting for an answer that never comes.
    func acceptRequest(timeout: Duration = .seconds(10)) async -> Int32? {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        var client: Int32 = -1
        while clock.now < end {
            if client < 0 {
                var listening = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&listening, 1, 0) > 0 { client = accept(fd, nil, nil) }
            }
            if client >= 0 {
                var request = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
                if poll(&request, 1, 0) > 0 { return client }
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        if client >= 0 { Glibc.close(client) }
        return nil
    }
}
