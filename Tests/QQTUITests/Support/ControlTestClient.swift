import Foundation
@testable import QQTUI
import Synchronization
import TestSupport

/// A console's end of serve's control socket without a screen: says hello, keeps every line serve
/// sends, and sends commands. Tests read what an attached console would get.
final class ControlTestClient: Sendable {
    let link: ControlLink
    let welcome: ServerLine
    private let received = Mutex<[ServerLine]>([])
    private let ended = Mutex<String?>(nil)
    private let bytes = Mutex(Data())

    /// Connects to `socket` as `operatorName`; `start` false leaves the link unread (a slow console).
    init(socket: String, operatorName: String, start: Bool = true) throws {
        let (link, welcome) = try AttachTarget.socket(socket).open(operatorName: operatorName)
        self.link = link
        self.welcome = welcome
        if start { startReading() }
    }

    func startReading() {
        link.startReading(onLine: { [self] data in
            self.bytes.withLock { $0.append(data); $0.append(0x0A) }
            if let line = try? ControlProtocol.decoder.decode(ServerLine.self, from: data) { self.received.withLock { $0.append(line) } }
        }, onEnd: { [self] reason in self.ended.withLock { $0 = reason } })
    }

    var lines: [ServerLine] { received.withLock { $0 } }
    /// Every byte serve sent, as sent.
    var raw: Data { bytes.withLock { $0 } }
    var endedReason: String? { ended.withLock { $0 } }

    /// Inbound message texts received as events, in order.
    var messageTexts: [String] {
        lines.compactMap { line in
            if case .message(let m)? = line.event { return m.text }
            return nil
        }
    }

    func send(_ line: ClientLine) { link.send(line) }

    func send(_ effect: Effect) {
        if let line = ConsoleCommands.line(for: effect) { link.send(line) }
    }

    /// Waits until `predicate(lines)` holds (the suite's shared condition wait); false after `timeout`.
    func waitFor(timeout: Duration = .seconds(20), _ predicate: ([ServerLine]) -> Bool) async -> Bool {
        await eventually(timeout: timeout) { predicate(lines) }
    }

    func close() { link.close() }
}

/// A raw connection to serve's socket: bytes in and out, nothing interpreted.
final class RawControlSocket: @unchecked Sendable {
    // Invariant: one test task uses it at a time.
    let fd: Int32

    init(path: String) throws { fd = try ControlLink.connectedSocket(path) }
    deinit { close(fd) }

    func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Everything serve sends until it closes the connection (or `timeout`): the lines and whether it closed.
    func readUntilClosed(timeout: Duration = .seconds(10)) -> (lines: [String], closed: Bool) {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var p = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 {
                return (String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init), true)
            }
            data.append(contentsOf: buffer[0..<n])
        }
        return (String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init), false)
    }
}
