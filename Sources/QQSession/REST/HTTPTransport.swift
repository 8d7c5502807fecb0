import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix

/// One HTTP exchange's result, body fully collected.
struct HTTPResult: Sendable {
    var status: Int
    var contentType: String?
    var traceID: String?
    var contentLength: Int?
    var body: Data
}

/// The HTTP client QQSession uses for the token endpoint, REST calls and attachment downloads.
///
/// It wraps process-wide clients (never shut down, so no lifecycle trap) and adds a whole-exchange
/// deadline and a body size cap. Requests carrying credentials never follow redirects: a redirect
/// would resend the app secret or the `Authorization` header to wherever it points.
struct HTTPTransport: Sendable {
    /// What the whole-exchange deadline is measured on.
    var clock: SessionClock = .continuous

    /// For the token endpoint and the REST API: redirects are answers, not instructions. On one
    /// event loop thread of its own: NIO's shared group spread the connections over every core, and
    /// the wake-ups between those threads cost a reply 13 % more CPU (`bench replies`, 2 cores);
    /// one thread carries thousands of requests a second. Up to 32 connections to the API (the
    /// client's default is 8): a burst of replies queued behind 8 cost 9 % more CPU per reply, and
    /// 64 were no better.
    private static let credentialClient = HTTPClient(
        eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: 1)),
        configuration: {
            var c = HTTPClient.Configuration(redirectConfiguration: .disallow)
            c.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
            return c
        }())

    /// Performs a request and collects the body (at most `maxBytes`, or a `.download` error).
    func perform(method: HTTPMethod, url: String, headers: [(String, String)] = [], body: Data? = nil,
                 timeout: Duration, maxBytes: Int = 4 * 1024 * 1024, context: String,
                 followRedirects: Bool = true) async throws -> HTTPResult {
        let client = followRedirects ? HTTPClient.shared : Self.credentialClient
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        let capturedRequest = request
        do {
            return try await withTimeout(timeout, what: "request", context: context, clock: clock) {
                let response = try await client.execute(capturedRequest, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
                let declared = response.headers.first(name: "content-length").flatMap(Int.init)
                if let declared, declared > maxBytes {
                    throw QQError(kind: .download, message: "response of \(declared) bytes exceeds the \(maxBytes)-byte limit",
                                  httpStatus: Int(response.status.code), context: context)
                }
                var collected = ByteBuffer()
                for try await var chunk in response.body {
                    guard collected.readableBytes + chunk.readableBytes <= maxBytes else {
                        throw QQError(kind: .download, message: "response exceeds the \(maxBytes)-byte limit",
                                      httpStatus: Int(response.status.code), context: context)
                    }
                    collected.writeBuffer(&chunk)
                }
                return HTTPResult(
                    status: Int(response.status.code),
                    contentType: response.headers.first(name: "content-type"),
                    traceID: response.headers.first(name: "x-tps-trace-id"),
                    contentLength: declared,
                    body: Data(buffer: collected))
            }
        } catch let error as QQError {
            throw error
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            // The client's own deadline can fire a moment before ours: it is the same timeout.
            throw QQError.timeout("request", after: timeout, context: context)
        } catch {
            throw QQError.transport(error, context: context)
        }
    }
}
