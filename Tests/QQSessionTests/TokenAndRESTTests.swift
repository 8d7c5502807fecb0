import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

@Suite("Access token and REST client", .timeLimit(.minutes(1)))
struct TokenAndRESTTests {
    @Test("a 401 drops the token, fetches a new one once, and retries the request once")
    func refreshOn401() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let before = await h.platform.currentStats().tokenRequests
            await h.platform.apply(.expireTokens)
            let me = try await h.session.botUser()
            #expect(me.id == h.simulator.configuration.botID)
            #expect(await h.platform.currentStats().tokenRequests == before + 1)
        }
    }

    @Test("concurrent callers share one token request")
    func singleFlight() async throws {
        let sim = try await QQSimulator.start()
        let config = SimHarness.fastConfiguration(for: sim)
        let tokens = TokenProvider(configuration: config, transport: HTTPTransport(), logger: .init(label: "t"))
        let values = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await tokens.token().value.exposedValue } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(values.count == 1)
        #expect(await sim.platform.currentStats().tokenRequests == 1)
        #expect(await tokens.fetchCount == 1)
        await sim.stop()
    }

    @Test("a caller that gives up waiting for the token does not cancel it for the others")
    func cancelledWaiter() async throws {
        let time = ManualClock()
        var simConfig = SimulatorConfiguration()
        simConfig.clock = .manual(time)
        let sim = try await QQSimulator.start(simConfig)
        // The platform holds its answer until the test moves time 2 s on.
        await sim.platform.apply(.oddResponses([OddResponse(scope: .token, body: #"{"access_token":"TOKEN-slow-123456","expires_in":"7200"}"#, delayMs: 2000)]))
        let clock = SessionClock.manual(time)
        let tokens = TokenProvider(configuration: SimHarness.fastConfiguration(for: sim), transport: HTTPTransport(clock: clock),
                                   logger: .init(label: "t"), clock: clock)
        let impatient = Task { try await tokens.token() }
        let patient = Task { try await tokens.token() }
        // Both wait on the one request, which the platform holds (its delay sleeps on the test's clock).
        #expect(await time.waitForSleepers { $0 == .seconds(2) })
        impatient.cancel()
        await #expect(throws: CancellationError.self) { try await impatient.value }
        #expect(time.elapsed == .zero, "the cancelled caller returned while the fetch was still held")
        time.advance(by: .seconds(2))
        #expect(try await patient.value.value.exposedValue == "TOKEN-slow-123456")
        #expect(await sim.platform.currentStats().tokenRequests == 1)
        await sim.stop()
    }

    @Test("the token is refreshed before it expires (and the platform rotates it)")
    func refreshBeforeExpiry() async throws {
        let time = ManualClock()
        var simConfig = SimulatorConfiguration()
        simConfig.tokenLifetime = 7200
        simConfig.tokenRotationWindow = 60
        simConfig.clock = .manual(time)
        let sim = try await QQSimulator.start(simConfig)
        var config = SimHarness.fastConfiguration(for: sim)
        config.tokenRefreshMargin = .seconds(50)
        let clock = SessionClock.manual(time)
        let tokens = TokenProvider(configuration: config, transport: HTTPTransport(clock: clock), logger: .init(label: "t"), clock: clock)
        let first = try await tokens.token()
        #expect(try await tokens.token() == first, "cached while fresh")
        time.advance(by: .seconds(7200 - 51))
        #expect(try await tokens.token() == first, "still cached 51 s before expiry")
        #expect(await tokens.timeToLive() == .seconds(51))
        time.advance(by: .seconds(2))
        // 49 s before expiry: inside the 50 s margin, and inside the platform's last 60 s, so it rotates.
        let second = try await tokens.token()
        #expect(second.value != first.value)
        #expect(await sim.platform.currentStats().tokenRequests == 2)
        #expect(await tokens.timeToLive() == .seconds(7200))
        await sim.stop()
    }

    @Test("expires_in as a number, as a string, missing, garbage, huge or negative", arguments: [
        (#"{"access_token":"TOKEN-num-123456","expires_in":7200}"#, 7200),
        (#"{"access_token":"TOKEN-str-123456","expires_in":"1222"}"#, 1222),
        (#"{"access_token":"TOKEN-none-123456"}"#, 7200),
        (#"{"access_token":"TOKEN-bad-123456","expires_in":"soon"}"#, 7200),
        // Found by fuzzing: these trapped (Int(1e300); 2^63 s of lifetime in the clock arithmetic).
        (#"{"access_token":"TOKEN-huge-123456","expires_in":1e300}"#, 7200),
        (#"{"access_token":"TOKEN-max-123456","expires_in":"9223372036854775807"}"#, 86_400),
        (#"{"access_token":"TOKEN-neg-123456","expires_in":-5}"#, 60),
    ])
    func expiresIn(body: String, seconds: Int) async throws {
        let sim = try await QQSimulator.start()
        await sim.platform.apply(.oddResponses([OddResponse(scope: .token, body: body)]))
        // On a manual clock no time passes during the fetch: the lifetime believed is exact.
        let clock = SessionClock.manual(ManualClock())
        let tokens = TokenProvider(configuration: SimHarness.fastConfiguration(for: sim), transport: HTTPTransport(),
                                   logger: .init(label: "t"), clock: clock)
        _ = try await tokens.token()
        let ttl = try #require(await tokens.timeToLive())
        #expect(ttl == .seconds(seconds))
        await sim.stop()
    }

    @Test("token endpoint failures are errors with the platform's reason, never crashes", arguments: [
        (401, "application/json", #"{"code":100016,"message":"invalid appid or secret"}"#, "100016"),
        (200, "application/json", #"{"code":10004,"message":"bot does not exist"}"#, "10004"),
        (502, "text/html", "<html>Bad Gateway</html>", "not a JSON object"),
        (200, "application/json", "", "empty body"),
        (200, "application/json", "[]", "not a JSON object"),
    ])
    func tokenErrors(status: Int, type: String, body: String, fragment: String) async throws {
        let sim = try await QQSimulator.start()
        await sim.platform.apply(.oddResponses([OddResponse(scope: .token, status: status, contentType: type, body: body)]))
        let tokens = TokenProvider(configuration: SimHarness.fastConfiguration(for: sim), transport: HTTPTransport(),
                                   logger: .init(label: "t"))
        do {
            _ = try await tokens.token()
            Issue.record("no error")
        } catch let error as QQError {
            #expect(error.description.contains(fragment), "\(error)")
            #expect(!error.description.contains(sim.configuration.appSecret))
        }
        await sim.stop()
    }

    @Test("transient token failures (502 HTML, 429 and 500 with a JSON body, 'too many requests') are retried", arguments: [
        OddResponse(scope: .token, status: 502, contentType: "text/html", body: "<h1>502</h1>"),
        OddResponse(scope: .token, status: 429, body: #"{"code":100001,"message":"Too many requests"}"#),
        OddResponse(scope: .token, status: 500, body: #"{"code":500,"message":"internal error"}"#),
        OddResponse(scope: .token, status: 200, body: #"{"code":100001,"message":"Too many requests"}"#),
    ])
    func transientTokenFailure(answer: OddResponse) async throws {
        try await SimHarness.run(start: false) { h in
            await h.platform.apply(.oddResponses([answer]))
            await h.session.start()
            #expect(await h.recorder.waitForReady())
            #expect(await h.recorder.notices.contains { $0.kind == .tokenError })
        }
    }

    @Test("many requests answered 401 at once share one new token")
    func concurrent401() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let before = await h.platform.currentStats().tokenRequests
            await h.platform.apply(.expireTokens)
            let session = h.session
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<10 { group.addTask { try await session.botUser().id } }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(ids.count == 10)
            #expect(await h.platform.currentStats().tokenRequests - before <= 2)
        }
    }

    @Test("without /gateway/bot (404) the gateway URL comes from /gateway")
    func gatewayFallback() async throws {
        try await SimHarness.run(start: false) { h in
            await h.platform.apply(.oddResponses([OddResponse(status: 404, contentType: "text/plain", body: "404 page not found")]))
            await h.session.start()
            #expect(await h.recorder.waitForReady())
            #expect(await h.platform.currentStats().connectionsOpened == 1)
        }
    }

    @Test("odd REST answers are errors that say what was wrong", arguments: [
        (200, "application/json", "not json at all", "not JSON"),
        (200, "text/html", "<html>hi</html>", "content type text/html"),
        (200, "application/json", "", "empty body"),
        (200, "application/json", "[1,2]", "not an object"),
        (200, "application/json", #""a string""#, "not an object"),
        (200, "application/json", #"{"username":"x"}"#, "expected fields"),
        (200, nil, #"{"id":"1"}"#, ""),
    ] as [(Int, String?, String, String)])
    func oddAnswers(status: Int, type: String?, body: String, fragment: String) async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.oddResponses([OddResponse(status: status, contentType: type, body: body)]))
            do {
                let me = try await h.session.botUser()
                #expect(fragment.isEmpty, "accepted \(me)")
            } catch let error as QQError {
                #expect(!fragment.isEmpty && error.description.contains(fragment), "\(error)")
                #expect(error.kind == .malformedResponse)
            }
        }
    }

    @Test("QQ error bodies become QQError with status, code, err_code, message and trace id")
    func platformErrors() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.oddResponses([
                OddResponse(status: 401, body: #"{"message":"接口访问源IP不在白名单","code":11298,"err_code":40023002,"trace_id":"abc123"}"#),
                OddResponse(status: 401, body: #"{"message":"接口访问源IP不在白名单","code":11298,"err_code":40023002,"trace_id":"abc124"}"#),
                OddResponse(status: 500, contentType: "text/plain", body: "upstream exploded"),
            ]))
            do {
                _ = try await h.session.botUser()
                Issue.record("no error")
            } catch let e as QQError {
                #expect(e.kind == .authentication)
                #expect(e.httpStatus == 401)
                #expect(e.code == 11298)
                #expect(e.errCode == 40023002)
                #expect(e.qqCode == 40023002)
                #expect(e.traceID == "abc124", "the retry's answer is the one reported")
                #expect(e.message == "接口访问源IP不在白名单")
            }
            do {
                _ = try await h.session.botUser()
                Issue.record("no error")
            } catch let e as QQError {
                #expect(e.kind == .platform)
                #expect(e.httpStatus == 500)
                #expect(e.message.contains("upstream exploded"))
                #expect(e.traceID == nil)
            }
        }
    }

    @Test("an IP whitelist refusal while discovering the gateway stops with the platform's words")
    func whitelistAtDiscovery() async throws {
        try await SimHarness.run(start: false) { h in
            let refusal = OddResponse(status: 401, body: #"{"message":"接口访问源IP不在白名单","code":11298,"err_code":40023002,"trace_id":"t"}"#)
            await h.platform.apply(.oddResponses([refusal, refusal]))
            await h.session.start()
            let reason = await h.recorder.waitForOffline()
            #expect(reason?.contains("白名单") == true)
            #expect(reason?.contains("40023002") == true)
        }
    }
}
