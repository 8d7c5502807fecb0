import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import WSClient

/// The result of one connection attempt.
struct AttemptOutcome: Sendable {
    var cause: GatewayEndCause
    /// How long it was READY (nil: it never got there).
    var readyFor: Duration?
    /// A reason to stop for good (token refused, IP not whitelisted).
    var fatal: String?
    /// Details for the status bar's last error.
    var detail: String?
}

extension GatewayDriver {
    /// Largest gateway message accepted (the platform's are far smaller; 1 MiB contents must pass).
    static let maxMessageSize = 16 * 1024 * 1024

    private enum Signal: Sendable {
        case upgraded, ended, connectTimeout, graceOver, killLoop
        case finished(Result<WebSocketCloseFrame?, any Error>)
    }

    /// One attempt: token, gateway URL, WebSocket, then frames until the connection ends.
    func runAttempt(plan: GatewayPlan) async -> AttemptOutcome {
        // The preparation runs in its own task so that shutdown can cancel it; the connection
        // itself is ended through its gate instead (cancelling it mid-handshake strands the socket).
        let (prepared, preparedContinuation) = AsyncStream.makeStream(of: Result<(AccessToken, String), AttemptFailure>.self)
        let preparing = Task {
            preparedContinuation.yield(await prepare())
            preparedContinuation.finish()
        }
        let cancelNow = state.withLock { s -> Bool in
            s.preparing = preparing
            return s.shuttingDown
        }
        if cancelNow { preparing.cancel() }
        var iterator = prepared.makeAsyncIterator()
        let outcome = await iterator.next()
        state.withLock { $0.preparing = nil }
        switch outcome {
        case .success(let (token, url))?:
            return await connect(url: url, token: token, plan: plan)
        case .failure(let failure)?:
            return failure.outcome
        case nil:
            return AttemptOutcome(cause: .transportError("cancelled"))
        }
    }

    /// Why the preparation failed, as the attempt's outcome.
    struct AttemptFailure: Error {
        var outcome: AttemptOutcome
    }

