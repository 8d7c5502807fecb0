import Foundation
#if canImport(Glibc)
import Glibc
#endif
import QQSession
import QQSimulator
import Testing

/// The driver's timing on a manual clock shared with the simulator: backoff waits, the connect
/// deadline, a stable connection's immediate retry, the token's expiry. Real sockets, no sleeping.
@Suite("Gateway timing", .timeLimit(.minutes(1)))
struct GatewayTimingTests {
    @Test("the backoff waits exactly the computed delay, and no attempt starts before time reaches it")
    func backoffWaitsItsDelay() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.useGatewayTimeouts()
            $0.reconnect = .paced(base: .seconds(1), max: .seconds(8), jitter: 0)
        }) { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.refuseConnections(count: 3, seconds: nil))
            await h.platform.apply(.close(code: 4009))
            for (n, delay) in [Duration.seconds(1), .seconds(2), .seconds(4), .seconds(8)].enumerated() {
                #expect(await h.backoff(n + 1) == delay, "wait \(n + 1) announced")
                let deadline = time.elapsed + delay
                #expect(await time.waitUntilAsleep { $0 == [deadline] }, "the loop sleeps until exactly \(deadline)")
                let attempts = h.session.connectionCounters.attempts
                time.advance(to: deadline - .milliseconds(1))
                #expect(time.sleepers == [deadline], "still waiting a millisecond before the end")
                #expect(h.session.connectionCounters.attempts == attempts)
                time.advance(to: deadline)
                #expect(await h.recorder.wait { $0.connectingStatuses > n + 1 }, "attempt \(n + 2) starts at the deadline")
            }
            #expect(await h.recorder.waitForReady(times: 2))
            #expect(await h.platform.currentStats().upgradesRefused == 3)
            #expect(time.elapsed == .seconds(15))
        }
    }

    @Test("a connection that held 10 s is replaced at once; one dropped sooner waits the backoff")
    func stableConnectionRetriesAtOnce() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.useGatewayTimeouts()
            $0.reconnect.jitter = 0
        }) { h in
            #expect(await h.recorder.waitForReady())
            time.advance(to: .seconds(10))
            await h.platform.apply(.close(code: 4009))
            #expect(await h.recorder.waitForReady(times: 2))
            #expect(await h.recorder.events.backoffs.isEmpty, "no wait after a healthy connection")
            #expect(time.elapsed == .seconds(10))
            await h.platform.apply(.close(code: 4009))
            #expect(await h.passBackoff(on: time) == .milliseconds(20), "dropped right after READY: the base delay")
            #expect(await h.recorder.waitForReady(times: 3))
            #expect(await h.platform.currentStats().resumes == 2)
        }
    }

    @Test("an upgrade that is never answered is given up at the connect deadline and retried after the backoff")
    func connectTimeout() async throws {
        let hole = try BlackHoleServer()
        defer { hole.close() }
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.useGatewayTimeouts()
            $0.reconnect.jitter = 0
            $0.gatewayURL = "ws://127.0.0.1:\(hole.port)/websocket"
        }) { h in
            // The client connects, sends its upgrade request and waits for an answer that never comes.
            let accepted = try #require(await hole.acceptRequest())
            defer { Glibc.close(accepted) }
            #expect(await time.waitUntilAsleep { $0.contains(.seconds(10)) }, "the connect deadline")
            #expect(h.session.status.phase == .connecting(attempt: 1))
            time.advance(to: .seconds(10))
            // The event loop is stopped under the upgrade: the socket reports at once, or, stranded on
            // the stopped loop (see AbandonableTask), is let go when its 1 s grace is over.
            let end = ContinuousClock.now + .seconds(20)
            while await h.recorder.events.backoffs.isEmpty, ContinuousClock.now < end {
                if time.sleepers.contains(.seconds(11)) { time.advance(to: .seconds(11)) }
                try await Task.sleep(for: .milliseconds(1))
            }
            #expect(await h.backoff(1) == .milliseconds(20))
            #expect(h.session.status.lastError == "connect timed out after 10s")
            #expect(h.session.connectionCounters.attempts == 1)
        }
    }

    @Test("a token that expired while connected is refreshed for the next connection, which resumes with it")
    func expiredTokenRefreshedOnReconnect() async throws {
        var sim = SimulatorConfiguration()
        sim.tokenLifetime = 600
        let time = ManualClock()
        try await SimHarness.run(simulator: sim, clock: time, configure: { $0.useGatewayTimeouts() }) { h in
            #expect(await h.recorder.waitForReady())
            #expect(h.session.status.tokenTTLSeconds == 600)
            // 700 s later the token has expired on the platform; the connection lives on (one beat, ACKed).
            time.advance(to: .seconds(700))
            #expect(await h.recorder.wait { $0.acknowledgedBeats >= 1 })
            #expect(h.session.status.tokenTTLSeconds == 0)
            await h.platform.apply(.close(code: 4009))
            #expect(await h.recorder.waitForReady(times: 2))
            let stats = await h.platform.currentStats()
            #expect(stats.tokenRequests == 2, "a fresh token for the new connection")
            #expect(stats.resumes == 1, "the platform took the fresh token (the expired one is closed with 4004)")
            #expect(stats.identifies == 1)
            #expect(h.session.status.tokenTTLSeconds == 600)
        }
    }

    @Test("a token the platform revoked early: the Resume refused with 4004 is tried again with a fresh token and resumes; nothing sent meanwhile is lost")
    func revokedTokenResumes() async throws {
        // Real time: the reconnect right after the close is paced by the (fast) backoff, not by a deadline.
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "before")
            #expect(await h.recorder.wait { $0.messageCount >= 1 })
            // Our clock says the token is valid for two more hours; the platform no longer knows it.
            await h.platform.apply(.expireTokens)
            await h.platform.apply(.close(code: 4009))
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "while the bot was away")
            #expect(await h.recorder.waitForReady(times: 2))
            #expect(await h.recorder.wait { $0.messageCount >= 2 }, "the message sent while away was not replayed")
            let stats = await h.platform.currentStats()
            #expect(stats.identifies == 1 && stats.resumes == 1, "\(stats)")
            #expect(stats.tokenRequests >= 2, "a fresh token for the Resume")
        }
    }
}

private extension Array where Element == SessionEvent {
    /// How many times the status said `connecting` (attempts started).
    var connectingStatuses: Int {
        reduce(0) { if case .gateway(let s) = $1, case .connecting = s.phase { return $0 + 1 }; return $0 }
    }
}
