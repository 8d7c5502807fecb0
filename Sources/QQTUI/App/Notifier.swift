import Foundation
import QQSession

/// Runs the `[notify] command` for a new message (no shell: `{title}` and `{body}` are replaced
/// inside each argument). A command that hangs is killed after a few seconds; a failure is shown
/// once on the status bar.
final class Notifier: Sendable {
    private let command: [String]
    /// What the command inherits (qqtui's environment without its secrets; nil: all of it).
    private let environment: [String: String]?

    init?(command: [String]?, environment: [String: String]? = nil) {
        guard let command, !command.isEmpty else { return nil }
        self.command = command
        self.environment = environment
    }

    func notify(title: String, body: String, inbox: any AppEventSink) {
        let arguments = command.map { $0.replacingOccurrences(of: "{title}", with: title).replacingOccurrences(of: "{body}", with: body) }
        let child: SpawnedProcess
        do {
            child = try SpawnedProcess([Self.resolve(arguments[0])] + arguments.dropFirst(), environment: environment)
        } catch {
            inbox.post(.status("notify command \(arguments[0]) could not start: \(error)", .warning))
            return
        }
        Task.detached {
            try? await Task.sleep(for: .seconds(5))
            child.signal(SIGKILL)   // nothing once it has ended
        }
    }

    /// A bare name is looked up in PATH.
    private static func resolve(_ program: String) -> String {
        guard !program.contains("/") else { return program }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return program
    }
}
