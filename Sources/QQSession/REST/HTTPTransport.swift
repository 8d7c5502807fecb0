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
    /// The client of requests carrying credentials (the token endpoint and the API).
    var apiClient: HTTP1Client = .shared

    /// Performs a request and collects the body (at most `maxBytes`, or a `.download` error).
    /// Without `followRedirects` (the token endpoint and the API: redirects are answers, not
    /// instructions) it goes through ``HTTP1Client``.
    func perform(method: HTTPMethod, url: String, headers: [(String, String)] = [], body: Data? = nil,
                 timeout: Duration, maxBytes: Int = 4 * 1024 * 1024, context: String,
                 followRedirects: Bool = true) async throws -> HTTPResult {
        if !followRedirects {
            return try await performDirect(method: method, url: url, headers: headers, body: body, timeout: timeout,
                                           maxBytes: maxBytes, context: context)
        }
        let client = HTTPClient.shared
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

    private func performDirect(method: HTTPMethod, url: String, headers: [(String, String)], body: Data?,
                               timeout: Duration, maxBytes: Int, context: String) async throws -> HTTPResult {
        let client = apiClient
        do {
            return try await withTimeout(timeout, what: "request", context: context, clock: clock) {
                try await client.execute(method, url: url, headers: headers, body: body, maxBytes: maxBytes, connectTimeout: timeout)
            }
        } catch let error as QQError {
            throw error
        } catch HTTPExchangeFailure.tooLarge(let declared, let limit, let status) {
            throw QQError(kind: .download, message: HTTPExchangeFailure.tooLarge(declared: declared, limit: limit, status: status).description,
                          httpStatus: status, context: context)
        } catch ChannelError.connectTimeout {
            throw QQError.timeout("request", after: timeout, context: context)
        } catch {
            throw QQError.transport(error, context: context)
        }
    }
}
