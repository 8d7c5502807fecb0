import Foundation
import QQSession
import QQSimulator
import Testing

/// Everything the platform does to a client, over real loopback sockets. Tests of timing logic
/// (heartbeats, ACK deadlines, Hello/READY deadlines, backoff, close grace) run session and simulator
/// on one manual clock and move it; the sockets stay real.
@Suite("Gateway faults", .timeLimit(.minutes(1)))
struct GatewayFaultTests {
    @Test("heartbeats are sent at Hello's interval and ACKed; the status shows RTT, last seq and the token's time left")
    func heartbeats() async throws {
        var sim = SimulatorConfiguration()
        sim.heartbeatIntervalMs = 5_000
        let time = ManualClock()
        try await SimHarness.run(simulator: sim, clock: time, configure: { $0.useGatewayTimeouts() }) { h in
            #expect(await h.recorder.waitForReady())
            for n in 1...4 {
                // The timer sleeps until exactly the next beat; none goes out before it.
                #expect(await time.waitUntilAsleep { $0.contains(.seconds(5 * n)) }, "beat \(n) is due at \(5 * n) s")
                #expect(await h.platform.currentStats().heartbeats == n - 1)
                time.advance(to: .seconds(5 * n))
                #expect(await h.waitStats { $0.heartbeats == n && $0.acks == n }, "beat \(n) sent and ACKed")
                // The client has the ACK before time moves on (else the next beat finds it missing).
                #expect(await h.recorder.wait { $0.acknowledgedBeats >= n })
            }
            // No time passes between a beat and its ACK on the manual clock.
            #expect(await h.recorder.wait { $0.contains { if case .gateway(let s) = $0 { return s.heartbeatRTTMs == 0 }; return false } })
            #expect(h.session.status.lastSeq == 1, "READY is s=1")
            // The token (7200 s) was fetched at 0 s; 20 s later the status shows what is left.
            #expect(h.session.status.tokenTTLSeconds == 7180)
        }
    }