    /// Token and gateway URL.
    private func prepare() async -> Result<(AccessToken, String), AttemptFailure> {
        let token: AccessToken
        do {
            token = try await tokens.token()
            let expiry = token.expiresAt
            state.withLock { $0.tokenExpiry = expiry }
        } catch is CancellationError {
            return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("cancelled"))))
        } catch let error as QQError {
            if error.kind == .cancelled { return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("cancelled")))) }
            delegate.onInbound(.notice(Notice(level: .error, kind: .tokenError, message: error.description)))
            if error.kind == .authentication {
                return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("token refused"), fatal: error.description)))
            }
            return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("token: \(error.message)"), detail: error.description)))
        } catch {
            return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("token: \(error)"))))
        }
        do {
            return .success((token, try await discoverGatewayURL()))
        } catch let error as QQError {
            if error.kind == .cancelled { return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("cancelled")))) }
            if error.kind == .authentication {
                return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("gateway discovery refused"),
                                                                       fatal: error.description)))
            }
            return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("gateway discovery failed"),
                                                                   detail: error.description)))
        } catch {
            return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("gateway discovery failed: \(error)"))))
        }
    }

    /// `GET /gateway/bot` (falling back to `GET /gateway`), or the configured URL.
    func discoverGatewayURL() async throws -> String {
        if let fixed = configuration.gatewayURL { return fixed }
        struct GatewayBot: Decodable {
            var url: String
            var shards: Int?
            var sessionStartLimit: Limit?
            struct Limit: Decodable { var total: Int?; var remaining: Int?; var resetAfter: Int?
                enum CodingKeys: String, CodingKey { case total, remaining, resetAfter = "reset_after" } }
            enum CodingKeys: String, CodingKey { case url, shards, sessionStartLimit = "session_start_limit" }
        }
        do {
            let bot = try await rest.request(.GET, "/gateway/bot", as: GatewayBot.self)
            if let remaining = bot.sessionStartLimit?.remaining, remaining <= 0 {
                delegate.onInbound(.notice(Notice(level: .warning, kind: .gatewayError,
                    message: "session start limit reached (remaining 0); the platform may refuse new sessions")))
            }
            return bot.url
        } catch let error as QQError where error.httpStatus == 404 || error.httpStatus == 405 {
            struct Gateway: Decodable { var url: String }
            return try await rest.request(.GET, "/gateway", as: Gateway.self).url
        }
    }

    private func connect(url: String, token: AccessToken, plan: GatewayPlan) async -> AttemptOutcome {
        let connection = state.withLock { s -> GatewayConnection in
            s.attemptsStarted += 1
            s.readyAt = nil
            let c = GatewayConnection(number: s.attemptsStarted)
            s.current = c
            return c
        }
        // A reconnect command or shutdown that arrived just before the connection existed.
        if state.withLock({ $0.shuttingDown }) { connection.end(.shutdown) }

        // Own event loop per attempt: shutting it down is the only way to abort a stalled connect.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (signals, signal) = AsyncStream.makeStream(of: Signal.self)
        let wsConfig = WebSocketClientConfiguration(maxFrameSize: Self.maxMessageSize, closeTimeout: closeGrace,
                                                    autoPing: .disabled, validateUTF8: false)
        var wsLogger = logger
        wsLogger.logLevel = .critical
        let ws = Task {
            do {
                let close = try await WebSocketClient.connect(url: url, configuration: wsConfig, eventLoopGroup: group,
                                                              logger: wsLogger) { inbound, outbound, _ in
                    connection.attach(outbound)
                    signal.yield(.upgraded)
                    try await self.serve(connection, inbound: inbound, token: token, plan: plan)
                }
                signal.yield(.finished(.success(close)))
            } catch {
                signal.yield(.finished(.failure(error)))
            }
        }
        let watcher = Task {
            for await _ in connection.ended {}
            signal.yield(.ended)
        }
        let connectTimeout = configuration.timeouts.connect
        let deadline = Task { [clock] in
            try? await clock.sleep(for: connectTimeout)
            if !Task.isCancelled { signal.yield(.connectTimeout) }
        }
        var upgraded = false
        var killed = false
        var timers: [Task<Void, Never>] = []
        var result: Result<WebSocketCloseFrame?, any Error>?
        func after(_ delay: Duration, _ signalToSend: Signal) {
            timers.append(Task { [clock] in
                try? await clock.sleep(for: delay)
                if !Task.isCancelled { signal.yield(signalToSend) }
            })
        }
        for await event in signals {
            logger.debug("attempt signal", metadata: ["event": "\(event)", "connection": "\(connection.number)"])
            switch event {
            case .upgraded:
                upgraded = true
                deadline.cancel()
            case .connectTimeout:
                if !upgraded {
                    connection.end(.transportError("connect timed out after \(connectTimeout.shortDescription)"))
                }
            case .ended:
                deadline.cancel()
                if upgraded {
                    // Polite first: a close frame, then the peer has `closeGrace` to answer it.
                    Task { await connection.sendClose() }
                    after(closeGrace, .graceOver)
                } else if !killed {
                    // Still connecting: cancellation cannot stop the connect/upgrade, the event loop's end can.
                    killed = true
                    try? await group.shutdownGracefully()
                }
            case .graceOver:
                // The peer did not answer (a dead link): cancel the connection task, which drops the
                // socket; should even that not end it, stop its event loop a little later.
                ws.cancel()
                if !killed { after(closeGrace, .killLoop) }
            case .killLoop:
                if !killed {
                    killed = true
                    try? await group.shutdownGracefully()
                }
            case .finished(let r):
                result = r
                signal.finish()
            }
        }
        deadline.cancel()
        watcher.cancel()
        for t in timers { t.cancel() }
        _ = await ws.result
        if !killed { try? await group.shutdownGracefully() }

        switch result {
        case .success(let close)?:
            connection.end(.serverClosed(code: close.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }))
        case .failure(let error)?:
            connection.end(.transportError(Self.describe(error)))
        case nil:
            connection.end(.transportError("connection task vanished"))
        }
        let readyFor = state.withLock { s -> Duration? in
            if s.current === connection { s.current = nil }
            return s.readyAt.map { clock.now - $0 }
        }
        let cause = connection.cause ?? .transportError("unknown")
        return AttemptOutcome(cause: cause, readyFor: readyFor, detail: cause.summary)
    }

    /// Reads frames until the socket closes; runs inside WSClient's connection scope.
    private func serve(_ connection: GatewayConnection, inbound: WebSocketInboundStream, token: AccessToken,
                       plan: GatewayPlan) async throws {
        state.withLock { $0.machine.connectionOpened(plan: plan, now: clock.now) }
        var timer = startTimer(connection, token: token)
        defer { timer.cancel() }
        for try await message in inbound.messages(maxSize: Self.maxMessageSize) {
            // After a client-side end, keep reading so the close handshake can finish.
            guard connection.cause == nil else { continue }
            let frame: GatewayFrame
            do {
                switch message {
                case .text(let text): frame = try GatewayFrame.decode(text)
                case .binary(let buffer): frame = try GatewayFrame.decode(Data(buffer: buffer))
                }
            } catch {
                delegate.onInbound(.notice(Notice(level: .warning, kind: .malformedFrame,
                    message: "gateway frame is not a JSON object with an op: \(Self.snippet(message))")))
                continue
            }
            let actions = state.withLock { $0.machine.receive(frame, now: clock.now) }
            if frame.op == GatewayOpcode.hello {
                timer.cancel()
                timer = startTimer(connection, token: token)
            }
            await perform(actions, connection: connection, token: token)
            await delegate.waitForRoom()
        }
    }

    /// Heartbeats and deadlines: sleeps until the state machine's next wakeup, then ticks it.
    private func startTimer(_ connection: GatewayConnection, token: AccessToken) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled, connection.cause == nil {
                guard let wake = state.withLock({ $0.machine.nextWakeup }) else { return }
                do { try await clock.sleep(until: wake) } catch { return }
                // The machine is shared by successive connections: a timer that outlived its own
                // connection must not tick the next one.
                let actions = state.withLock { s -> [GatewayStateMachine<SessionClock.Instant>.Action]? in
                    guard !Task.isCancelled, connection.cause == nil, s.current === connection else { return nil }
                    return s.machine.tick(now: clock.now)
                }
                guard let actions else { return }
                await perform(actions, connection: connection, token: token)
            }
        }
    }

    private func perform(_ actions: [GatewayStateMachine<SessionClock.Instant>.Action], connection: GatewayConnection,
                         token: AccessToken) async {
        for action in actions {
            switch action {
            case .send(let frame):
                switch frame {
                case .identify: publish { $0.phase = .identifying }
                case .resume: publish { $0.phase = .resuming }
                case .heartbeat: break
                }
                await connection.send(GatewayPayloads.encode(frame, authorization: token.authorization))
            case .dispatch(let frame):
                delegate.onInbound(.dispatch(frame))
            case .ready(let ready):
                state.withLock { $0.readyAt = clock.now }
                publish {
                    $0.phase = .ready(sessionID: ready.sessionID)
                    $0.identifyCount += 1
                    $0.botID = ready.user?.id
                    $0.botName = ready.user?.username
                    $0.lastError = nil
                }
                delegate.onInbound(.ready(ready))
                logger.info("gateway READY", metadata: ["session": "\(ready.sessionID)"])
            case .resumed:
                let session = state.withLock { s -> String in
                    s.readyAt = clock.now
                    return s.machine.sessionID ?? ""
                }
                publish {
                    $0.phase = .ready(sessionID: session)
                    $0.resumeCount += 1
                    $0.lastError = nil
                }
                logger.info("gateway RESUMED", metadata: ["session": "\(session)"])
            case .heartbeatAcknowledged(let rtt):
                if let expiry = await tokens.timeToLive() {
                    state.withLock { $0.tokenExpiry = clock.now + expiry }
                }
                publish { $0.heartbeatRTTMs = rtt?.milliseconds }
            case .notice(let text):
                delegate.onInbound(.notice(Notice(level: .warning, kind: .unknownOpcode, message: text)))
            case .end(let cause):
                connection.end(cause)
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let ws = error as? WebSocketClientError { return ws.description }
        if let io = error as? IOError { return io.description }
        if let qq = error as? QQError { return qq.description }
        let text = String(describing: error)
        if text.contains("Inappropriate operation for state") || text.contains("shutdown") { return "connection aborted" }
        return Redactor.shared.redact(text.count > 160 ? String(text.prefix(160)) + "…" : text)
    }

    static func snippet(_ message: WebSocketMessage) -> String {
        switch message {
        case .text(let text): return RESTClient.snippet(Data(text.utf8))
        case .binary(let buffer): return "binary frame of \(buffer.readableBytes) bytes"
        }
    }
}
