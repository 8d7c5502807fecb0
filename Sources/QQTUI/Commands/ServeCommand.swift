import ArgumentParser
import Foundation

/// `qqtui serve`: the session without a screen, one line per gateway change and inbound event.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the session headless: print gateway changes and inbound events (JSON lines with --json).",
        discussion: "SIGINT/SIGTERM stop it cleanly (exit 0). It exits 1 when the session goes OFFLINE for good.")

    @Option(help: ArgumentHelp("Config file (default ~/.config/qqtui/config.toml).", valueName: "file"))
    var config: String?

    @Flag(help: "Print one JSON object per line instead of text.")
    var json = false

    @Flag(help: "Also print debug notices (skipped empty messages, duplicates).")
    var verbose = false

    func run() async throws {
        let appConfig = try CLI.loadConfig(config)
        let printer = EventPrinter(json: json, width: json ? nil : TextWidth.terminalColumns(), verbose: verbose)
        let code = try await HeadlessRunner.run(config: appConfig, printer: printer, banner: nil)
        if code != 0 { throw ExitCode(code) }
    }
}
