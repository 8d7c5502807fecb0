import Foundation
import QQSession
import QQSimulator
import Testing

@Suite("Reconnect loop", .timeLimit(.minutes(1)))
struct ReconnectLoopTests {
    @Test("after 30 consecutive failed attempts the session is OFFLINE; a reconnect command starts again")
    func attemptCap() async throws {
        try await SimHarness.run(configure: {
            $0.reconnect.baseDelay = .milliseconds(1)
            $0.reconnect.maxDelay = .milliseconds(5)
        }) { h in
            #expect(await h.recorder.waitForReady())
            await h.platform.apply(.refuseConnections(count: nil, seconds: nil))
            await h.platform.apply(.close(code: 4009))
            let reason = await h.recorder.waitForOffline(timeout: .seconds(30))
            #expect(reason?.contains("gave up after 30") == true)
            // The connection closed a moment after READY is failure 1; then 29 refused upgrades.
            let stats = await h.platform.currentStats()
            #expect(stats.upgradesRefused == 29)
            // Nothing more happens on its own.
            try await Task.sleep(for: .milliseconds(100))
            #expect(await h.platform.currentStats().upgradesRefused == 29)
            // The operator forces a fresh attempt once the platform is back.
            await h.platform.apply(.clear)
            await h.session.reconnect()
            #expect(await h.recorder.waitForReady(times: 2))
            #expect(h.session.connectionCounters.loops == 2)
        }
    }

    @Test("connections that resume and are dropped soon after are paced by the backoff but never make the session give up")
    func resumedThenDropped() async throws {
        try await SimHarness.run(configure: {
            $0.reconnect.baseDelay = .milliseconds(10)
            $0.reconnect.maxDelay = .milliseconds(80)
            $0.reconnect.jitter = 0
            $0.reconnect.maxAttempts = 4
        }) { h in
            #expect(await h.recorder.waitForReady())
            // Ten times in a row: the session resumes (events flow again), then the platform drops it.
            for i in 1...10 where await h.recorder.events.offlineReason == nil {
                await h.platform.apply(.close(code: 4009))
                #expect(await h.recorder.waitForReady(times: i + 1), "resume \(i)")
                _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "after drop \(i)")
            }
            #expect(await h.recorder.waitForMessages(10))
            #expect(await h.recorder.events.offlineReason == nil, "gave up while every Resume worked")
            let stats = await h.platform.currentStats()
            #expect(stats.identifies == 1)
            #expect(stats.resumes == 10)
            // Still paced: the waits grew to the cap instead of starting over after each resume.
            let waits = await h.recorder.statuses.compactMap { s -> Int? in
                if case .reconnecting(_, _, let next, _) = s.phase { return next }
                return nil
            }
            #expect(waits.contains(80), "\(waits)")
        }
    }

    @Test("simultaneous failures and reconnect commands never start two loops or two connections")
    func singleLoopUnderConcurrentFailures() async throws {
        var sim = SimulatorConfiguration()
        sim.heartbeatIntervalMs = 150
        sim.heartbeatTimeoutIntervals = 0
        try await SimHarness.run(simulator: sim) { h in
            #expect(await h.recorder.waitForReady())
            let session = h.session
            // A dead link, a server close and a burst of operator commands, all at once.
            await h.platform.apply(.stallAcks)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await h.platform.apply(.close(code: 4009)) }
                for _ in 0..<50 { group.addTask { await session.reconnect() } }
            }
            #expect(await h.recorder.waitForReady(times: 2))
            try await Task.sleep(for: .milliseconds(300))
            let stats = await h.platform.currentStats()
            #expect(stats.maxConcurrentConnections == 1, "two sockets were open at once")
            #expect(session.connectionCounters.loops == 1)
            _ = await h.platform.userSendsC2C(userOpenID: "U9", content: "still here")
            #expect(await h.recorder.wait { $0.contains { if case .message(let m) = $0 { return m.text == "still here" }; return false } })
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
        try await SimHarness.run(configure: {
            $0.reconnect.baseDelay = .seconds(20)
            $0.reconnect.maxDelay = .seconds(20)
            $0.reconnect.jitter = 0
        }) { h in
            #expect(await h.recorder.waitForReady())
            // A connection that drops soon after READY waits the base delay (20 s here) before retrying.
            await h.platform.apply(.close(code: 4009))
            #expect(await h.recorder.wait { events in
                events.contains { if case .gateway(let s) = $0, case .reconnecting(_, _, 20_000, _) = s.phase { return true }; return false }
            })
            let clock = ContinuousClock()
            let start = clock.now
            await h.session.reconnect()
            #expect(await h.recorder.waitForReady(times: 2))
            #expect(clock.now - start < .seconds(5))
        }
    }
}
