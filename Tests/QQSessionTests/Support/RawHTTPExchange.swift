import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes raw bytes to a server on one connection and reads what comes back until the server closes
/// it or `answers` status lines have come: what a keep-alive client sees, with no client library
/// deciding for it whether to reuse the connection.
enum RawHTTPExchange {
    struct Outcome {
        /// The status codes of the answers, in order.
        var statuses: [Int]
        /// The server closed the connection.
        var closed: Bool
    }

    /// `address` is `host:port`. A read waits 10 s at most (a server that neither answers nor closes).
    static func send(_ request: String, to address: String, answers: Int) -> Outcome? {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr(String(parts[0]))
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { return nil }
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        while statuses(in: received).count < answers {
            let n = read(fd, &buffer, buffer.count)
            if n == 0 { return Outcome(statuses: statuses(in: received), closed: true) }
            if n < 0 { return Outcome(statuses: statuses(in: received), closed: false) }
            received += String(decoding: buffer[..<n], as: UTF8.self)
        }
        return Outcome(statuses: statuses(in: received), closed: false)
    }

    /// Every status line's code (an answer's body follows the previous one directly).
    private static func statuses(in text: String) -> [Int] {
        text.components(separatedBy: "HTTP/1.1 ").dropFirst().compactMap { Int($0.prefix(3)) }
    }
}
