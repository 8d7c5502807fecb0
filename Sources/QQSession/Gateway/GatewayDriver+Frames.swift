import Foundation
import Logging
import WSClient

extension GatewayDriver {
    /// Reads frames until the socket closes; runs inside WSClient's connection scope.
    func serve(_ connection: GatewayConnection, inbound: WebSocketInboundStream, token: AccessToken,
               plan: GatewayPlan) async throws {
        state.withLock { $0.machine.connectionOpened(plan: plan, now: clock.now) }
        // The heartbeat timer is a child of this scope: it ends with the socket's handler.
        let alarm = Alarm()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.runTimer(connection, token: token, alarm: alarm) }
            defer { group.cancelAll() }
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
                // Hello moves the next wakeup (a beat may be due before the Hello deadline was).
                if frame.op == GatewayOpcode.hello { alarm.ring() }
                await perform(actions, connection: connection, token: token)
                await delegate.waitForRoom()
            }
        }
    }

    /// Heartbeats and deadlines: sleeps until the state machine's next wakeup (or until `alarm`
    /// rings), then ticks it.
    private func runTimer(_ connection: GatewayConnection, token: AccessToken, alarm: Alarm) async {
        while !Task.isCancelled, connection.cause == nil {
            let stop = alarm.arm()
            guard let wake = state.withLock({ $0.machine.nextWakeup }) else { return }
            await stop.run { [clock] in try? await clock.sleep(until: wake) }
            // The machine is shared by successive connections: only this connection's ticks count.
            let actions = state.withLock { s -> [GatewayStateMachine<SessionClock.Instant>.Action]? in
                guard !Task.isCancelled, connection.cause == nil, s.stage.connection === connection else { return nil }
                return s.machine.tick(now: clock.now)
            }
            guard let actions else { return }
            await perform(actions, connection: connection, token: token)
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
                state.withLock { $0.markReady(connection, at: clock.now) }
                publish {
                    $0.phase = .ready(sessionID: ready.sessionID)
                    $0.identifyCount += 1
                    $0.botID = ready.user?.id
                    $0.botName = ready.user?.username
                    $0.lastError = nil
                }
                delegate.onInbound(.ready(ready, seq: state.withLock { $0.machine.lastSeq }))
                logger.info("gateway READY", metadata: ["session": "\(ready.sessionID)"])
            case .resumed:
                let session = state.withLock { s -> String in
                    s.markReady(connection, at: clock.now)
                    return s.machine.sessionID ?? ""
                }
                publish {
                    $0.phase = .ready(sessionID: session)
                    $0.resumeCount += 1
                    $0.lastError = nil
                }
                logger.info("gateway RESUMED", metadata: ["session": "\(session)"])
                // A run that resumed the last run's session never saw its READY: who the bot is comes from the API.
                if status.botName == nil { learnBotUser() }
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

    /// The start of a frame that could not be decoded, for a notice.
    static func snippet(_ message: WebSocketMessage) -> String {
        switch message {
        case .text(let text): return RESTClient.snippet(Data(text.utf8))
        case .binary(let buffer): return "binary frame of \(buffer.readableBytes) bytes"
        }
    }
}
