import Foundation
import Logging

/// Fetches, caches and refreshes the access token: one refresh at a time, shared by all callers.
actor TokenProvider {
    private let appID: String
    private let appSecret: Secret
    private let tokenURL: String
    private let margin: Duration
    private let timeout: Duration
    private let transport: HTTPTransport
    private let logger: Logger
    private let clock: SessionClock

    private var current: AccessToken?
    private var inflight: Task<Void, Never>?
    private var waiters: [Int: CheckedContinuation<AccessToken, any Error>] = [:]
    private var nextWaiter = 0
    /// Number of successful fetches (tests and the status bar read it).
    private(set) var fetchCount = 0

    init(configuration: SessionConfiguration, transport: HTTPTransport, logger: Logger, clock: SessionClock = .continuous) {
        self.clock = clock
        self.appID = configuration.appID
        self.appSecret = configuration.appSecret
        self.tokenURL = configuration.tokenURL
        self.margin = configuration.tokenRefreshMargin
        self.timeout = configuration.timeouts.request
        self.transport = transport
        self.logger = logger
    }

    /// Token endpoint codes that mean the AppID/AppSecret are wrong (qq-protocol.md §1.1).
    static let credentialCodes: Set<Int> = [100007, 100016, 10004, 11242]

    /// A valid token: the cached one, or a fresh one when it is due for refresh. If the refresh fails
    /// while the cached token has not expired yet, the cached one is still used.
    func token() async throws -> AccessToken {
        if let current, clock.now < current.refreshAt { return current }
        do {
            return try await refresh()
        } catch let error where !(error is CancellationError) {
            if let current, clock.now < current.expiresAt {
                logger.warning("token refresh failed; the current token is still valid", metadata: ["error": "\(error)"])
                return current
            }
            throw error
        }
    }

    /// Time left until the cached token expires (nil when there is none).
    func timeToLive() -> Duration? {
        guard let current else { return nil }
        return max(.zero, current.expiresAt - clock.now)
    }

    /// Drops `token` if it is still the cached one (after a 401 or a 4004), so the next call fetches anew.
    func invalidate(_ token: AccessToken?) {
        if token == nil || current == token { current = nil }
    }

    /// Fetches a new token; concurrent callers share one request. A caller that is cancelled stops
    /// waiting at once without cancelling the request the others are waiting for.
    func refresh() async throws -> AccessToken {
        nextWaiter += 1
        let id = nextWaiter
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                waiters[id] = continuation
                if inflight == nil {
                    inflight = Task {
                        // Isolated to this actor, like the method that creates it.
                        do { self.complete(with: .success(try await self.fetch())) }
                        catch { self.complete(with: .failure(error)) }
                    }
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func complete(with result: Result<AccessToken, any Error>) {
        inflight = nil
        if case .success(let token) = result {
            current = token
            fetchCount += 1
        }
        let waiting = waiters
        waiters.removeAll()
        for (_, continuation) in waiting { continuation.resume(with: result) }
    }

    private func cancelWaiter(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    private func fetch() async throws -> AccessToken {
        let body = try JSONSerialization.data(withJSONObject: ["appId": appID, "clientSecret": appSecret.exposedValue])
        let started = clock.now
        let result = try await transport.perform(
            method: .POST, url: tokenURL, headers: [("Content-Type", "application/json")], body: body,
            timeout: timeout, maxBytes: 64 * 1024, context: "token", followRedirects: false)
        let decoded: TokenResponse
        do {
            decoded = try JSONDecoder().decode(TokenResponse.self, from: result.body)
        } catch {
            throw QQError.malformed("token endpoint answered \(result.body.isEmpty ? "an empty body" : "something that is not a JSON object")",
                                    status: result.status, context: "token", traceID: result.traceID)
        }
        guard (200..<300).contains(result.status), let value = decoded.accessToken, !value.isEmpty else {
            let reason = decoded.message.map(Redactor.shared.redact) ?? "no access_token in the answer"
            // Only a refusal of the credentials is final; rate limits and server trouble are retried.
            let credentials = [401, 403].contains(result.status) || decoded.code.map(Self.credentialCodes.contains) == true
            throw QQError(kind: credentials ? .authentication : .platform, message: "token refused: \(reason)",
                          httpStatus: result.status, code: decoded.code, traceID: result.traceID, context: "token")
        }
        let lifetime = decoded.lifetime
        if decoded.expiresIn == nil {
            logger.warning("token endpoint gave no usable expires_in; assuming 7200 s")
        } else if lifetime != decoded.expiresIn {
            logger.warning("token endpoint gave expires_in \(decoded.expiresIn ?? 0); using \(lifetime) s")
        }
        let token = Secret(value)
        let expiresAt = started + .seconds(lifetime)
        // Refresh `margin` early, but never sooner than half the lifetime: the platform hands back the
        // same token with a short expires_in until its last 60 s, and we must not loop on it.
        let early = min(margin, .seconds(lifetime) / 2)
        logger.debug("access token obtained", metadata: ["expires_in": "\(lifetime)"])
        return AccessToken(value: token, expiresAt: expiresAt, refreshAt: expiresAt - early)
    }
}
