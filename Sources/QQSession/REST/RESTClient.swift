import Foundation
import Logging
import NIOHTTP1

/// The QQ REST API: `Authorization: QQBot <token>`, JSON in and out, QQ errors as ``QQError``.
///
/// A 401 drops the token, fetches a new one and retries the request once. Anything that is not the
/// JSON object the API promises (empty body, HTML, a bare array) is a `.malformedResponse` error.
struct RESTClient: Sendable {
    let apiBase: String
    let appID: String
    let tokens: TokenProvider
    let transport: HTTPTransport
    let timeout: Duration

    /// Sends a request and decodes the JSON object it answers with.
    func request<T: Decodable>(_ method: HTTPMethod, _ path: String, body: Data? = nil, as type: T.Type,
                               context: String? = nil) async throws -> T {
        let label = context ?? "\(method.rawValue) \(path)"
        let data = try await requestData(method, path, body: body, context: label)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw QQError.malformed("the answer does not have the expected fields (\(Self.describe(error)))",
                                    status: 200, context: label)
        }
    }

    /// Sends a request and returns the validated JSON object body (`{}` for 204).
    func requestData(_ method: HTTPMethod, _ path: String, body: Data? = nil, context: String) async throws -> Data {
        try Self.validate(try await exchange(method, path, body: body, context: context), context: context)
    }

    /// Sends a request and returns the validated JSON object, read once (`{}` for 204; nil for an
    /// object Foundation reads but ``JSONValue`` cannot hold, such as a number beyond a Double).
    func requestJSON(_ method: HTTPMethod, _ path: String, body: Data? = nil, context: String) async throws -> JSONValue? {
        let result = try await exchange(method, path, body: body, context: context)
        // Most answers are small plain objects: one narrow read checks and decodes them.
        if let json = JSONScanner.value(result.body) { return try Self.validate(result, json: json, context: context) }
        let data = try Self.validate(result, context: context)
        return try? JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// One exchange, with a new token and a second try after a 401.
    private func exchange(_ method: HTTPMethod, _ path: String, body: Data?, context: String) async throws -> HTTPResult {
        var token = try await tokens.token()
        var result = try await send(method, path, body: body, token: token, context: context)
        if result.status == 401 {
            // Drop the token only if nobody replaced it yet; concurrent 401s share one new token.
            await tokens.invalidate(token)
            token = try await tokens.token()
            result = try await send(method, path, body: body, token: token, context: context)
        }
        return result
    }

    private func send(_ method: HTTPMethod, _ path: String, body: Data?, token: AccessToken,
                      context: String) async throws -> HTTPResult {
        var headers = [("Authorization", token.authorization), ("X-Union-Appid", appID)]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await transport.perform(method: method, url: apiBase + path, headers: headers, body: body,
                                           timeout: timeout, context: context, followRedirects: false)
    }

    /// Turns an HTTP result into a JSON object body or a ``QQError``.
    static func validate(_ result: HTTPResult, context: String) throws -> Data {
        let errorBody = QQErrorBody.parse(result.body)
        try refuseError(result, errorBody, context: context)
        let trace = errorBody?.traceID ?? result.traceID
        if result.status == 204 { return Data("{}".utf8) }
        if result.body.isEmpty {
            throw QQError.malformed("empty body", status: result.status, context: context, traceID: trace)
        }
        try refuseContentType(result, trace: trace, context: context)
        guard let object = try? JSONSerialization.jsonObject(with: result.body, options: [.fragmentsAllowed]) else {
            throw QQError.malformed("not JSON: \(snippet(result.body))", status: result.status, context: context, traceID: trace)
        }
        guard object is [String: Any] else {
            throw QQError.malformed("JSON that is not an object: \(snippet(result.body))", status: result.status,
                                    context: context, traceID: trace)
        }
        try refuseAcceptedError(result, errorBody, context: context)
        return result.body
    }

    /// ``validate(_:context:)`` for a body already read (`json` is what `JSONDecoder` makes of it):
    /// the same checks in the same order, the same errors.
    static func validate(_ result: HTTPResult, json: JSONValue, context: String) throws -> JSONValue {
        let errorBody = QQErrorBody(json)
        try refuseError(result, errorBody, context: context)
        if result.status == 204 { return .object([:]) }
        try refuseContentType(result, trace: errorBody?.traceID ?? result.traceID, context: context)
        guard case .object = json else {
            throw QQError.malformed("JSON that is not an object: \(snippet(result.body))", status: result.status,
                                    context: context, traceID: errorBody?.traceID ?? result.traceID)
        }
        try refuseAcceptedError(result, errorBody, context: context)
        return json
    }

    /// A status outside 2xx as the platform's error (its code and trace id when the body has them).
    private static func refuseError(_ result: HTTPResult, _ errorBody: QQErrorBody?, context: String) throws {
        let trace = errorBody?.traceID ?? result.traceID
        guard (200..<300).contains(result.status) else {
            if let errorBody {
                throw QQError(kind: result.status == 401 ? .authentication : .platform,
                              message: errorBody.message ?? "request refused", httpStatus: result.status,
                              code: errorBody.code, errCode: errorBody.errCode, traceID: trace, context: context)
            }
            throw QQError(kind: .platform, message: "HTTP \(result.status): \(snippet(result.body))",
                          httpStatus: result.status, traceID: trace, context: context)
        }
    }

    private static func refuseContentType(_ result: HTTPResult, trace: String?, context: String) throws {
        if let type = result.contentType, !isJSON(type) {
            throw QQError.malformed("content type \(type), expected application/json: \(snippet(result.body))",
                                    status: result.status, context: context, traceID: trace)
        }
    }

    /// 201/202 are "accepted" but may carry an error body (the platform's docs say so).
    private static func refuseAcceptedError(_ result: HTTPResult, _ errorBody: QQErrorBody?, context: String) throws {
        if result.status != 200, let errorBody, let code = errorBody.errCode ?? errorBody.code, code != 0 {
            throw QQError(kind: .platform, message: errorBody.message ?? "request not accepted", httpStatus: result.status,
                          code: errorBody.code, errCode: errorBody.errCode, traceID: errorBody.traceID ?? result.traceID,
                          context: context)
        }
    }

    static func isJSON(_ contentType: String) -> Bool {
        // What the platform sends, without Foundation's trimming.
        if contentType == "application/json" || contentType == "application/json; charset=utf-8" { return true }
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return media == "application/json"
    }

    /// At most 160 printable characters of a body, secrets scrubbed (in the whole body, before it is
    /// cut), for an error message.
    static func snippet(_ body: Data) -> String {
        if body.isEmpty { return "(empty)" }
        let text = String(decoding: body, as: UTF8.self)
        let printable = String(String.UnicodeScalarView(text.unicodeScalars.map {
            $0.properties.generalCategory == .control ? " " : $0
        }))
        return Redactor.shared.redact(printable, clippedTo: 160)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing \(key.stringValue)"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted: return "not JSON"
        default: return "undecodable"
        }
    }
}

