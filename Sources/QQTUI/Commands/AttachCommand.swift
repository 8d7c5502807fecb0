import ArgumentParser
import Foundation

/// `qqtui attach`: a console on a running `qqtui serve` (here, or over ssh); `--stdio` is the far
/// end of an ssh attach.
struct AttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Open a console on a running `qqtui serve` (this machine, or another one over ssh).",
        discussion: """
            The console shows everything serve does, live; leaving it (q, Ctrl-C) stops nothing. \
            It exits 1 with a message when nothing is serving.
            Over ssh: qqtui attach --ssh [user@]host [--remote-config PATH] runs `ssh host qqtui attach --stdio` \
            (QQTUI_SSH names another ssh program).
            """)

    @Option(help: ArgumentHelp("Config file of the bot serve runs (its [serve] socket; default ~/.config/qqtui/config.toml).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("serve's control socket (instead of reading it from the config).", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("Reach serve on another machine through OpenSSH.", valueName: "[user@]host"))
    var ssh: String?

    @Option(name: .customLong("remote-config"), help: ArgumentHelp("The config file on the ssh host (default: its default config).", valueName: "path"))
    var remoteConfig: String?

    @Option(help: ArgumentHelp("Your name, shown to other operators and kept with what you send (default: your login name).", valueName: "name"))
    var `operator`: String?

    @Flag(help: "Relay the control protocol on stdin/stdout (what --ssh runs on the far side).")
    var stdio = false

    func validate() throws {
        if socket != nil && config != nil { throw ValidationError("give --socket or --config, not both") }
        if ssh != nil && (socket != nil || stdio) { throw ValidationError("--ssh reaches the far side's socket itself; leave out --socket and --stdio") }
        if remoteConfig != nil && ssh == nil { throw ValidationError("--remote-config goes with --ssh") }
        try AttachSupport.validate(operatorName: `operator`)
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        if stdio {
            let path = try AttachSupport.socketPath(config: config, socket: socket)
            let code = StdioRelay.run(path: path)
            if code != 0 { throw ExitCode(code) }
            return
        }
        let target: AttachTarget
        if let ssh {
            target = .ssh(host: ssh, remoteConfig: remoteConfig)
        } else {
            target = .socket(try AttachSupport.socketPath(config: config, socket: socket))
        }
        let local = ssh == nil ? try? CLI.loadConfig(config, needsSecrets: false, quiet: true) : nil
        let code = try await AttachSupport.runConsole(target: target, operatorName: `operator` ?? ConsoleRunner.loginName, config: local)
        if code != 0 { throw ExitCode(code) }
    }
}

/// What `attach`, `status` and the console share.
enum AttachSupport {
    static func validate(operatorName: String?) throws {
        guard let name = operatorName else { return }
        let clean = TextSanitizer.line(name).trimmingCharacters(in: .whitespaces)
        guard !clean.isEmpty, clean.count <= 64, clean == name else {
            throw ValidationError("--operator takes a name of 1 to 64 printable characters")
        }
    }

    /// serve's socket: `--socket`, else `[serve] socket` of the config (which needs no secret here).
    static func socketPath(config: String?, socket: String?) throws -> String {
        if let socket { return AppConfig.expand(socket) }
        // No config file: a serve of the default config listens beside the default store.
        if config == nil, !FileManager.default.fileExists(atPath: AppConfig.defaultPath) {
            return ControlSocketPath.beside(store: AppConfig.dataDirectory + "/qqtui.sqlite")
        }
        return try CLI.loadConfig(config, needsSecrets: false, quiet: true).socketPath
    }

    /// Attaches a console to `target` and runs it until the operator leaves. Fails (exit 1) with a
    /// message, before the screen starts, when nothing serves there or serve refuses.
    static func runConsole(target: AttachTarget, operatorName: String, config: AppConfig?) async throws -> Int32 {
        let sshErrors = NSTemporaryDirectory() + "qqtui-ssh-\(getpid()).log"
        defer { unlink(sshErrors) }
        let (link, welcome): (ControlLink, ServerLine)
        do {
            (link, welcome) = try target.open(operatorName: operatorName, sshErrors: sshErrors)
        } catch {
            let detail = (try? String(contentsOfFile: sshErrors, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            StandardOutput.error(TextSanitizer.line("qqtui: cannot attach to serve at \(target): \(error)") +
                                 (detail.isEmpty ? "" : "\n" + TextSanitizer.multiline(detail)))
            throw ExitCode(1)
        }
        guard welcome.t == "welcome" else {
            StandardOutput.error(TextSanitizer.line("qqtui: serve at \(target) refused the console: \(welcome.reason ?? welcome.t)"))
            link.close()
            throw ExitCode(1)
        }
        guard Terminal.isInteractive else {
            link.close()
            StandardOutput.error("qqtui: the console needs a terminal on stdin and stdout (serve at \(target) is running: `qqtui status` shows it)")
            throw ExitCode(1)
        }
        TextWidth.ensureUTF8Locale()
        if let config {
            let sink = FileLogHandler.bootstrap(path: config.logFile, level: config.logLevel)
            _ = sink
        }
        var options = ConsoleRunner.Options()
        options.operatorName = operatorName
        options.attached = ConsoleState.Attach(pid: welcome.pid ?? 0, console: welcome.console ?? 0)
        if let config {
            options.settings.bell = config.notify.bell
            options.settings.notify = config.notify.command != nil
            options.settings.maxMessageLength = config.session.sending.maxLength
            options.notifyCommand = config.notify.command
            options.childEnvironment = config.childEnvironment
            options.keys = config.keys
            options.canned = config.canned
        }
        let backend = RemoteBackend(link: link, welcome: welcome) {
            try target.open(operatorName: operatorName)
        }
        return await ConsoleRunner.run(backend: backend, agentName: nil, options: options)
    }
}
