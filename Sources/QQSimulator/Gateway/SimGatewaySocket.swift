import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

/// The WebSocket side of the simulated gateway: one writer task per socket drains the platform's
/// outbox in order; the reader hands every frame to the platform actor.
enum SimGatewaySocket {
    static func router(platform: SimPlatform) -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/websocket", shouldUpgrade: { _, _ in
            if await platform.shouldRefuseUpgrade() { throw HTTPError(.serviceUnavailable) }
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, _ in
            let (id, outbox) = await platform.openConnection()
            let interval = Duration.milliseconds(platform.configuration.heartbeatIntervalMs)
            enum Ending: Sendable { case frozen, closed, readerEnded }
            await withTaskGroup(of: Ending.self) { group in
                group.addTask {
                    for await item in outbox {
                        do {
                            switch item {
                            case .text(let text):
                                try await outbound.write(.text(text))
                            case .binary(let data):
                                try await outbound.write(.binary(ByteBuffer(bytes: data)))
                            case .rawText(let data):
                                try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: data))))
                            case .close(let code, let reason):
                                try await outbound.close(.unknown(UInt16(clamping: code)), reason: reason)
                                return .closed
                            case .freeze:
                                return .frozen
                            }
                        } catch {
                            return .closed
                        }
                    }
                    return .closed
                }
                group.addTask {
                    do {
                        for try await message in inbound.messages(maxSize: 16 << 20) {
                            switch message {
                            case .text(let text): await platform.receive(text, from: id)
                            case .binary(let buffer): await platform.receive(String(buffer: buffer), from: id)
                            }
                        }
                    } catch {}
                    return .readerEnded
                }
                group.addTask {
                    // Server-side heartbeat watchdog.
                    while !Task.isCancelled {
                        do { try await platform.configuration.clock.sleep(interval) } catch { break }
                        if !(await platform.checkHeartbeat(id)) { break }
                    }
                    return .closed
                }
                var ending = await group.next()
                while ending == .closed, !Task.isCancelled {
                    // The writer sent a close (or the watchdog did): keep reading until the peer answers.
                    ending = await group.next() ?? .readerEnded
                    if ending == .closed { continue }
                    break
                }
                if ending == .frozen {
                    // Stop reading at once: no close frame is answered, no ping is ponged.
                    group.cancelAll()
                    let since = ContinuousClock.now
                    while await platform.isFrozen(id), ContinuousClock.now - since < .seconds(600) {
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
                await platform.connectionClosed(id)
                group.cancelAll()
            }
        })
        return router
    }
}
