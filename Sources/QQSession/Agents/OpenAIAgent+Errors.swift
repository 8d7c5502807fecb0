import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors of the openai backend, worded for the operator. Every text passes the ``Redactor`` so the API
/// key never shows, whatever a library or the server echoes.
extension OpenAIAgent {
    /// The request got no response head: refused, unreachable, or too slow.
    static func connectError(_ error: any Error, configuration: OpenAIAgentConfiguration) -> QQError {
        let base = Redactor.shared.redact(configuration.displayBase)
        let timedOut = (error as? QQError)?.kind == .timeout
        if let qq = error as? QQError, !timedOut { return qq }
        if timedOut || (error as? HTTPClientError).map({ $0 == .deadlineExceeded || $0 == .readTimeout }) == true {
            return QQError.agent("the server at \(base) did not answer within \(configuration.requestTimeout.shortDescription)",
                                 context: "openai")
        }
        if isConnectionRefused(error) {
            return QQError.agent("cannot connect to \(base): connection refused (is the server running?)", context: "openai")
        }
        if let http = error as? HTTPClientError, http == .connectTimeout {
            return QQError.agent("cannot connect to \(base): the connection timed out", context: "openai")
        }
        return QQError.agent("cannot reach \(base): \(OpenAIStreamDecoder.excerpt(String(describing: error), limit: 300))",
                             context: "openai")
    }

    /// The stream broke after the response head.
    static func streamError(_ error: any Error, configuration: OpenAIAgentConfiguration) -> QQError {
        if let http = error as? HTTPClientError, http == .remoteConnectionClosed {
            return QQError.agent("the server closed the stream before the answer finished", context: "openai")
        }
        let base = Redactor.shared.redact(configuration.displayBase)
        return QQError.agent(
            "the stream from \(base) broke: \(OpenAIStreamDecoder.excerpt(String(describing: error), limit: 300))",
            context: "openai")
    }

    /// A non-2xx answer: its status and the server's own message (`{"error":{"message":…}}` and the
    /// like, else the start of the body).
    static func statusError(_ response: HTTPClientResponse, configuration: OpenAIAgentConfiguration) async -> QQError {
        let status = Int(response.status.code)
        var body = ByteBuffer()
        do {
            // The body is read for its message only: bounded in size and in time.
            body = try await withTimeout(.seconds(5), what: "error body") {
                var collected = ByteBuffer()
                for try await var chunk in response.body {
                    collected.writeBuffer(&chunk)
                    if collected.readableBytes >= maxErrorBodyBytes { break }
                }
                return collected
            }
        } catch {
            // No body to quote: the status alone still says what happened.
        }
        let data = Data(buffer: body)
        var detail = (try? JSONDecoder().decode(JSONValue.self, from: data)).flatMap(OpenAIStreamDecoder.errorMessage(in:))
        if detail == nil {
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            detail = text.isEmpty ? nil : OpenAIStreamDecoder.excerpt(text, limit: 300)
        }
        let base = Redactor.shared.redact(configuration.displayBase)
        let reason = "\(status) \(response.status.reasonPhrase)"
        return QQError(kind: .agent, message: "the server at \(base) answered \(reason)" + (detail.map { ": \($0)" } ?? ""),
                       httpStatus: status, context: "openai")
    }

    /// True when the connection was refused (nothing listens on the port).
    static func isConnectionRefused(_ error: any Error) -> Bool {
        if let io = error as? IOError { return io.errnoCode == ECONNREFUSED }
        if let connection = error as? NIOConnectionError {
            return connection.connectionErrors.contains { isConnectionRefused($0.error) }
        }
        return String(describing: error).contains("Connection refused")
    }
}
