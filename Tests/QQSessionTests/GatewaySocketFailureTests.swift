import Foundation
import NIOCore
import NIOPosix
@testable import QQSession
import QQSimulator
import Testing
import WSClient

/// What the socket throws, as the status bar words it: decided by the error's type, never its text.
@Suite("Gateway socket failures", .timeLimit(.minutes(1)))
struct GatewaySocketFailureTests {
    struct Named: Error, CustomStringConvertible {
        var description: String
    }

    /// `ChannelError.inappropriateOperationForState` is what a connect throws when its event loop is
    /// stopped under an upgrade that gets no answer (seen with a black-hole server); a cancelled
    /// socket task throws `CancellationError` (tested below with a real socket).
    @Test("a stopped event loop or a cancelled socket task reads 'connection aborted'")
    func aborts() {
        for error: any Error in [CancellationError(), ChannelError.inappropriateOperationForState,
                                 EventLoopError.shutdown, EventLoopError.shutdownFailed] {
            #expect(GatewaySocketFailure.isAbort(error), "\(error)")
            #expect(GatewaySocketFailure.describe(error) == "connection aborted")
        }
    }

    @Test("other errors keep their own words, whatever their text says")
    func others() {
        #expect(GatewaySocketFailure.describe(ChannelError.ioOnClosedChannel) == "I/O on closed channel")
        #expect(GatewaySocketFailure.describe(WebSocketClientError.webSocketUpgradeFailed) == "WebSocket upgrade failed")
        #expect(GatewaySocketFailure.describe(EventLoopError.cancelled) == EventLoopError.cancelled.description)
        // Text that mentions a shutdown is not a stopped event loop.
        let named = Named(description: "peer said: shutdown, Inappropriate operation for state")
        #expect(!GatewaySocketFailure.isAbort(named))
        #expect(GatewaySocketFailure.describe(named) == named.description)
        let long = Named(description: String(repeating: "x", count: 200))
        #expect(GatewaySocketFailure.describe(long) == String(repeating: "x", count: 160) + "…")
    }

    @Test("what the client throws when its task is cancelled once upgraded")
    func cancelledWhenOpen() async throws {
        let simulator = try await QQSimulator.start(SimulatorConfiguration())
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (upgraded, up) = AsyncStream.makeStream(of: Void.self)
        let url = simulator.baseURL.replacingOccurrences(of: "http://", with: "ws://") + "/websocket"
        let socket = Task {
            do {
                _ = try await WebSocketClient.connect(url: url, eventLoopGroup: loop, logger: .init(label: "test")) { inbound, _, _ in
                    up.yield()
                    for try await _ in inbound.messages(maxSize: 1 << 20) {}
                }
                return nil as (any Error)?
            } catch {
                return error
            }
        }
        for await _ in upgraded { break }
        socket.cancel()
        let error = await socket.value
        try await loop.shutdownGracefully()
        await simulator.stop()
        let thrown = try #require(error)
        #expect(GatewaySocketFailure.isAbort(thrown), "\(type(of: thrown)): \(thrown)")
    }
}
