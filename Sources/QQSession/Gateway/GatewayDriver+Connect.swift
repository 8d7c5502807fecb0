import Logging
import NIOPosix
import NIOWebSocket
import WSClient

extension GatewayDriver {
    /// Largest gateway message accepted (the platform's are far smaller; 1 MiB contents must pass).
    static let maxMessageSize = 16 * 1024 * 1024

    /// The attempt machine on the session's clock.
    typealias AttemptMachine = GatewayAttemptMachine<SessionClock.Instant>

    /// What the attempt's child tasks report to it.
    private enum AttemptEvent: Sendable {
        case upgraded
        case ended(GatewayEndCause)
        case timerFired
        case socketFinished(AttemptMachine.SocketEnd)
    }

    /// One WebSocket connection, from connect to the socket's end, run by ``GatewayAttemptMachine``.
    ///
    /// The wait for the socket, the watcher of the connection's gate, the close frame and every timer
    /// are child tasks of one task group: when the machine finishes, the group is cancelled and
    /// awaited, so nothing the attempt started outlives it. The socket's own work is awaited to its
    /// end too, except when it is stranded on the stopped event loop (``AbandonableTask``).
    func connect(url: String, token: AccessToken, plan: GatewayPlan) async -> AttemptOutcome {
        let connection = state.withLock { s -> GatewayConnection in
            s.attemptsStarted += 1
            let c = GatewayConnection(number: s.attemptsStarted)
            s.stage = .connected(c, readyAt: nil)
            return c
        }
        // A reconnect command or shutdown that arrived just before the connection existed.
        if state.withLock({ $0.shuttingDown }) { connection.end(.shutdown) }

        // Own event loop per attempt: shutting it down is the only way to abort a stalled connect.
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (events, emit) = AsyncStream.makeStream(of: AttemptEvent.self)
        let finished = await withDiscardingTaskGroup { group -> GatewayEndCause in
            let socket = AbandonableTask {
                await self.runSocket(url: url, token: token, plan: plan, connection: connection, loop: loop) {
                    emit.yield(.upgraded)
                }
            }
            group.addTask {
                if let end = await socket.value() { emit.yield(.socketFinished(end)) }
            }
            group.addTask {
                for await _ in connection.ended {}
                if let cause = connection.cause { emit.yield(.ended(cause)) }
            }
            var machine = AttemptMachine(connectTimeout: configuration.timeouts.connect, closeGrace: closeGrace)
            var actions = machine.start(now: clock.now)
            var timer: StopSignal?
            var iterator = events.makeAsyncIterator()
            while true {
                for action in actions {
                    switch action {
                    case .endConnection(let cause):
                        connection.end(cause)
                    case .sendClose:
                        group.addTask { await connection.sendClose() }
                    case .armTimer(let deadline):
                        timer?.fire()
                        let stop = StopSignal()
                        timer = stop
                        group.addTask { [clock] in
                            let due = await stop.run { (try? await clock.sleep(until: deadline)) != nil }
                            if due == true { emit.yield(.timerFired) }
                        }
                    case .disarmTimer:
                        timer?.fire()
                        timer = nil
                    case .cancelSocket:
                        socket.cancel()
                    case .abandonSocket:
                        socket.abandon()
                        logger.warning("gateway socket stranded on its stopped event loop; let go",
                                       metadata: ["connection": "\(connection.number)"])
                    case .shutDownEventLoop:
                        try? await loop.shutdownGracefully()
                    case .finish(let cause):
                        group.cancelAll()
                        return cause
                    }
                }
                // The socket child always reports before the group ends, so the stream cannot run dry here.
                guard let event = await iterator.next() else { return .transportError("connection task vanished") }
                logger.debug("attempt event", metadata: ["event": "\(event)", "connection": "\(connection.number)"])
                switch event {
                case .upgraded: actions = machine.upgraded()
                case .ended(let cause): actions = machine.connectionEnded(cause, now: clock.now)
                case .timerFired: actions = machine.timerFired(now: clock.now)
                case .socketFinished(let end): actions = machine.socketFinished(end)
                }
            }
        }
        emit.finish()

        connection.end(finished)
        let readyFor = state.withLock { $0.endStage(of: connection, at: clock.now) }
        let cause = connection.cause ?? finished
        return AttemptOutcome(cause: cause, readyFor: readyFor, detail: cause.summary)
    }

    /// Connects, upgrades and serves frames until the socket closes; says how it ended.
    private func runSocket(url: String, token: AccessToken, plan: GatewayPlan, connection: GatewayConnection,
                           loop: MultiThreadedEventLoopGroup,
                           upgraded: @escaping @Sendable () -> Void) async -> AttemptMachine.SocketEnd {
        let wsConfig = WebSocketClientConfiguration(maxFrameSize: Self.maxMessageSize, closeTimeout: closeGrace,
                                                    autoPing: .disabled, validateUTF8: false)
        var wsLogger = logger
        wsLogger.logLevel = .critical
        do {
            let close = try await WebSocketClient.connect(url: url, configuration: wsConfig, eventLoopGroup: loop,
                                                          logger: wsLogger) { inbound, outbound, _ in
                connection.attach(outbound)
                upgraded()
                try await self.serve(connection, inbound: inbound, token: token, plan: plan)
            }
            return .closed(code: close.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) })
        } catch {
            return .failed(GatewaySocketFailure.describe(error))
        }
    }
}
