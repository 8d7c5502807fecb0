import Foundation
import Logging
import QQSession

/// The whole qqtui configuration: the session's settings plus what only the app uses.
struct AppConfig: Sendable {
    /// Settings of the QQ session.
    var session: SessionConfiguration
    /// Log file (never the terminal).
    var logFile: String
    /// Log level.
    var logLevel: Logger.Level
    /// The SQLite store.
    var storePath: String = AppConfig.dataDirectory + "/qqtui.sqlite"
    /// `[serve] socket`: where `qqtui serve` listens for consoles (default: `run/<store name>.sock` beside the store).
    var socketPath: String = ControlSocketPath.beside(store: AppConfig.dataDirectory + "/qqtui.sqlite")
    /// `[serve] console_queue_kb`: what serve holds at most for one console before dropping it to a snapshot.
    var consoleQueueBytes = 4 << 20
    /// The agent for conversations handed to it (nil: none configured; hand-over is refused).
    var agent: AgentChoice?
    /// What the console does when a message arrives in a HUMAN conversation that is not on screen.
    var notify = NotifyConfig()
    /// What children (agents, the notify command) inherit: qqtui's environment without its secrets.
    var childEnvironment: [String: String] = [:]
    /// `[keys]`: the console's action keys.
    var keys = KeyBindings()
    /// `[canned]`: canned replies by name (`/canned NAME`).
    var canned: [String: String] = [:]
    /// The file this came from.
    var source: String
    /// Non-fatal remarks (e.g. a world-readable file that holds a secret).
    var warnings: [String] = []
    /// True when the app secret is written in the file itself (not taken from the environment).
    var secretInFile = false

    /// `~/.config/qqtui/config.toml` (or `$XDG_CONFIG_HOME/qqtui/config.toml`).
    static var defaultPath: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (home + "/.config")
        return base + "/qqtui/config.toml"
    }

    /// `~/.local/share/qqtui` (or `$XDG_DATA_HOME/qqtui`).
    static var dataDirectory: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (home + "/.local/share")
        return base + "/qqtui"
    }

    /// `~/.local/state/qqtui` (or `$XDG_STATE_HOME/qqtui`).
    static var stateDirectory: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (home + "/.local/state")
        return base + "/qqtui"
    }

    static var home: String {
        ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    }

    /// `~/x` → `$HOME/x`.
    static func expand(_ path: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + String(path.dropFirst(1)) }
        return path
    }
}

/// `[notify]`: the bell and an optional command for new messages the operator should answer.
struct NotifyConfig: Sendable, Equatable {
    /// Ring the terminal bell.
    var bell = true
    /// A program and its arguments; `{title}` and `{body}` are replaced (no shell is involved).
    var command: [String]?
}
