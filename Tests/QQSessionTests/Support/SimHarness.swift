import Foundation
import TestSupport
import QQSession
import Logging
import QQSimulator

/// A simulator on an ephemeral loopback port plus a session pointed at it, torn down at the end.
struct SimHarness {
    let simulator: QQSimulator
    let session: Session
    let recorder: EventRecorder
    var platform: SimPlatform { simulator.platform }

    /// Session settings that make tests fast: short backoff and timeouts.
    static func fastConfiguration(for simulator: QQSimulator) -> SessionConfiguration {
        var config = SessionConfiguration.simulator(baseURL: simulator.baseURL, appID: simulator.configuration.appID,
                                                    appSecret: simulator.configuration.appSecret)
        config.reconnect.baseDelay = .milliseconds(20)
        config.reconnect.maxDelay = .milliseconds(200)
        config.timeouts.connect = .seconds(3)
        config.timeouts.hello = .seconds(3)
        config.timeouts.ready = .seconds(3)
        config.timeouts.request = .seconds(5)
        return config
    }

    /// Runs `body` with a started simulator and session; always stops both. With `clock`, the session
    /// and the simulator both run on that manual clock: time moves only when the test advances it.
    /// The platform's heartbeat watchdog is then off unless `platformWatchdog` is set (one jump of
    /// several minutes would read as a client that stopped beating), and the session's step timeouts
    /// (connect, Hello, READY, each request) are an hour unless `configure` sets them: a test that moves
    /// time while a request is in flight means the request took that long.
    static func run(
        simulator simConfig: SimulatorConfiguration = SimulatorConfiguration(),
        clock manual: ManualClock? = nil,
        platformWatchdog: Bool = false,
        configure: (inout SessionConfiguration) -> Void = { _ in },
        start: Bool = true,
        store: MessageStore? = nil,
        agent: (any AgentBackend)? = nil,
        _ body: (SimHarness) async throws -> Void
    ) async throws {
        var simConfig = simConfig
        if let manual {
            simConfig.clock = .manual(manual)
            if !platformWatchdog { simConfig.heartbeatTimeoutIntervals = 0 }
        }
        let simulator = try await QQSimulator.start(simConfig)
        var config = fastConfiguration(for: simulator)
        if manual != nil {
            config.timeouts.connect = .seconds(3600)
            config.timeouts.hello = .seconds(3600)
            config.timeouts.ready = .seconds(3600)
            config.timeouts.request = .seconds(3600)
        }
        configure(&config)
        var logger = Logger(label: "test", factory: { label in StreamLogHandler.standardError(label: label) })
        logger.logLevel = ProcessInfo.processInfo.environment["QQTUI_TEST_LOG"] == "1" ? .debug : .critical
        let session = Session(configuration: config, store: store, agent: agent, logger: logger,
                              clock: manual.map { .manual($0) } ?? .continuous)
        let recorder = EventRecorder()
        await recorder.attach(session.events)
        let harness = SimHarness(simulator: simulator, session: session, recorder: recorder)
        if start { await session.start() }
        do {
            try await body(harness)
        } catch {
            await session.shutdown()
            await simulator.stop()
            throw error
        }
        await session.shutdown()
        await simulator.stop()
    }
}