    @Test("a close 4009 resumes: same session, seq continues, events sent while down are replayed in order")
    func closeResumesWithoutLoss() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: { $0.useGatewayTimeouts() }) { h in
            #expect(await h.recorder.waitForReady())
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "before")
            #expect(await h.recorder.waitForMessages(1))
            // Keep the client out for 0.3 s of platform time: the next messages are sent while it is
            // disconnected (it cannot come back before the test moves time through its backoff).
            await h.platform.apply(.refuseConnections(count: nil, seconds: 0.3))
            await h.platform.apply(.close(code: 4009))
            for i in 1...5 { _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "while down \(i)") }
            #expect(await h.passBackoffs(on: time, untilReady: 2) != nil)
            #expect(await h.recorder.waitForMessages(6))
            let texts = await h.recorder.messages.map(\.text)
            #expect(texts == ["before"] + (1...5).map { "while down \($0)" })
            let stats = await h.platform.currentStats()
            #expect(stats.identifies == 1)
            #expect(stats.resumes == 1)
            #expect(stats.replayed == 5)
            #expect(h.session.status.resumeCount == 1)
            // READY s=1, message s=2, five while down s=3…7, RESUMED s=8.
            #expect(h.session.status.lastSeq == 8)
        }
    }

    @Test("op 7 reconnects and resumes")
    func op7() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.reconnect)
            #expect(await h.recorder.waitForReady(times: 2))
            let stats = await h.platform.currentStats()
            #expect(stats.resumes == 1)
            #expect(stats.identifies == 1)
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "after op7")
            #expect(await h.recorder.waitForMessages(1))
        }
    }

    @Test("op 9 (not resumable) re-identifies; op 9 resumable resumes")
    func op9() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.invalidSession(resumable: false))
            #expect(await h.recorder.waitForReady(times: 2))
            var stats = await h.platform.currentStats()
            #expect(stats.identifies == 2)
            #expect(stats.resumes == 0)
            await h.platform.apply(.invalidSession(resumable: true))
            #expect(await h.recorder.waitForReady(times: 3))
            stats = await h.platform.currentStats()
            #expect(stats.identifies == 2)
            #expect(stats.resumes == 1)
        }
    }

    @Test("stalled ACKs: the dead link is detected at the next beat and the session resumes")
    func stalledAcks() async throws {
        var sim = SimulatorConfiguration()
        sim.heartbeatIntervalMs = 5_000
        let time = ManualClock()
        try await SimHarness.run(simulator: sim, clock: time, configure: { $0.useGatewayTimeouts() }) { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.stallAcks)
            #expect(await time.advance(toSleeperAt: .seconds(5)))
            #expect(await h.waitStats { $0.heartbeats == 1 }, "beat 1 goes out; its ACK never comes")
            // The next beat finds the last one unanswered: the link is dead.
            #expect(await time.advance(toSleeperAt: .seconds(10)))
            #expect(await h.passBackoffs(on: time, untilReady: 2) != nil)
            let stats = await h.platform.currentStats()
            #expect(stats.resumes == 1)
            #expect(stats.connectionsOpened == 2)
            #expect(stats.heartbeats == 1, "the dead link is not beaten again")
            #expect(await h.recorder.statuses.contains { $0.lastError == "no heartbeat ACK" })
        }
    }

    @Test("a dead link (no ACK, no close echo, nothing) is dropped after the close grace and resumed")
    func frozenLink() async throws {
        var sim = SimulatorConfiguration()
        sim.heartbeatIntervalMs = 5_000
        let time = ManualClock()
        try await SimHarness.run(simulator: sim, clock: time, configure: { $0.useGatewayTimeouts() }) { h in
            #expect(await h.recorder.waitForReady())
            // Each step is seen to happen before time moves on: beat 1 ACKed, beat 2 received unanswered.
            #expect(await time.advance(toSleeperAt: .seconds(5)))
            #expect(await h.recorder.wait { $0.acknowledgedBeats >= 1 })
            await h.platform.apply(.stallAcks)
            #expect(await time.advance(toSleeperAt: .seconds(10)))
            #expect(await h.waitStats { $0.heartbeats == 2 })
            // Now the link dies: nothing is read or answered any more.
            await h.platform.apply(.freeze)
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "sent while frozen")
            #expect(await time.advance(toSleeperAt: .seconds(15)), "no ACK: the link is dead, a close frame goes out")
            // Nobody answers the close frame: the socket is dropped when the 1 s grace is over, not before.
            #expect(await time.waitUntilAsleep { $0.contains(.seconds(16)) })
            #expect(await h.platform.currentStats().connectionsOpened == 1)
            time.advance(to: .seconds(16))
            #expect(await h.passBackoffs(on: time, untilReady: 2) != nil)
            #expect(await h.recorder.waitForMessages(1))
            #expect(await h.recorder.messages.first?.text == "sent while frozen", "replayed on resume")
            let stats = await h.platform.currentStats()
            #expect(stats.resumes == 1)
        }
    }

    @Test("refused connections are retried with backoff until the platform lets the client in")
    func refusedConnections() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.useGatewayTimeouts()
            $0.reconnect.jitter = 0
        }) { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.refuseConnections(count: 3, seconds: nil))
            await h.platform.apply(.close(code: 4009))
            let waits = await h.passBackoffs(on: time, untilReady: 2)
            // 20 ms doubling per failure (the drop right after READY counts as the first).
            #expect(waits == [.milliseconds(20), .milliseconds(40), .milliseconds(80), .milliseconds(160)])
            let stats = await h.platform.currentStats()
            #expect(stats.upgradesRefused == 3)
            #expect(stats.resumes == 1)
            let attempts = await h.recorder.statuses.compactMap { s -> Int? in
                if case .reconnecting(let n, let max, _, _) = s.phase { #expect(max == 30); return n }
                return nil
            }
            #expect(attempts.contains(2) && attempts.contains(3) && attempts.contains(4))
        }
    }

    @Test("fatal close codes stop at once with a reason, without retrying", arguments: [4010, 4011, 4012, 4013, 4014, 4914, 4915])
    func fatalCloseCodes(code: Int) async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.close(code: code))
            let reason = await h.recorder.waitForOffline()
            #expect(reason?.contains("\(code)") == true)
            // The loop has ended: nothing retries on its own.
            #expect(await h.waitForLoopEnd())
            #expect(await h.platform.currentStats().connectionsOpened == 1)
            #expect(h.session.connectionCounters.attempts == 1)
        }
    }

    @Test("the gateway refusing the token (4004) is retried once with a fresh token (resuming the session), then OFFLINE")
    func badTokenAtGateway() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            // Once: the client fetches a new token and resumes its session with it (4004 refused the
            // token, not the session: starting afresh would abandon what the platform holds for it).
            await h.platform.apply(.rejectIdentify(code: 4004, count: 1))
            await h.platform.apply(.close(code: 4009))
            #expect(await h.recorder.waitForReady(times: 2))
            let stats = await h.platform.currentStats()
            #expect(stats.identifies == 1 && stats.resumes == 1, "\(stats)")
            // Twice in a row: OFFLINE, naming the credentials.
            await h.platform.apply(.rejectIdentify(code: 4004, count: 5))
            await h.platform.apply(.close(code: 4009))
            let reason = await h.recorder.waitForOffline()
            #expect(reason?.contains("4004") == true)
            #expect(reason?.contains("app_secret") == true)
        }
    }

    @Test("a wrong app secret is refused by the token endpoint: OFFLINE at once with the platform's reason")
    func wrongSecret() async throws {
        try await SimHarness.run(configure: { $0.appSecret = Secret("definitely-wrong-secret") }) { h in
            let reason = await h.recorder.waitForOffline()
            #expect(reason?.contains("100016") == true)
            #expect(reason?.contains("definitely-wrong-secret") == false)
            #expect(await h.platform.currentStats().connectionsOpened == 0)
            #expect(await h.platform.currentStats().tokenRequests == 1)
        }
    }

    @Test("4006 after a drop forces a fresh Identify")
    func sessionInvalid() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.close(code: 4006))
            #expect(await h.recorder.waitForReady(times: 2))
            let stats = await h.platform.currentStats()
            #expect(stats.identifies == 2)
            #expect(stats.resumes == 0)
            #expect(stats.invalidSessions == 0, "the client tried to resume a session 4006 had ended")
        }
    }

    @Test("a Resume the platform never answers falls back to a fresh Identify")
    func ignoredResume() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: { $0.useGatewayTimeouts() }) { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.ignoreResume(count: 1))
            await h.platform.apply(.close(code: 4009))
            #expect(await h.passBackoff(on: time) != nil)
            // Resume sent at Hello; no RESUMED: the READY deadline is 15 s later.
            #expect(await h.recorder.wait { $0.contains { if case .gateway(let s) = $0 { return s.phase == .resuming }; return false } })
            #expect(await time.advance(toSleeperAt: time.elapsed + .seconds(15)))
            #expect(await h.passBackoffs(on: time, untilReady: 2) != nil)
            let stats = await h.platform.currentStats()
            #expect(stats.identifies >= 2)
            #expect(stats.resumes == 0)
            #expect(await h.recorder.statuses.contains { $0.lastError == "no READY" })
        }
    }

    @Test("a gateway that never says Hello is dropped and retried")
    func noHello() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: { $0.useGatewayTimeouts() }) { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.withholdHello(count: 2))
            await h.platform.apply(.close(code: 4009))
            for n in 1...2 {
                #expect(await h.passBackoff(on: time) != nil)
                // Upgraded, no Hello: the Hello deadline is 15 s after the socket opened.
                #expect(await time.advance(toSleeperAt: time.elapsed + .seconds(15)), "silent connection \(n)")
            }
            #expect(await h.passBackoffs(on: time, untilReady: 2) != nil)
            #expect(await h.platform.currentStats().connectionsOpened == 4, "two without Hello, then the good one")
            #expect(await h.recorder.statuses.contains { $0.lastError == "no Hello" })
        }
    }

    @Test("the platform kicking the bot right after READY backs off and ends OFFLINE instead of looping")
    func flapping() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.useGatewayTimeouts()
            $0.reconnect = .paced(base: .milliseconds(1), max: .milliseconds(4), attempts: 6)
        }) { h in
            #expect(await h.recorder.waitForReady())
            // Every new session is closed at once with a code that forces a fresh Identify.
            for ready in 1...10 where await h.recorder.events.offlineReason == nil {
                await h.platform.apply(.close(code: 4006))
                #expect(await h.passBackoffs(on: time) { $0.readyTransitions > ready || $0.offlineReason != nil } != nil)
            }
            let reason = await h.recorder.waitForOffline()
            #expect(reason?.contains("gave up after 6") == true, "\(String(describing: reason))")
            #expect(await h.platform.currentStats().identifies == 6, "one session start per attempt, no more")
        }
    }
}
