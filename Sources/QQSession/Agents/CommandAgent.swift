import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// How the `command` backend runs.
public struct CommandAgentConfiguration: Sendable, Hashable {
    /// `["prog", "arg", …]`, run once per turn.
    public var command: [String]
    /// Added to the inherited environment.
    public var environment: [String: String] = [:]
    /// What the program inherits (nil: qqtui's whole environment). The config loader passes qqtui's
    /// environment without its secrets (``ChildEnvironment``).
    public var inherited: [String: String]?
    /// Working directory (nil: qqtui's).
    public var directory: String?
    /// After SIGTERM, this long before SIGKILL.
    public var killGrace: Duration = .seconds(3)
    /// A command configuration.
    public init(command: [String], environment: [String: String] = [:], directory: String? = nil) {
        self.command = command
        self.environment = environment
        self.directory = directory
    }
}

/// Runs a program per turn: the prompt goes to its stdin (then EOF), every stdout chunk is answer
/// text (UTF-8 decoded across chunk ends), a line holding only `\f` is a segment break, exit 0 ends
/// the turn and any other exit is an error with the end of its stderr. Cancel: SIGTERM to the
/// process group, SIGKILL after a grace.
public struct CommandAgent: AgentBackend {
    public let configuration: CommandAgentConfiguration
    /// What the kill grace is measured on.
    public let clock: SessionClock
    public var name: String { "command " + ((configuration.command.first as NSString?)?.lastPathComponent ?? "?") }

    /// A command backend; `clock` times the grace between SIGTERM and SIGKILL.
    public init(_ configuration: CommandAgentConfiguration, clock: SessionClock = .continuous) {
        self.configuration = configuration
        self.clock = clock
    }

    public func startTurn(_ request: TurnRequest) async throws -> any AgentTurn {
        var env = (configuration.inherited ?? ProcessInfo.processInfo.environment).merging(configuration.environment) { $1 }
        env["QQTUI_CONVERSATION"] = request.conversation.description
        env["QQTUI_USER"] = request.user ?? ""
        env["QQTUI_TURN"] = request.turnID.uuidString
        env["QQTUI_IMAGES"] = request.images.joined(separator: "\n")
        let process = try AgentProcess(argv: configuration.command, environment: env, directory: configuration.directory)
        return CommandTurn(process: process, prompt: request.promptText, killGrace: configuration.killGrace, clock: clock,
                           program: configuration.command.first ?? "")
    }
}

/// One run of the command.
final class CommandTurn: AgentTurn, Sendable {
    let events: AsyncThrowingStream<AgentEvent, any Error>
    private let process: AgentProcess
    private let killGrace: Duration
    private let clock: SessionClock
    private let cancelled = AtomicFlag()
    private let pump: Task<Void, Never>

    init(process: AgentProcess, prompt: String, killGrace: Duration, clock: SessionClock, program: String) {
        self.process = process
        self.killGrace = killGrace
        self.clock = clock
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: AgentEvent.self)
        events = stream
        let cancelled = self.cancelled
        // The prompt is written off the caller's task: a child that does not read stdin must not block it.
        Thread.detachNewThread {
            process.write(Data((prompt.hasSuffix("\n") ? prompt : prompt + "\n").utf8))
            process.closeStdin()
        }
        pump = Task {
            var splitter = SegmentSplitter()
            var utf8 = UTF8Accumulator()
            func emit(_ pieces: [SegmentSplitter.Piece]) {
                for piece in pieces where !cancelled.isOn {
                    switch piece {
                    case .text(let bytes):
                        let text = utf8.append(bytes)
                        if !text.isEmpty { continuation.yield(.textDelta(text)) }
                    case .segmentBreak:
                        let rest = utf8.finish()
                        if !rest.isEmpty { continuation.yield(.textDelta(rest)) }
                        continuation.yield(.segmentBreak)
                    }
                }
            }
            for await chunk in process.stdout { emit(splitter.feed(chunk)) }
            emit(splitter.finish())
            if !cancelled.isOn {
                let rest = utf8.finish()
                if !rest.isEmpty { continuation.yield(.textDelta(rest)) }
            }
            let status = await process.waitForExit()
            if cancelled.isOn {
                continuation.yield(.finished(.cancelled))
                continuation.finish()
            } else if status == 0 {
                continuation.yield(.finished(.endTurn))
                continuation.finish()
            } else {
                await process.waitForStderr(timeout: .milliseconds(500))
                let tail = process.stderrText
                let name = (program as NSString).lastPathComponent
                let how = status > 128 ? "was killed by signal \(status - 128)" : "exited with status \(status)"
                continuation.finish(throwing: QQError.agent("\(name) \(how)" + (tail.isEmpty ? "" : ": " + Self.lastLines(tail))))
            }
        }
        continuation.onTermination = { [process, killGrace, clock] _ in
            guard process.exitStatus == nil else { return }
            Task { await process.terminate(grace: killGrace, clock: clock) }
        }
    }

    /// The last few lines of stderr, at most 500 characters.
    static func lastLines(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(5).joined(separator: " | ")
        return lines.count > 500 ? "…" + String(lines.suffix(500)) : lines
    }

    func cancel() async {
        guard !cancelled.testAndSet() else { await pump.value; return }
        await process.terminate(grace: killGrace, clock: clock)
        await pump.value
    }

    func answer(_ requestID: String, optionID: String?) async {}
}
