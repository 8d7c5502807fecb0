import Foundation
import QQSession
import QQSimulator
import Testing

@Suite("Shutdown", .timeLimit(.minutes(1)))
struct ShutdownTests {
    @Test("shutdown does not wait out a pending image download, and the message still comes out")
    func pendingDownload() async throws {
        let blackHole = try BlackHoleServer()
        defer { blackHole.close() }
        let sim = try await QQSimulator.start()
        var config = SimHarness.fastConfiguration(for: sim)
        config.attachments.timeout = .seconds(30)
        let session = Session(configuration: config)
        let recorder = EventRecorder()
        await recorder.attach(session.events)
        await session.start()
        #expect(await recorder.waitForReady())
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "look", attachments: [
            SimAttachment(contentType: "image/png", filename: "stuck.png", url: "http://127.0.0.1:\(blackHole.port)/stuck.png")])
        try await Task.sleep(for: .milliseconds(200))
        let clock = ContinuousClock()
        let started = clock.now
        await session.shutdown()
        #expect(clock.now - started < .seconds(5))
        let message = await recorder.messages.first
        #expect(message?.text == "look")
        if case .failed = message?.attachments.first?.state {} else { Issue.record("attachment not marked failed") }
        await sim.stop()
    }

    @Test("shutdown does not wait out a token request that hangs")
    func hangingToken() async throws {
        let sim = try await QQSimulator.start()
        await sim.platform.apply(.oddResponses([OddResponse(scope: .token, body: "{}", delayMs: 6_000)]))
        let session = Session(configuration: SimHarness.fastConfiguration(for: sim))
        await session.start()
        try await Task.sleep(for: .milliseconds(200))
        let clock = ContinuousClock()
        let started = clock.now
        await session.shutdown()
        #expect(clock.now - started < .seconds(2))
        await sim.stop()
    }
}
