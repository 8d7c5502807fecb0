import Foundation
@testable import QQSession
import Testing

/// The reconnect loop's pacing without I/O: how each attempt ended in, the wait or the give-up out.
@Suite("Reconnect pacer")
struct ReconnectPacerTests {
    func pacer(attempts: Int = 30, jitter: Double = 0) -> ReconnectPacer {
        var policy = ReconnectPolicy()
        policy.baseDelay = .seconds(1)
        policy.maxDelay = .seconds(8)
        policy.jitter = jitter
        policy.maxAttempts = attempts
        return ReconnectPacer(policy: policy, stableAfter: .seconds(10))
    }

    func failed(_ p: inout ReconnectPacer, _ cause: GatewayEndCause = .transportError("refused"),
                readyFor: Duration? = nil, attempted: GatewayPlan = .resume) -> ReconnectPacer.Decision {
        p.attemptEnded(cause: cause, readyFor: readyFor, attempted: attempted, detail: cause.summary, random: 1)
    }

    @Test("failed attempts wait 1, 2, 4, 8, 8 s (jitter takes up to its share off), counted as attempts")
    func backoffDoubles() {
        var p = pacer()
        for (n, seconds) in [1, 2, 4, 8, 8].enumerated() {
            #expect(failed(&p) == .retry(after: .seconds(seconds)))
            #expect(p.attempt == n + 2)
        }
        var jittered = pacer(jitter: 0.5)
        #expect(jittered.attemptEnded(cause: .zombie, readyFor: nil, attempted: .resume, detail: "", random: 1) == .retry(after: .milliseconds(500)))
    }

    @Test("a connection that held 10 s is replaced at once and the counts start over")
    func healthyConnection() {
        var p = pacer()
        _ = failed(&p)
        _ = failed(&p)
        #expect(failed(&p, .serverClosed(code: 4009), readyFor: .seconds(10)) == .retry(after: .zero))
        #expect(p.attempt == 1)
        #expect(failed(&p) == .retry(after: .seconds(1)), "the backoff starts over too")
    }

    @Test("op 7 or a reconnect command after READY: no strike, the base wait")
    func askedFor() {
        var p = pacer()
        _ = failed(&p)
        #expect(failed(&p, .reconnectRequested, readyFor: .seconds(1)) == .retry(after: .seconds(1)))
        #expect(p.attempt == 1)
        #expect(failed(&p, .forced, readyFor: .zero) == .retry(after: .seconds(1)))
        #expect(p.attempt == 1)
    }

    @Test("a Resume that worked and dropped soon after is paced but no strike; a fresh Identify kicked is one")
    func droppedAfterReady() {
        var p = pacer(attempts: 3)
        for seconds in [1, 2, 4, 8] {
            #expect(failed(&p, .serverClosed(code: 4009), readyFor: .seconds(1), attempted: .resume) == .retry(after: .seconds(seconds)))
            #expect(p.attempt == 1)
        }
        var kicked = pacer(attempts: 3)
        _ = failed(&kicked, .serverClosed(code: 4006), readyFor: .zero, attempted: .identify)
        _ = failed(&kicked, .serverClosed(code: 4006), readyFor: .zero, attempted: .identify)
        #expect(failed(&kicked, .serverClosed(code: 4006), readyFor: .zero, attempted: .identify)
                == .giveUp("gave up after 3 attempts (the last ones dropped right after READY); last: closed 4006 session invalid"))
    }

    @Test("the attempt cap: the 30th failure in a row gives up, naming the last cause")
    func attemptCap() {
        var p = pacer()
        for _ in 1..<30 { #expect(failed(&p) != .giveUp("")) }
        #expect(failed(&p, .transportError("WebSocket upgrade failed")) == .giveUp("gave up after 30 failed attempts; last: WebSocket upgrade failed"))
    }

    @Test("a refused token (4004) is retried at once; refused twice in a row, the session gives up")
    func refusedToken() {
        var p = pacer()
        #expect(failed(&p, .serverClosed(code: 4004)) == .retry(after: .zero))
        guard case .giveUp(let why) = failed(&p, .serverClosed(code: 4004)) else { Issue.record("did not give up"); return }
        #expect(why.contains("4004") && why.contains("app_secret"))
        var recovered = pacer()
        _ = failed(&recovered, .serverClosed(code: 4004))
        _ = failed(&recovered, .serverClosed(code: 4009), readyFor: .seconds(1))
        #expect(failed(&recovered, .serverClosed(code: 4004)) == .retry(after: .zero), "READY in between: the count started over")
    }

    @Test("a reconnect command starts the count over")
    func restart() {
        var p = pacer()
        _ = failed(&p)
        _ = failed(&p)
        p.restart()
        #expect(p.wait == .zero)
        #expect(p.attempt == 1)
        #expect(failed(&p) == .retry(after: .seconds(1)))
    }
}
