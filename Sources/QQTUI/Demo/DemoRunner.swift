import Foundation
import Logging
import QQSession
import QQSimulator

/// `qqtui --demo`: an in-process simulator on an ephemeral port, scripted users, and the session.
enum DemoRunner {
    static func run() async throws {
        TextWidth.ensureUTF8Locale()
        signal(SIGPIPE, SIG_IGN)
        let logPath = NSTemporaryDirectory() + "qqtui-demo-\(getpid()).log"
        _ = FileLogHandler.bootstrap(path: logPath, level: .info)
        let simulator = try await QQSimulator.start(SimulatorConfiguration(),
                                                    logger: Logger(label: "qqtui.sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        var config = SessionConfiguration.simulator(baseURL: simulator.baseURL, appID: simulator.configuration.appID,
                                                    appSecret: simulator.configuration.appSecret)
        config.attachments.directory = NSTemporaryDirectory() + "qqtui-demo-\(getpid())-attachments"
        config.reconnect.baseDelay = .milliseconds(200)
        let storePath = NSTemporaryDirectory() + "qqtui-demo-\(getpid()).sqlite"
        let store = try CLI.openStore(storePath, mode: .session)
        let session = Session(configuration: config, store: store, agent: DemoAgent(), logger: Logger(label: "qqtui.session"))
        StandardOutput.write("""
            ── qqtui demo ─────────────────────────────────────────────────────────────
            A simulated QQ platform runs on \(simulator.baseURL) with scripted users.
            Nothing here touches the real QQ; no credentials are used. Ctrl-C quits.
            (The full-screen console is being built; this is the live event view.)
            Log: \(logPath) · store: \(storePath)
            ───────────────────────────────────────────────────────────────────────────
            """)
        let printer = EventPrinter(json: false, width: TextWidth.terminalColumns(), verbose: true)
        let platform = simulator.platform
        _ = await HeadlessRunner.run(session: session, printer: printer, exitWhenOffline: false) {
            await DemoScript.run(on: platform, session: session)
        }
        await simulator.stop()
        await CLI.closeStore(store)
    }
}
