import Foundation

/// How to run an Agent Client Protocol agent (Gemini CLI, claude-agent-acp, codex-acp, goose, hermes …).
public struct ACPAgentConfiguration: Sendable, Hashable {
    /// What the backend does when the agent asks to run a tool.
    public enum PermissionPolicy: String, Sendable, Hashable, Codable {
        /// Refuse at once (the safe default for a bot that answers strangers).
        case deny
        /// Show the request to the operator and wait for ``AgentTurn/answer(_:optionID:)``.
        case askOperator
    }

    /// The program and its arguments; the program is looked up in PATH when it has no slash.
    public var command: [String]
    /// Added to the inherited environment (and overriding it).
    public var environment: [String: String]
    /// What the agent inherits (nil: qqtui's whole environment). The config loader passes qqtui's
    /// environment without its secrets (``ChildEnvironment``).
    public var inherited: [String: String]?
    /// The agent's working directory and the `cwd` of its sessions (absolute).
    public var directory: String
    /// What happens to the agent's permission requests.
    public var permissionPolicy: PermissionPolicy
    /// How long `initialize` and `session/new` may take together.
    public var startTimeout: Duration
    /// How long a cancelled turn waits for the agent's `cancelled` reply before its process is stopped.
    public var cancelGrace: Duration

    /// A configuration; a relative `directory` is resolved against the current directory.
    public init(command: [String], environment: [String: String] = [:], directory: String? = nil,
                permissionPolicy: PermissionPolicy = .deny, startTimeout: Duration = .seconds(30),
                cancelGrace: Duration = .seconds(3)) {
        self.command = command
        self.environment = environment
        let current = FileManager.default.currentDirectoryPath
        let base = URL(fileURLWithPath: current, isDirectory: true)
        self.directory = URL(fileURLWithPath: directory ?? current, relativeTo: base).standardizedFileURL.path
        self.permissionPolicy = permissionPolicy
        self.startTimeout = startTimeout
        self.cancelGrace = cancelGrace
    }

    /// The program's file name, for names and messages (`acp gemini`).
    var programName: String {
        guard let program = command.first, !program.isEmpty else { return "?" }
        return (program as NSString).lastPathComponent
    }

    /// The environment the agent runs with.
    var mergedEnvironment: [String: String] {
        (inherited ?? ProcessInfo.processInfo.environment).merging(environment) { $1 }
    }

    /// Checks that the program exists and can be run, so a typo reads as one instead of as exit 127.
    func checkProgram() throws {
        guard let program = command.first, !program.isEmpty else {
            throw QQError.agent("the acp agent command is empty")
        }
        guard FileManager.default.fileExists(atPath: directory) else {
            throw QQError.agent("the acp agent's directory \(directory) does not exist")
        }
        let fm = FileManager.default
        if program.contains("/") {
            let path = URL(fileURLWithPath: program, relativeTo: URL(fileURLWithPath: directory, isDirectory: true)).path
            guard fm.isExecutableFile(atPath: path) else {
                throw QQError.agent("cannot run the acp agent \(program): \(path) is not an executable file")
            }
            return
        }
        let path = mergedEnvironment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let found = path.split(separator: ":").contains { dir in
            fm.isExecutableFile(atPath: String(dir) + "/" + program)
        }
        guard found else { throw QQError.agent("cannot find the acp agent program \(program) in PATH") }
    }
}
