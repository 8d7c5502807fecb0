import Foundation
import QQSession
import QQSimulator
import Testing
import TestSupport

@Suite("Shutdown", .timeLimit(.minutes(1)))
struct ShutdownTests {
    // Time is manual and never advanced, and the download's limit is an hour: a shutdown that waited
    // for the download would never return (the suite's time limit fails the test).
    @Test("shutdown does not wait out a pending image download, and the message still comes out")
    func pendingDownload() async throws {
        let blackHole = try BlackHoleServer()
        defer { blackHole.close() }
        let time = ManualClock()
        var simConfig = SimulatorConfiguration()
        simConfig.clock = .manual(time)
        let sim = try await QQSimulator.start(simConfig)
        var config = SimHarness.fastConfiguration(for: sim)
        config.attachments.timeout = .seconds(3600)
        let session = Session(configuration: config, clock: .manual(time))
        let recorder = EventRecorder()
        await recorder.attach(session.events)
        await session.start()
        #expect(await recorder.waitForReady())
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "look", attachments: [
            SimAttachment(contentType: "image/png", filename: "stuck.png", url: "http://127.0.0.1:\(blackHole.port)/stuck.png")])
        // The download is under way: its one-hour deadline is asleep on the clock.
        #expect(await time.waitForSleepers { $0 == .seconds(3600) })
        await session.shutdown()
        #expect(time.elapsed == .zero)
        let message = await recorder.messages.first
        #expect(message?.text == "look")
        if case .failed = message?.attachments.first?.state {} else { Issue.record("attachment not marked failed") }
        await sim.stop()
    }

    // The platform holds the token answer until time moves 10 minutes, and time never moves before
    // the shutdown: a shutdown that waited for the request would never return.
    @Test("shutdown does not wait out a token request that hangs")
    func hangingToken() async throws {
        let time = ManualClock()
        var simConfig = SimulatorConfiguration()
        simConfig.clock = .manual(time)
        let sim = try await QQSimulator.start(simConfig)
        await sim.platform.apply(.oddResponses([OddResponse(scope: .token, body: "{}", delayMs: 600_000)]))
        var config = SimHarness.fastConfiguration(for: sim)
        config.timeouts.request = .seconds(3600)
        let session = Session(configuration: config, clock: .manual(time))
        await session.start()
        #expect(await time.waitForSleepers { $0 == .seconds(600) })
        await session.shutdown()
        #expect(time.elapsed == .zero)
        time.advance(by: .seconds(600))      // lets the held answer go, so the platform stops at once
        await sim.stop()
    }
}
