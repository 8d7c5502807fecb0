import Foundation
import Logging
import QQSession
import QQSimulator

/// `qqtui --demo`: an in-process simulator on an ephemeral port, scripted users, the demo agent
/// and the console, in a scratch folder that is removed at the end.
enum DemoRunner {
    static func run(verbose: Bool) async throws -> Int32 {
        TextWidth.ensureUTF8Locale()
        signal(SIGPIPE, SIG_IGN)
        let scratch = NSTemporaryDirectory() + "qqtui-demo-\(getpid())"
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = FileLogHandler.bootstrap(path: scratch + "/qqtui.log", level: .info)
        let simulator = try await QQSimulator.start(SimulatorConfiguration(),
                                                    logger: Logger(label: "qqtui.sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        var config = SessionConfiguration.simulator(baseURL: simulator.baseURL, appID: simulator.configuration.appID,
                                                    appSecret: simulator.configuration.appSecret)
        config.attachments.directory = scratch + "/attachments"
        config.reconnect.baseDelay = .milliseconds(200)
        let store = try CLI.openStore(scratch + "/qqtui.sqlite", mode: .session)
        for (openID, name) in DemoScript.aliases { try? await store.setAlias(name, for: openID) }
        let agent = DemoAgent()
        let session = Session(configuration: config, store: store, agent: agent, logger: Logger(label: "qqtui.session"))
        let platform = simulator.platform
        var settings = ConsoleState.Settings()
        settings.verbose = verbose
        let host = simulator.baseURL.replacingOccurrences(of: "http://", with: "")
        let banner = "DEMO · a simulated QQ platform on \(host) with scripted users · nothing leaves this machine · F1 help · ^C quits"
        let code = await ConsoleRunner.run(session: session, agentName: agent.name, options: .init(banner: banner, settings: settings)) {
            await DemoScript.run(on: platform, session: session)
        }
        await simulator.stop()
        await CLI.closeStore(store)
        return code
    }
}
