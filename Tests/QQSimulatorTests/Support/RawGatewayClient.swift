import Foundation
import Logging
import NIOWebSocket
import QQSimulator
import Synchronization
import WSClient

/// A bare WebSocket client for testing the simulated gateway frame by frame (no QQSession logic).
/// Frames are buffered; reads poll the buffer with a timeout, so a timed-out read loses nothing.
final class RawGatewayClient: Sendable {
    private struct State {
        var writer: WebSocketOutboundWriter?
        var frames: [String] = []
        var read = 0
        var closed = false
        var closeCode: Int?
    }
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Connects to `url`; returns once the upgrade succeeded (throws if it failed or took over 5 s).
    static func connect(_ url: String, autoPing: Duration? = nil) async throws -> RawGatewayClient {
        let client = RawGatewayClient()
        var config = WebSocketClientConfiguration(maxFrameSize: 16 << 20)
        if let autoPing { config.autoPing = .enabled(timePeriod: autoPing) }
        let task = Task {
            do {
                let close = try await WebSocketClient.connect(url: url, configuration: config, logger: Logger(label: "raw")) { inbound, outbound, _ in
                    client.state.withLock { $0.writer = outbound }
                    for try await message in inbound.messages(maxSize: 16 << 20) {
                        let text: String
                        switch message {
                        case .text(let t): text = t
                        case .binary(let b): text = String(buffer: b)
                        }
                        client.state.withLock { $0.frames.append(text) }
                    }
                }
                client.state.withLock { $0.closeCode = close.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) } }
            } catch {}
            client.state.withLock { $0.closed = true }
        }
        client.task.withLock { $0 = task }
        let ok = await client.poll(timeout: .seconds(5)) { $0.writer != nil || $0.closed }
        guard ok, client.state.withLock({ $0.writer != nil }) else {
            task.cancel()
            throw SimulatorError(message: "WebSocket upgrade to \(url) failed")
        }
        return client
    }

    private func poll(timeout: Duration, _ condition: (State) -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if state.withLock({ condition($0) }) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return state.withLock { condition($0) }
    }

    /// Sends a text frame.
    func send(_ text: String) async throws {
        guard let w = state.withLock({ $0.writer }) else { return }
        try await w.write(.text(text))
    }

    /// The next text frame (nil on timeout, or once closed and drained).
    func nextText(timeout: Duration = .seconds(5)) async -> String? {
        _ = await poll(timeout: timeout) { $0.read < $0.frames.count || $0.closed }
        return state.withLock { s -> String? in
            guard s.read < s.frames.count else { return nil }
            defer { s.read += 1 }
            return s.frames[s.read]
        }
    }

    /// The next frame as a JSON object.
    func next(timeout: Duration = .seconds(5)) async -> [String: Any]? {
        guard let text = await nextText(timeout: timeout) else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    /// Waits for the server to close; returns its close code.
    func waitClosed(timeout: Duration = .seconds(5)) async -> Int? {
        _ = await poll(timeout: timeout) { $0.closed }
        return state.withLock { $0.closeCode }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Closes from our side and stops the connection task.
    func close() async {
        if let w = state.withLock({ $0.writer }) { try? await w.close(.normalClosure, reason: "bye") }
        _ = await poll(timeout: .seconds(2)) { $0.closed }
        task.withLock { $0 }?.cancel()
    }
}
