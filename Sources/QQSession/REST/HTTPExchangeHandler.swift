import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One request on a kept-alive connection and the promise of its answer.
struct HTTPExchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    /// The longest answer body accepted.
    var maxBytes: Int
    var promise: EventLoopPromise<HTTPAnswer>
}

/// An answer, and whether its connection can carry the next request.
struct HTTPAnswer: Sendable {
    var result: HTTPResult
    var reusable: Bool
}

/// Why an exchange failed below HTTP.
enum HTTPExchangeFailure: Error, Sendable, CustomStringConvertible {
    /// The connection was closed before the request was written: nothing reached the server.
    case notSent
    /// The connection closed after the request was written, before the whole answer came.
    case closed(answerStarted: Bool)
    /// The answer's body is larger than the limit (`declared`: what its Content-Length said).
    case tooLarge(declared: Int?, limit: Int, status: Int)
    /// No connection could be opened (`reason`: the system's words, "connection refused").
    case cannotConnect(host: String, port: Int, reason: String)

    var description: String {
        switch self {
        case .notSent: "the connection was closed before the request went out"
        case .closed(false): "the server closed the connection without answering"
        case .closed(true): "the server closed the connection in the middle of its answer"
        case .tooLarge(let declared?, let limit, _): "response of \(declared) bytes exceeds the \(limit)-byte limit"
        case .tooLarge(nil, let limit, _): "response exceeds the \(limit)-byte limit"
        case .cannotConnect(let host, let port, let reason): "cannot connect to \(host):\(port): \(reason)"
        }
    }
}

/// The last handler of an API connection: writes one request at a time and collects its answer.
///
/// Anything the server sends with no request waiting, or after an answer that closes the
/// connection, closes the connection: it can never be taken for the next request's answer.
final class HTTPExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPExchange
    typealias OutboundOut = HTTPClientRequestPart

    private var pending: HTTPExchange?
    private var head: HTTPResponseHead?
    /// The answer's Content-Length, read once from its head.
    private var declared: Int?
    private var body = ByteBuffer()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard context.channel.isActive, pending == nil else {
            exchange.promise.fail(HTTPExchangeFailure.notSent)
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        pending = exchange
        (head, declared) = (nil, nil)
        body = context.channel.allocator.buffer(capacity: 0)
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let bytes = exchange.body, bytes.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        // Taken: from here a failure is the exchange's (closed, not `notSent`), whatever was written.
        promise?.succeed(())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange = pending else {
            context.close(promise: nil)   // nobody asked
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let answer):
            head = answer
            declared = answer.headers.first(name: "content-length").flatMap(Int.init)
            if let declared, declared > exchange.maxBytes {
                fail(HTTPExchangeFailure.tooLarge(declared: declared, limit: exchange.maxBytes, status: Int(answer.status.code)), context)
            }
        case .body(var chunk):
            guard body.readableBytes + chunk.readableBytes <= exchange.maxBytes else {
                fail(HTTPExchangeFailure.tooLarge(declared: nil, limit: exchange.maxBytes, status: Int(head?.status.code ?? 0)), context)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard let answer = head else {
                fail(HTTPExchangeFailure.closed(answerStarted: false), context)
                return
            }
            pending = nil
            let result = HTTPResult(status: Int(answer.status.code), contentType: answer.headers.first(name: "content-type"),
                                    traceID: answer.headers.first(name: "x-tps-trace-id"), contentLength: declared,
                                    body: Data(buffer: body))
            body = ByteBuffer()
            exchange.promise.succeed(HTTPAnswer(result: result, reusable: answer.isKeepAlive))
            if !answer.isKeepAlive { context.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange = pending {
            pending = nil
            exchange.promise.fail(HTTPExchangeFailure.closed(answerStarted: head != nil))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context)
    }

    /// Fails the exchange under way (if any) and closes the connection.
    private func fail(_ error: any Error, _ context: ChannelHandlerContext) {
        if let exchange = pending {
            pending = nil
            exchange.promise.fail(error)
        }
        context.close(promise: nil)
    }
}
