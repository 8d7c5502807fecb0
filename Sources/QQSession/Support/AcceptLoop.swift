import Logging
import NIOCore

/// The accept loop of a NIO listener: each connection served on its own task until the listener is
/// cancelled (then it closes). The webhook listener and serve's control socket share it.
public enum AcceptLoop {
    public static func run<Connection: Sendable>(_ channel: NIOAsyncChannel<Connection, Never>, logger: Logger, what: String,
                                                 serve: @escaping @Sendable (Connection) async -> Void) async {
        do {
            try await withTaskCancellationHandler {
                try await channel.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { group in
                        for try await connection in inbound {
                            group.addTask { await serve(connection) }
                        }
                    }
                }
            } onCancel: {
                channel.channel.close(promise: nil)
            }
        } catch {
            logger.debug("\(what) closed", metadata: ["reason": "\(error)"])
        }
    }
}
