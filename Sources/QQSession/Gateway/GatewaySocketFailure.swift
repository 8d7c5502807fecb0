import NIOCore
import NIOPosix
import WSClient

/// What the WebSocket client threw, as words for the status bar; decided by the error's type, never
/// by its text.
enum GatewaySocketFailure {
    /// Shown when the attempt itself took the socket down (its event loop stopped, its task cancelled).
    static let aborted = "connection aborted"

    /// A short description of `error` for the connection's end cause.
    static func describe(_ error: any Error) -> String {
        if let ws = error as? WebSocketClientError { return ws.description }
        if let io = error as? IOError { return io.description }
        if let qq = error as? QQError { return qq.description }
        if isAbort(error) { return aborted }
        let text = String(describing: error)
        return Redactor.shared.redact(text, clippedTo: 160)
    }

    /// True for what the socket throws when the attempt aborts it: the event loop stopped under a
    /// connect or an upgrade (`ChannelError.inappropriateOperationForState`, `EventLoopError.shutdown`),
    /// or the socket task cancelled once upgraded (`CancellationError`).
    static func isAbort(_ error: any Error) -> Bool {
        switch error {
        case is CancellationError:
            return true
        case let channel as ChannelError:
            return channel == .inappropriateOperationForState
        case let loop as EventLoopError:
            return loop == .shutdown || loop == .shutdownFailed
        case let connect as NIOConnectionError:
            // Happy eyeballs wraps each target's failure; one aborted attempt means the loop stopped.
            return connect.connectionErrors.contains { isAbort($0.error) }
        default:
            return false
        }
    }
}
