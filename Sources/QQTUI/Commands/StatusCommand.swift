import ArgumentParser
import Foundation
import QQSession

/// `qqtui status`: what a running serve is doing.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running `qqtui serve`: gateway, consoles attached, conversations waiting, agent turns.",
        discussion: "Exit status 0 when serve runs, 3 when nothing is serving (like `systemctl status`).")

    @Option(help: ArgumentHelp("Config file of the bot (its [serve] socket; default ~/.config/qqtui/config.toml).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("serve's control socket (instead of reading it from the config).", valueName: "path"))
    var socket: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if socket != nil && config != nil { throw ValidationError("give --socket or --config, not both") }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let path = try AttachSupport.socketPath(config: config, socket: socket)
        let answer: ServerLine
        do {
            let (link, line) = try AttachTarget.socket(path).open(operatorName: "status", role: "status")
            link.close()
            answer = line
        } catch {
            if json {
                StandardOutput.write(#"{"running":false,"socket":"# + Self.quoted(path) + "}")
            } else {
                StandardOutput.error("qqtui: no serve is running (\(error))")
            }
            throw ExitCode(3)
        }
        guard let status = answer.status else {
            StandardOutput.error(TextSanitizer.line("qqtui: serve at \(path) answered: \(answer.reason ?? answer.t)"))
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var object = (try? JSONSerialization.jsonObject(with: encoder.encode(status))) as? [String: Any] ?? [:]
            object["running"] = true
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            StandardOutput.write(String(decoding: data, as: UTF8.self))
        } else {
            StandardOutput.write(Self.text(status, now: Date()))
        }
    }

    static func quoted(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The text form: one fact per line.
    static func text(_ s: ServeStatus, now: Date) -> String {
        let up = Int(now.timeIntervalSince(s.startedAt))
        let uptime = up >= 3600 ? "\(up / 3600)h\(String(format: "%02d", up % 3600 / 60))m" : up >= 60 ? "\(up / 60)m\(String(format: "%02d", up % 60))s" : "\(up)s"
        var lines = [
            "qqtui serve · pid \(s.pid) · up \(uptime) · app \(s.appID)",
            "gateway   " + s.gateway.summary,
            "agent     " + (s.agent ?? "none") + " · \(s.agentTurns) turn\(s.agentTurns == 1 ? "" : "s") running",
            "waiting   \(s.waiting) conversation\(s.waiting == 1 ? "" : "s")",
            "consoles  \(s.consoles.count) attached",
        ]
        for c in s.consoles {
            var line = "  #\(c.console) \(c.operatorName)"
            if let open = c.open { line += " · on \(open)" }
            if c.queuedBytes > 0 { line += " · \(c.queuedBytes) bytes queued" }
            if c.resyncs > 0 { line += " · fell behind \(c.resyncs)×" }
            lines.append(line)
        }
        lines.append("socket    " + s.socket)
        lines.append("store     " + s.store)
        return lines.map(TextSanitizer.line).joined(separator: "\n")
    }
}
