import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// The HTTP/1.1 client of the QQ API and the token endpoint: kept-alive connections per origin,
/// one request at a time on each, TLS for `https`, redirects returned as answers, never followed.
///
/// It does only what these two need, on one event loop thread of its own. AsyncHTTPClient, which
/// it replaces there, spent about a fifth of a reply's CPU in its per-request machinery
/// (`bench replies`, perf); the attachment downloads and the agents' HTTP still use it.
final class HTTP1Client: Sendable {
    /// The process-wide client (never shut down).
    static let shared = HTTP1Client()

    /// Connections open at once per origin; a request beyond waits for one. A burst of replies
    /// queued behind 8 (AsyncHTTPClient's default) cost 9 % more CPU per reply, 64 were no better
    /// than 32, and with no limit the connections opened for a burst were closed again after it.
    static let connectionsPerOrigin = 32

    private let group: MultiThreadedEventLoopGroup
    private let tlsConfiguration: TLSConfiguration
    /// Made at the first `https` connection: the system's trust roots cost memory a bot on plain
    /// HTTP (the simulator) never needs.
    private let tls = Mutex<Result<NIOSSLContext, QQError>?>(nil)
    private let origins = Mutex<[HTTPOrigin: HTTPConnectionSlots]>([:])

    /// A client verifying servers with `tls` (by default: the system's trust roots).
    init(tls configuration: TLSConfiguration = .makeClientConfiguration()) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        tlsConfiguration = configuration
    }

    private func tlsContext() throws -> NIOSSLContext {
        try tls.withLock { tls in
            if let made = tls { return made }
            let made: Result<NIOSSLContext, QQError>
            do { made = .success(try NIOSSLContext(configuration: tlsConfiguration)) } catch {
                made = .failure(QQError(kind: .transport, message: "TLS cannot be set up: \(error)"))
            }
            tls = made
            return made
        }.get()
    }

    /// Closes every connection and stops the client's thread (a test's own client; never `shared`).
    func shutdown() async {
        let channels = origins.withLock { $0.values.flatMap { $0.drain() } }
        for channel in channels { try? await channel.close() }
        try? await group.shutdownGracefully()
    }

    /// Sends one request and collects its answer (a body of at most `maxBytes`). A connection kept
    /// from an earlier request is used when there is one; one the server closed meanwhile is
    /// dropped and the request goes on a new one (it was never sent on the old one).
    func execute(_ method: HTTPMethod, url: String, headers: [(String, String)], body: Data?, maxBytes: Int,
                 connectTimeout: Duration) async throws -> HTTPResult {
        guard let (origin, target) = HTTPOrigin.split(url) else {
            throw QQError(kind: .transport, message: "not an http or https URL: \(Redactor.shared.redact(url, clippedTo: 120))")
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target)
        head.headers.reserveCapacity(headers.count + 2)
        head.headers.add(name: "Host", value: origin.hostHeader)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if !head.headers.contains(name: "content-length"), body != nil || method == .POST || method == .PUT || method == .PATCH {
            head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        }
        let bytes = body.map { ByteBuffer(data: $0) }
        let slots = slots(for: origin)
        while true {
            let channel: any Channel
            switch try await slots.acquire() {
            case .kept(let kept):
                channel = kept
            case .connect:
                do { channel = try await connect(origin, timeout: connectTimeout) } catch {
                    slots.release(nil)
                    throw error
                }
            }
            do {
                let answer = try await exchange(on: channel, head: head, body: bytes, maxBytes: maxBytes)
                slots.release(answer.reusable ? channel : nil)
                return answer.result
            } catch HTTPExchangeFailure.notSent {
                slots.release(nil)   // closed while kept: the request goes on another one
            } catch {
                channel.close(promise: nil)
                slots.release(nil)
                throw error
            }
        }
    }

    private func exchange(on channel: any Channel, head: HTTPRequestHead, body: ByteBuffer?,
                          maxBytes: Int) async throws -> HTTPAnswer {
        let promise = channel.eventLoop.makePromise(of: HTTPAnswer.self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        // The handler takes the request or fails this write: a connection already closed (its
        // handlers gone, or the handler saw it inactive). Then nothing was sent.
        written.futureResult.whenFailure { _ in promise.fail(HTTPExchangeFailure.notSent) }
        return try await withTaskCancellationHandler {
            channel.writeAndFlush(HTTPExchange(head: head, body: body, maxBytes: maxBytes, promise: promise), promise: written)
            return try await promise.futureResult.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    private func slots(for origin: HTTPOrigin) -> HTTPConnectionSlots {
        origins.withLock { origins in
            if let slots = origins[origin] { return slots }
            let slots = HTTPConnectionSlots(limit: Self.connectionsPerOrigin)
            origins[origin] = slots
            return slots
        }
    }

    /// Kept connections to `url`'s origin that are still open (what tests look at).
    func keptConnections(to url: String) -> Int {
        guard let origin = HTTPOrigin.split(url)?.origin else { return 0 }
        return origins.withLock { $0[origin] }?.keptCount ?? 0
    }

    private func connect(_ origin: HTTPOrigin, timeout: Duration) async throws -> any Channel {
        let context: NIOSSLContext?
        if origin.secure { context = try tlsContext() } else { context = nil }
        let serverName = origin.hostIsAddress ? nil : origin.host
        let handshake = context.map { _ in group.next().makePromise(of: Void.self) }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Int64(timeout.seconds * 1e9)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context, let handshake {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(handshake))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPExchangeHandler())
                }
            }
        // An address needs no resolver (getaddrinfo and the libraries it loads).
        let connecting = if origin.hostIsAddress, let address = try? SocketAddress(ipAddress: origin.host, port: origin.port) {
            bootstrap.connect(to: address)
        } else {
            bootstrap.connect(host: origin.host, port: origin.port)
        }
        let channel: any Channel
        do { channel = try await connecting.get() } catch {
            guard let reason = Self.connectFailure(error) else { throw error }
            throw HTTPExchangeFailure.cannotConnect(host: origin.host, port: origin.port, reason: reason)
        }
        if let handshake {
            // A refused certificate is the connection's error, not a request's that never went out.
            try await withTaskCancellationHandler {
                try await handshake.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        }
        return channel
    }

    /// Why a connect failed, in the system's words; nil for what callers tell apart by type (a timeout).
    static func connectFailure(_ error: any Error) -> String? {
        switch error {
        case let io as IOError:
            return String(cString: strerror(io.errnoCode)).lowercased()
        case let connect as NIOConnectionError:
            // A name connects to each of its addresses in turn: the first address's failure says why.
            if let first = connect.connectionErrors.first { return connectFailure(first.error) ?? "\(first.error)" }
            return connect.dnsAError != nil || connect.dnsAAAAError != nil ? "the name does not resolve" : "no address to connect to"
        default:
            return nil
        }
    }
}

/// Completes its promise when the TLS handshake is done, or fails it with the handshake's error.
private final class TLSHandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<Void>

    init(_ promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { promise.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(HTTPExchangeFailure.closed(answerStarted: false))
        context.fireChannelInactive()
    }
}
