import Foundation
import HTTPTypes
import Hummingbird

/// JSON responses exactly as the platform sends them: `Content-Type: application/json` (no charset,
/// botpy compares with `==`), errors as `{message, code, err_code, trace_id}` plus `X-Tps-trace-ID`.
enum SimJSON {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static let traceHeader = HTTPField.Name("X-Tps-trace-ID")!

    /// A JSON response.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, traceID: String? = nil) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/json", .contentLength: String(data.count)]
        headers[traceHeader] = traceID ?? newTraceID()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A QQ error response.
    static func error(code: Int, message: String, status: HTTPResponse.Status = .badRequest, errCode: Int? = nil) -> Response {
        let trace = newTraceID()
        return response(ErrorBody(message: message, code: code, err_code: errCode ?? code, trace_id: trace),
                        status: status, traceID: trace)
    }

    struct ErrorBody: Encodable { var message: String; var code: Int; var err_code: Int; var trace_id: String }

    static func newTraceID() -> String {
        (0..<4).map { _ in String(format: "%08x", UInt32.random(in: .min ... .max)) }.joined()
    }

    /// RFC 3339 with the platform's +08:00 offset.
    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssxxx"
        return formatter.string(from: date)
    }

    /// A platform-looking message id.
    static func messageID() -> String {
        "ROBOT1.0_" + randomToken(22) + "!"
    }

    static func randomToken(_ length: Int) -> String {
        let chars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<length).map { _ in chars.randomElement()! })
    }

    /// A 32-hex-digit openid like the platform's.
    static func openID() -> String {
        (0..<32).map { _ in String(format: "%X", Int.random(in: 0..<16)) }.joined()
    }
}
