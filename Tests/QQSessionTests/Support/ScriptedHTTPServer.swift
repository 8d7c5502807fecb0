import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// What a ``ScriptedHTTPServer`` saw of one request.
struct SeenRequest: Sendable {
    var method: String
    var uri: String
    var headers: [String: String]
    var body: String
    /// Which connection carried it (1 for the first accepted).
    var connection: Int
}

/// How a ``ScriptedHTTPServer`` answers one request.
enum ScriptedReply: Sendable {
    /// An answer; `close` adds `Connection: close` and closes after it; `chunked` sends the body in
    /// 100-byte chunks with no length.
    case answer(status: Int, headers: [(String, String)] = [("Content-Type", "application/json")], body: String,
                close: Bool = false, chunked: Bool = false)
    /// Closes the connection without answering.
    case hangUp
    /// A 200 with `body`, held until ``ScriptedHTTPServer/openGate()`` (at once once it is open).
    case held(body: String)
}

/// An HTTP/1.1 server on 127.0.0.1 (an ephemeral port, TLS optional) that answers every request as
/// its script says, and remembers what it was asked and on which connection.
final class ScriptedHTTPServer: Sendable {
    private final class State: Sendable {
        let seen = Mutex<[SeenRequest]>([])
        let open = Mutex<[any Channel]>([])
        let accepted = Atomic<Int>(0)
        /// Nil once the gate is open; else the held answers, to send when it opens.
        let held = Mutex<[@Sendable () -> Void]?>([])
    }
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let state = State()
    private let listener: any Channel
    let port: Int

    /// Listens now; `script` answers each request.
    init(tls: NIOSSLContext? = nil, script: @escaping @Sendable (SeenRequest) -> ScriptedReply) async throws {
        let state = self.state
        listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                let number = state.accepted.add(1, ordering: .relaxed).newValue
                state.open.withLock { $0.append(child) }
                return child.eventLoop.makeCompletedFuture {
                    if let tls { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try child.pipeline.syncOperations.addHandler(Handler(connection: number, script: script, record: { request in
                        state.seen.withLock { $0.append(request) }
                    }, hold: { answer in
                        let now = state.held.withLock { held -> Bool in
                            held?.append(answer)
                            return held == nil
                        }
                        if now { answer() }
                    }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = listener.localAddress?.port ?? 0
    }

    /// Every request so far, in order.
    var requests: [SeenRequest] { state.seen.withLock { $0 } }
    /// Connections accepted so far.
    var connections: Int { state.accepted.load(ordering: .relaxed) }

    /// Closes every connection open now (the server stays up).
    func closeConnections() async {
        let channels = state.open.withLock { open in
            defer { open = [] }
            return open
        }
        for channel in channels { try? await channel.close() }
    }

    /// Sends every held answer, and from now on answers `.held` at once.
    func openGate() {
        let held = state.held.withLock { held in
            defer { held = nil }
            return held ?? []
        }
        for answer in held { answer() }
    }

    func stop() async {
        await closeConnections()
        try? await listener.close()
        try? await group.shutdownGracefully()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let connection: Int
        let script: @Sendable (SeenRequest) -> ScriptedReply
        let record: @Sendable (SeenRequest) -> Void
        let hold: @Sendable (@escaping @Sendable () -> Void) -> Void
        var head: HTTPRequestHead?
        var body = ""

        init(connection: Int, script: @escaping @Sendable (SeenRequest) -> ScriptedReply, record: @escaping @Sendable (SeenRequest) -> Void,
             hold: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
            (self.connection, self.script, self.record, self.hold) = (connection, script, record, hold)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): (head, body) = (h, "")
            case .body(let bytes): body += String(buffer: bytes)
            case .end:
                guard let head else { return }
                var headers: [String: String] = [:]
                for (name, value) in head.headers { headers[name.lowercased()] = value }
                let request = SeenRequest(method: head.method.rawValue, uri: head.uri, headers: headers, body: body, connection: connection)
                record(request)
                answer(script(request), context: context)
            }
        }

        private func answer(_ reply: ScriptedReply, context: ChannelHandlerContext) {
            switch reply {
            case .hangUp:
                context.close(promise: nil)
            case .held(let text):
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let loop = context.eventLoop
                hold {
                    loop.execute {
                        let (handler, context) = bound.value
                        handler.answer(.answer(status: 200, body: text), context: context)
                    }
                }
            case .answer(let status, let extra, let text, let close, let chunked):
                var headers = HTTPHeaders(extra)
                if !chunked { headers.add(name: "Content-Length", value: String(text.utf8.count)) }
                if close { headers.add(name: "Connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))),
                              promise: nil)
                let bytes = Array(text.utf8)
                let step = chunked ? 100 : max(bytes.count, 1)
                for start in stride(from: 0, to: bytes.count, by: step) {
                    let piece = context.channel.allocator.buffer(bytes: bytes[start..<min(start + step, bytes.count)])
                    context.write(wrapOutboundOut(.body(.byteBuffer(piece))), promise: nil)
                }
                let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
                if close { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
            }
        }
    }
}
