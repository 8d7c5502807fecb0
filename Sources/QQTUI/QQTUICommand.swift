import ArgumentParser
import Foundation
import Logging
import QQSession

/// `qqtui`: the operator console for a bot on the QQ Bot Open Platform (API v2).
///
/// The console is the default subcommand, so `qqtui --demo` and `qqtui --config FILE` work, and
/// each subcommand owns its options (a root-level `--config` would swallow `serve --config`).
@main
struct QQTUICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qqtui",
        abstract: "Operator console for a QQ bot (QQ Bot Open Platform, API v2).",
        discussion: """
            Without a subcommand, qqtui connects with ~/.config/qqtui/config.toml (or --config FILE) and shows \
            the bot's group and C2C conversations as they arrive.
            Try it without credentials or network: qqtui --demo
            """,
        version: QQTUIVersion.string,
        subcommands: [ConsoleCommand.self, SimCommand.self, ServeCommand.self, AttachCommand.self, StatusCommand.self,
                      SendCommand.self, RecallCommand.self, ExportCommand.self,
                      SearchCommand.self, AliasCommand.self, ConfigCommand.self, BenchCommand.self],
        defaultSubcommand: ConsoleCommand.self)

    /// Tunes the allocator before any other thread allocates (an arena limit set later leaves the
    /// arenas already made), then runs the command.
    static func main() async {
        MallocTuning.apply()
        await main(nil)
    }
}

/// `qqtui [console]`: the live view of the bot's conversations.
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Show the bot's conversations live (the default).")

    @Flag(help: "Run against a built-in QQ platform simulator with scripted users: no config, no network, no credentials.")
    var demo = false

    @Option(help: ArgumentHelp("Config file (default ~/.config/qqtui/config.toml).", valueName: "file"))
    var config: String?

    @Flag(help: "Also show debug notices (skipped empty messages, duplicates).")
    var verbose = false

    @Option(help: ArgumentHelp("Your name, shown to other operators and kept with what you send (default: your login name).", valueName: "name"))
    var `operator`: String?

    func validate() throws {
        if demo && config != nil { throw ValidationError("--demo uses its own simulator; leave out --config") }
        try AttachSupport.validate(operatorName: `operator`)
    }

    func run() async throws {
        guard Terminal.isInteractive else {
            StandardOutput.error("qqtui: the console needs a terminal on stdin and stdout; for a headless session use `qqtui serve`")
            throw ExitCode(1)
        }
        if demo {
            let code = try await DemoRunner.run(verbose: verbose)
            if code != 0 { throw ExitCode(code) }
            return
        }
        let operatorName = `operator` ?? ConsoleRunner.loginName
        // A serve runs this bot: attach to it (the console then never opens the store).
        if let quick = try? ConfigLoader.load(path: config ?? AppConfig.defaultPath, needsSecrets: false),
           ControlLink.isAnswering(quick.socketPath) {
            let code = try await AttachSupport.runConsole(target: .socket(quick.socketPath), operatorName: operatorName, config: quick)
            if code != 0 { throw ExitCode(code) }
            return
        }
        let appConfig = try CLI.loadConfig(config)
        TextWidth.ensureUTF8Locale()
        signal(SIGPIPE, SIG_IGN)
        let sink = FileLogHandler.bootstrap(path: appConfig.logFile, level: appConfig.logLevel)
        if !sink.isOpen { StandardOutput.error("qqtui: warning: cannot write the log file \(appConfig.logFile); logging is off") }
        let store = try CLI.openStore(appConfig.storePath, mode: .session, logger: Logger(label: "qqtui.store"))
        let agent = appConfig.agent?.make()
        let session = Session(configuration: appConfig.session, store: store, agent: agent, logger: Logger(label: "qqtui.session"))
        var settings = ConsoleState.Settings()
        settings.bell = appConfig.notify.bell
        settings.notify = appConfig.notify.command != nil
        settings.verbose = verbose
        settings.maxMessageLength = appConfig.session.sending.maxLength
        settings.c2cBudget = appConfig.session.replyWindow.c2cBudget
        settings.groupBudget = appConfig.session.replyWindow.groupBudget
        let code = await ConsoleRunner.run(session: session, agentName: agent?.name,
                                           options: .init(settings: settings, notifyCommand: appConfig.notify.command,
                                                          childEnvironment: appConfig.childEnvironment,
                                                          keys: appConfig.keys, canned: appConfig.canned, operatorName: operatorName))
        let saved = await CLI.closeStore(store)
        if code != 0 { throw ExitCode(code) }
        if !saved { throw ExitCode(74) }
    }
}

/// The version printed by `--version`.
enum QQTUIVersion {
    static let string = "0.1.0-dev"
}

/// Shared command-line plumbing.
enum CLI {
    /// Opens the store, turning a problem (damaged, newer, in use, unwritable) into a one-line
    /// message and exit code 74 (EX_IOERR).
    static func openStore(_ path: String, mode: MessageStore.Mode, logger: Logger? = nil) throws -> MessageStore {
        do {
            if let logger { return try MessageStore.open(path: path, mode: mode, logger: logger) }
            return try MessageStore.open(path: path, mode: mode)
        } catch let error as QQError {
            StandardOutput.error("qqtui: store: \(error.message)")
            throw ExitCode(74)
        }
    }

    /// Runs a store operation, turning a store error into a one-line message and exit code 74.
    static func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as QQError {
            StandardOutput.error("qqtui: store: \(error.message)")
            throw ExitCode(74)
        }
    }

    /// Closes the store; changes that could not be saved are reported on stderr (true when all is saved).
    @discardableResult
    static func closeStore(_ store: MessageStore) async -> Bool {
        guard let unsaved = await store.close() else { return true }
        StandardOutput.error("qqtui: store: \(unsaved)")
        return false
    }

    /// Loads the config file, turning a ``ConfigError`` into a one-line message and exit code 78 (EX_CONFIG).
    /// Commands that only use the store pass `needsSecrets: false`: they run without the app secret.
    static func loadConfig(_ path: String?, needsSecrets: Bool = true, quiet: Bool = false) throws -> AppConfig {
        do {
            let config = try ConfigLoader.load(path: path ?? AppConfig.defaultPath, needsSecrets: needsSecrets)
            if !quiet { for warning in config.warnings { StandardOutput.error(TextSanitizer.line("qqtui: warning: \(warning)")) } }
            return config
        } catch let error as ConfigError {
            // The message quotes what the operator wrote: made safe for the terminal.
            StandardOutput.error(TextSanitizer.line("qqtui: \(error)"))
            throw ExitCode(78)
        }
    }
}
