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
            await withTaskGroup(of: Void.self) { group in
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
                                try await outbound.close(.unknown(UInt16(code)), reason: reason)
                                return
                            case .freeze:
                                return
                            }
                        } catch {
                            return
                        }
                    }
                }
                do {
                    for try await message in inbound.messages(maxSize: 16 << 20) {
                        if await platform.isFrozen(id) { break }
                        switch message {
                        case .text(let text): await platform.receive(text, from: id)
                        case .binary(let buffer): await platform.receive(String(buffer: buffer), from: id)
                        }
                    }
                } catch {}
                // A frozen socket stays open and silent until the server stops (at most 10 minutes).
                let frozenSince = ContinuousClock.now
                while await platform.isFrozen(id), !Task.isCancelled, ContinuousClock.now - frozenSince < .seconds(600) {
                    try? await Task.sleep(for: .milliseconds(50))
                }
                await platform.connectionClosed(id)
                group.cancelAll()
            }
        })
        return router
    }
}
