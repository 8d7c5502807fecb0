import Foundation

/// The result of one connection attempt.
struct AttemptOutcome: Sendable {
    var cause: GatewayEndCause
    /// How long it was READY (nil: it never got there).
    var readyFor: Duration?
    /// A reason to stop for good (token refused, IP not whitelisted).
    var fatal: String?
    /// Details for the status bar's last error.
    var detail: String?
}

extension GatewayDriver {
    /// One attempt: token, gateway URL, WebSocket, then frames until the connection ends.
    func runAttempt(plan: GatewayPlan) async -> AttemptOutcome {
        // Shutdown and reconnect commands cancel the preparation through its stop signal; the
        // connection itself is ended through its gate instead (cancelling it mid-handshake strands the socket).
        let stop = StopSignal()
        let cancelNow = state.withLock { s -> Bool in
            s.stage = .preparing(stop)
            return s.shuttingDown
        }
        if cancelNow { stop.fire() }
        let outcome = await stop.run { await self.prepare() }
        state.withLock { $0.stage = .idle }
        switch outcome {
        case .success(let (token, url))?:
            return await connect(url: url, token: token, plan: plan)
        case .failure(let failure)?:
            return failure.outcome
        case nil:
            return AttemptOutcome(cause: .transportError("cancelled"))
        }
    }

    /// Why the preparation failed, as the attempt's outcome.
    struct AttemptFailure: Error {
        var outcome: AttemptOutcome
    }

    /// Token and gateway URL.
    private func prepare() async -> Result<(AccessToken, String), AttemptFailure> {
        let token: AccessToken
        do {
            token = try await tokens.token()
            let expiry = token.expiresAt
            state.withLock { $0.tokenExpiry = expiry }
            delegate.onToken(clock.date.addingTimeInterval((expiry - clock.now).seconds))
        } catch is CancellationError {
            return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("cancelled"))))
        } catch let error as QQError {
            if error.kind == .cancelled { return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("cancelled")))) }
            delegate.onInbound(.notice(Notice(level: .error, kind: .tokenError, message: error.description)))
            if error.kind == .authentication {
                return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("token refused"), fatal: error.description)))
            }
            return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("token: \(error.message)"), detail: error.description)))
        } catch {
            return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("token: \(error)"))))
        }
        do {
            return .success((token, try await discoverGatewayURL()))
        } catch let error as QQError {
            if error.kind == .cancelled { return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("cancelled")))) }
            if error.kind == .authentication {
                return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("gateway discovery refused"),
                                                                       fatal: error.description)))
            }
            return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("gateway discovery failed"),
                                                                   detail: error.description)))
        } catch {
            return .failure(AttemptFailure(outcome: AttemptOutcome(cause: .transportError("gateway discovery failed: \(error)"))))
        }
    }

    /// `GET /gateway/bot` (falling back to `GET /gateway`), or the configured URL.
    func discoverGatewayURL() async throws -> String {
        if let fixed = configuration.gatewayURL { return fixed }
        struct GatewayBot: Decodable {
            var url: String
            var shards: Int?
            var sessionStartLimit: Limit?
            struct Limit: Decodable { var total: Int?; var remaining: Int?; var resetAfter: Int?
                enum CodingKeys: String, CodingKey { case total, remaining, resetAfter = "reset_after" } }
            enum CodingKeys: String, CodingKey { case url, shards, sessionStartLimit = "session_start_limit" }
        }
        do {
            let bot = try await rest.request(.GET, "/gateway/bot", as: GatewayBot.self)
            if let remaining = bot.sessionStartLimit?.remaining, remaining <= 0 {
                delegate.onInbound(.notice(Notice(level: .warning, kind: .gatewayError,
                    message: "session start limit reached (remaining 0); the platform may refuse new sessions")))
            }
            return bot.url
        } catch let error as QQError where error.httpStatus == 404 || error.httpStatus == 405 {
            struct Gateway: Decodable { var url: String }
            return try await rest.request(.GET, "/gateway", as: Gateway.self).url
        }
    }
}