/// `{"message", "code", "err_code", "trace_id"}`: the platform's error body.
struct QQErrorBody: Decodable {
    var message: String?
    var code: Int?
    var errCode: Int?
    var traceID: String?

    enum CodingKeys: String, CodingKey { case message, code, errCode = "err_code", traceID = "trace_id" }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        message = (try? c.decodeIfPresent(String.self, forKey: .message)) ?? nil
        code = (try? c.decodeIfPresent(Int.self, forKey: .code)) ?? nil
        errCode = (try? c.decodeIfPresent(Int.self, forKey: .errCode)) ?? nil
        traceID = (try? c.decodeIfPresent(String.self, forKey: .traceID)) ?? nil
    }

    /// The error body in an answer already read, as ``parse(_:)`` would find it.
    init?(_ json: JSONValue) {
        guard case .object = json else { return nil }
        message = json["message"]?.stringValue
        code = json["code"]?.intValue
        errCode = json["err_code"]?.intValue
        traceID = json["trace_id"]?.stringValue
        guard message != nil || code != nil || errCode != nil else { return nil }
    }

    /// The error body in `data`, if it is one (has a message or a code).
    static func parse(_ data: Data) -> QQErrorBody? {
        guard !data.isEmpty, let body = try? JSONDecoder().decode(QQErrorBody.self, from: data),
              body.message != nil || body.code != nil || body.errCode != nil else { return nil }
        return body
    }
}
