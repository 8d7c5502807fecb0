import Foundation
import QQSession
import QQSimulator
import Testing

/// The loop's pacing runs on a manual clock shared with the simulator: each backoff wait is passed by
/// moving time to exactly its end.
@Suite("Reconnect loop", .timeLimit(.minutes(1)))
struct ReconnectLoopTests {
    @Test("after 30 consecutive failed attempts the session is OFFLINE; a reconnect command starts again")
    func attemptCap() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.useGatewayTimeouts()
            $0.reconnect = .paced(base: .milliseconds(1), max: .milliseconds(5))
        }) { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.refuseConnections(count: nil, seconds: nil))
            await h.platform.apply(.close(code: 4009))
            #expect(await h.passBackoffs(on: time) { $0.offlineReason != nil } != nil)
            let reason = await h.recorder.waitForOffline()
            #expect(reason?.contains("gave up after 30") == true)
            // The connection closed a moment after READY is failure 1; then 29 refused upgrades.
            let stats = await h.platform.currentStats()
            #expect(stats.upgradesRefused == 29)
            // Nothing more happens on its own: the loop has ended.
            #expect(await h.waitForLoopEnd())
            #expect(await h.platform.currentStats().upgradesRefused == 29)
            #expect(h.session.connectionCounters.attempts == 30)
            // The operator forces a fresh attempt once the platform is back.
            await h.platform.apply(.clear)
            await h.session.reconnect()
            #expect(await h.recorder.waitForReady(times: 2))
            #expect(h.session.connectionCounters.loops == 2)
        }
    }

    @Test("connections that resume and are dropped soon after are paced by the backoff but never make the session give up")
    func resumedThenDropped() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.useGatewayTimeouts()
            $0.reconnect = .paced(base: .milliseconds(10), max: .milliseconds(80), jitter: 0, attempts: 4)
        }) { h in
            #expect(await h.recorder.waitForReady())
            // Ten times in a row: the session resumes (events flow again), then the platform drops it.
            for i in 1...10 where await h.recorder.events.offlineReason == nil {
                await h.platform.apply(.close(code: 4009))
                #expect(await h.passBackoffs(on: time, untilReady: i + 1) != nil, "resume \(i)")
                _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "after drop \(i)")
            }
            #expect(await h.recorder.waitForMessages(10))
            #expect(await h.recorder.events.offlineReason == nil, "gave up while every Resume worked")
            let stats = await h.platform.currentStats()
            #expect(stats.identifies == 1)
            #expect(stats.resumes == 10)
            // Still paced: the waits grew to the cap instead of starting over after each resume.
            let waits = await h.recorder.events.backoffs
            #expect(waits == [10, 20, 40, 80, 80, 80, 80, 80, 80, 80].map { Duration.milliseconds($0) }, "\(waits)")
        }
    }

    @Test("simultaneous failures and reconnect commands never start two loops or two connections")
    func singleLoopUnderConcurrentFailures() async throws {
        var sim = SimulatorConfiguration()
        sim.heartbeatIntervalMs = 5_000
        let time = ManualClock()
        try await SimHarness.run(simulator: sim, clock: time, configure: { $0.useGatewayTimeouts() }) { h in
            #expect(await h.recorder.waitForReady())
            let session = h.session
            await h.platform.apply(.stallAcks)
            #expect(await time.advance(toSleeperAt: .seconds(5)))
            #expect(await h.waitStats { $0.heartbeats == 1 }, "a beat that is never ACKed")
            #expect(await time.waitUntilAsleep { $0.contains(.seconds(10)) })
            // A dead link (the next beat is due now), a server close and a burst of operator commands, all at once.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { time.advance(to: .seconds(10)) }
                group.addTask { await h.platform.apply(.close(code: 4009)) }
                for _ in 0..<50 { group.addTask { await session.reconnect() } }
            }
            #expect(await h.passBackoffs(on: time, untilReady: 2) != nil)
            // Every command had returned before; a round trip through the platform and the client
            // (instead of a pause) lets what they started settle before the counts are read.
            _ = await h.platform.userSendsC2C(userOpenID: "U9", content: "still here")
            #expect(await h.recorder.wait { $0.contains { if case .message(let m) = $0 { return m.text == "still here" }; return false } })
            let stats = await h.platform.currentStats()
            #expect(stats.maxConcurrentConnections == 1, "two sockets were open at once")
            #expect(session.connectionCounters.loops == 1)
            #expect(await h.recorder.messages.count == 1)
        }
    }

    @Test("a reconnect command while READY replaces the connection and resumes")
    func forcedWhileReady() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            await h.session.reconnect()
            #expect(await h.recorder.waitForReady(times: 2))
            let stats = await h.platform.currentStats()
            #expect(stats.connectionsOpened == 2)
            #expect(stats.resumes == 1)
        }
    }

    @Test("a reconnect command during a backoff wait tries at once")
    func forcedDuringBackoff() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.useGatewayTimeouts()
            $0.reconnect = .paced(base: .seconds(20), max: .seconds(20), jitter: 0)
        }) { h in
            #expect(await h.recorder.waitForReady())
            // A connection that drops soon after READY waits the base delay (20 s here) before retrying.
            await h.platform.apply(.close(code: 4009))
            #expect(await h.backoff(1) == .seconds(20))
            #expect(await time.waitUntilAsleep { $0.contains(.seconds(20)) })
            await h.session.reconnect()
            #expect(await h.recorder.waitForReady(times: 2))
            // At once: no time passed, and the wait was given up.
            #expect(time.elapsed == .zero)
            #expect(await time.waitUntilAsleep { !$0.contains(.seconds(20)) })
        }
    }
}
