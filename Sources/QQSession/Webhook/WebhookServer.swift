import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The HTTP listener of the webhook transport: plain HTTP (behind a reverse proxy that terminates the
/// platform's HTTPS). Each request is judged by a ``WebhookEndpoint``; a body larger than the limit is
/// refused as soon as its size is known and never read whole.
struct WebhookServer: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    let endpoint: WebhookEndpoint
    let logger: Logger

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The TLS context of a certificate chain and key (PEM files), for built-in HTTPS.
    static func tls(certificate: String, key: String) throws -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey)))
        } catch {
            throw Failure(description: "webhook TLS: cannot use \(certificate) and \(key): \(error)")
        }
    }

    /// Binds `host:port` (port 0: any free one), with TLS when given.
    static func bind(host: String, port: Int, tls: NIOSSLContext? = nil) async throws -> NIOAsyncChannel<Connection, Never> {
        do {
            return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { child in
                    child.eventLoop.makeCompletedFuture {
                        if let tls { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                        try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return try Connection(wrappingChannelSynchronously: child)
                    }
                }
        } catch {
            throw Failure(description: "cannot listen for webhook callbacks on \(host):\(port): \(error)")
        }
    }

    /// Serves until cancelled.
    func run(_ channel: NIOAsyncChannel<Connection, Never>) async {
        await AcceptLoop.run(channel, logger: logger, what: "webhook listener") { await self.serve($0) }
    }

    /// One connection: requests one after the other (keep-alive), each answered in full.
    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = Data()
                // Answered already (refused early): the rest of the request is read and dropped, not
                // kept, so the caller reads the answer instead of a reset connection; then the
                // connection serves the next request, as the answer (no "Connection: close") promised.
                var answered = false
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body.removeAll(keepingCapacity: true)
                        answered = false
                        let length = h.headers.first(name: "content-length").flatMap(Int.init)
                        if let early = endpoint.early(method: h.method.rawValue, uri: h.uri, contentLength: length) {
                            try await Self.write(early, to: outbound, close: !h.isKeepAlive)
                            answered = true
                        }
                    case .body(var buffer):
                        guard !answered else { continue }
                        body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
                        if body.count > endpoint.maxBodyBytes {
                            try await Self.write(await endpoint.respond(signatureHex: nil, timestamp: nil, body: body), to: outbound,
                                                 close: head?.isKeepAlive == false)
                            body.removeAll()
                            answered = true
                        }
                    case .end:
                        guard let h = head else { continue }
                        if !answered {
                            let answer = await endpoint.respond(signatureHex: h.headers.first(name: "X-Signature-Ed25519"),
                                                                timestamp: h.headers.first(name: "X-Signature-Timestamp"), body: body)
                            try await Self.write(answer, to: outbound, close: !h.isKeepAlive)
                        }
                        // A refused request too: closing after it, unannounced, failed a keep-alive
                        // client's next request on the dead connection (URLSession's, in CI).
                        if !h.isKeepAlive { return }
                        head = nil
                        answered = false
                    }
                }
            }
        } catch {
            logger.debug("webhook connection ended", metadata: ["reason": "\(error)"])
        }
    }

    private static func write(_ response: WebhookEndpoint.Response, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
                              close: Bool) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(response.body.utf8.count))
        if close { headers.add(name: "Connection", value: "close") }
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: response.body))))
        try await outbound.write(.end(nil))
    }
}
