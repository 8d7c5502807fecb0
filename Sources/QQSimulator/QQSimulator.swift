import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import UnixSignals

/// A QQ Open Platform on 127.0.0.1: token endpoint, REST API, WebSocket gateway, control API.
///
/// ```swift
/// let sim = try await QQSimulator.start()
/// // point a client at sim.baseURL …
/// await sim.stop()
/// ```
public final class QQSimulator: Sendable {
    /// The platform's state and rules (users, faults, transcript).
    public let platform: SimPlatform
    /// The configuration it runs with.
    public let configuration: SimulatorConfiguration
    /// The port it listens on.
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(platform: SimPlatform, configuration: SimulatorConfiguration, port: Int, group: ServiceGroup,
                 task: Task<Void, any Error>) {
        self.platform = platform
        self.configuration = configuration
        self.port = port
        self.group = group
        self.task = task
    }

    /// `http://127.0.0.1:PORT`: the `api_base` (and the token URL's base) for clients.
    public var baseURL: String { "http://\(configuration.host):\(port)" }
    /// The token endpoint.
    public var tokenURL: String { baseURL + "/app/getAppAccessToken" }
    /// The gateway WebSocket URL.
    public var gatewayURL: String { "ws://\(configuration.host):\(port)/websocket" }

    /// Starts listening (port 0 = ephemeral) and returns once the port is bound.
    public static func start(_ configuration: SimulatorConfiguration = SimulatorConfiguration(),
                             logger: Logger = Logger(label: "qqtui.sim", factory: { _ in SwiftLogNoOpLogHandler() }),
                             signals: [UnixSignal] = []) async throws -> QQSimulator {
        let platform = SimPlatform(configuration: configuration)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: SimRouter.make(platform: platform, configuration: configuration),
            server: Self.serverBuilder(platform: platform),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? -1)
                portContinuation.finish()
            },
            logger: logger)
        // A keep-alive connection that never carried a request is still negotiating a possible WebSocket
        // upgrade and ignores the quiesce signal: without a bound, stopping would wait for the client's
        // idle timeout.
        var groupConfiguration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: signals, logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(2)
        let group = ServiceGroup(configuration: groupConfiguration)
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            let result = await task.result as Result<Void, any Error>
            if case .failure(let error) = result { throw error }
            throw SimulatorError(message: "the simulator did not start listening on \(configuration.host):\(configuration.port)")
        }
        let simulator = QQSimulator(platform: platform, configuration: configuration, port: port, group: group, task: task)
        await platform.setBaseURL(simulator.baseURL)
        return simulator
    }

    /// HTTP/1 with WebSocket upgrade on one port, with the first-request timeout (see ``SimChildChannel``).
    static func serverBuilder(platform: SimPlatform) -> HTTPServerBuilder {
        let webSocketResponder = SimGatewaySocket.router(platform: platform).buildResponder()
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: .seconds(60)),
            ws: .init(maxFrameSize: 16 << 20, autoPing: .disabled, closeTimeout: .seconds(2)))
        return HTTPServerBuilder { responder in
            SimChildChannel(inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder,
                                                                configuration: configuration),
                            firstRequestTimeout: .seconds(3))
        }
    }

    /// Stops the server and closes every socket.
    public func stop() async {
        await platform.markStopping()
        await group.triggerGracefulShutdown()
        _ = await task.result
        await platform.closeWebhookClient()
    }

    /// Waits until the server stops (a signal given to ``start(_:logger:signals:)``, or ``stop()``).
    public func waitUntilStopped() async throws {
        try await task.value
    }
}

/// The simulator could not do what was asked.
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
