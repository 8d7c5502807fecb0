import Foundation
import Synchronization

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.resolve(arguments[0]))
        process.arguments = Array(arguments.dropFirst())
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let done = Atomic<Bool>(false)
        process.terminationHandler = { _ in done.store(true, ordering: .releasing) }
        do {
            try process.run()
        } catch {
            inbox.post(.status("notify command \(arguments[0]) could not start: \(error.localizedDescription)", .warning))
            return
        }
        let pid = process.processIdentifier
        Task.detached {
            try? await Task.sleep(for: .seconds(5))
            if !done.load(ordering: .acquiring) { kill(pid, SIGKILL) }
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
