import Foundation

/// The one error type of QQSession: what went wrong, with the context a person needs to act on it.
///
/// Platform refusals carry the HTTP status and the QQ `code`, `err_code`, `message` and `trace_id`.
/// No error ever carries the app secret or the access token (see ``Secret``).
public struct QQError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The kind of failure; extensible without breaking callers that switch with a default.
    public struct Kind: Hashable, Sendable, Codable, CustomStringConvertible {
        private enum Code: String, Hashable, Sendable, Codable {
            case configuration, authentication, platform, malformedResponse, transport, timeout
            case gatewayClosed, gatewayProtocol, offline, download, cancelled, store, agent
        }
        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// The configuration is invalid (names the key).
        public static let configuration = Kind(.configuration)
        /// The token endpoint or the gateway refused the credentials.
        public static let authentication = Kind(.authentication)
        /// The platform answered with a QQ error body (see `code`, `errCode`, `traceID`).
        public static let platform = Kind(.platform)
        /// The platform answered something that is not the JSON object the API promises.
        public static let malformedResponse = Kind(.malformedResponse)
        /// A network-level failure (refused, reset, DNS, TLS).
        public static let transport = Kind(.transport)
        /// A request or a protocol step did not finish in time.
        public static let timeout = Kind(.timeout)
        /// The gateway closed the WebSocket (see `closeCode`).
        public static let gatewayClosed = Kind(.gatewayClosed)
        /// The gateway broke the protocol (no Hello, no READY, an undecodable frame sequence).
        public static let gatewayProtocol = Kind(.gatewayProtocol)
        /// The session gave up reconnecting or was stopped by a fatal close code.
        public static let offline = Kind(.offline)
        /// An attachment could not be downloaded.
        public static let download = Kind(.download)
        /// The operation was cancelled.
        public static let cancelled = Kind(.cancelled)
        /// The message store (SQLite) could not be opened or written.
        public static let store = Kind(.store)
        /// An agent could not start, failed, timed out or broke its protocol.
        public static let agent = Kind(.agent)

        public var description: String { code.rawValue }
    }

    /// What failed.
    public var kind: Kind
    /// A human-readable sentence (never contains a secret).
    public var message: String
    /// HTTP status of the response, when there was one.
    public var httpStatus: Int?
    /// QQ `code` from an error body.
    public var code: Int?
    /// QQ `err_code` from an error body (may differ from `code`; the platform says to judge by this one).
    public var errCode: Int?
    /// QQ `trace_id` (body) or `X-Tps-trace-ID` (header).
    public var traceID: String?
    /// WebSocket close code, for `.gatewayClosed`.
    public var closeCode: Int?
    /// What was being done (e.g. "POST /v2/users/{openid}/messages", "token", "key bot.intents").
    public var context: String?

    /// Creates an error; prefer the static constructors.
    public init(kind: Kind, message: String, httpStatus: Int? = nil, code: Int? = nil, errCode: Int? = nil,
                traceID: String? = nil, closeCode: Int? = nil, context: String? = nil) {
        self.kind = kind
        // Scrubbed here, once for every error: a platform or agent that echoes the request (an error body
        // quoting the Authorization header, a proxy quoting the token request) must not carry a secret
        // into the store, a screen or a log through an error message.
        self.message = Redactor.shared.redact(message)
        self.httpStatus = httpStatus
        self.code = code
        self.errCode = errCode
        self.traceID = traceID.map(Redactor.shared.redact)
        self.closeCode = closeCode
        self.context = context
    }

    /// The most specific QQ code: `err_code` when present, else `code`.
    public var qqCode: Int? { errCode ?? code }

    /// One line for a status bar or a log: kind, context, codes, message, trace id.
    public var description: String {
        var parts: [String] = []
        if let context { parts.append(context + ":") }
        parts.append(message)
        var codes: [String] = []
        if let httpStatus { codes.append("HTTP \(httpStatus)") }
        if let code { codes.append("code \(code)") }
        if let errCode, errCode != code { codes.append("err_code \(errCode)") }
        if let closeCode { codes.append("close \(closeCode)") }
        if let traceID { codes.append("trace \(traceID)") }
        if !codes.isEmpty { parts.append("(" + codes.joined(separator: ", ") + ")") }
        return parts.joined(separator: " ")
    }
}

extension QQError {
    static func configuration(_ message: String, key: String? = nil) -> QQError {
        QQError(kind: .configuration, message: message, context: key.map { "key \($0)" })
    }
    static func malformed(_ message: String, status: Int?, context: String?, traceID: String? = nil) -> QQError {
        QQError(kind: .malformedResponse, message: message, httpStatus: status, traceID: traceID, context: context)
    }
    static func transport(_ error: any Error, context: String?) -> QQError {
        if let qq = error as? QQError { return qq }
        if error is CancellationError { return QQError(kind: .cancelled, message: "cancelled", context: context) }
        return QQError(kind: .transport, message: Redactor.shared.redact(String(describing: error)), context: context)
    }
    static func timeout(_ what: String, after: Duration, context: String? = nil) -> QQError {
        QQError(kind: .timeout, message: "\(what) did not finish within \(after.shortDescription)", context: context)
    }
}
