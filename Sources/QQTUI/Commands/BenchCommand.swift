import ArgumentParser
import Foundation
import QQSession

/// `qqtui bench`: speed and memory, measured against the simulator in another process.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure ingest, reply, streaming and render speed and memory (against the simulator, over loopback).",
        discussion: """
            Each benchmark starts `qqtui sim` as a child process on 127.0.0.1 and a session with a scratch \
            store (removed afterwards). Build with -c release for numbers worth comparing:
              swift run -c release qqtui bench all
            """,
        subcommands: [Ingest.self, Replies.self, Stream.self, Render.self, Memory.self, Consoles.self, All.self])

    struct Output: ParsableArguments {
        @Flag(help: "Print the results as JSON (one object with the machine and every result).")
        var json = false
    }

    struct Against: ParsableArguments {
        @Option(help: ArgumentHelp("Run the official SDK beside qqtui serve --json on the same burst (one C2C message per user) and print both rates and the ratio.",
                                   valueName: "botpy"))
        var against: String?
        @Option(help: "The python with qq-botpy for --against (default: the test peers' venv, .build/peers/venv, made by `bash .ci/peers`).")
        var python: String?

        func validate() throws {
            if let against, against != "botpy" { throw ValidationError("--against takes botpy (the official Python SDK), not \"\(against)\"") }
            if python != nil, against == nil { throw ValidationError("--python goes with --against botpy") }
        }
    }

    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Gateway events per second to stored, emitted messages; send→event latency.")
        @Option(help: "How many messages.") var events = 100_000
        @Option(help: "How many C2C users (and as many groups) send them.") var users = 1_000
        @Option(help: "Messages per second (0 = as fast as possible).") var rate = 0
        @OptionGroup var against: Against
        @OptionGroup var output: Output
        func validate() throws {
            try BenchCommand.positive(events, "--events"); try BenchCommand.positive(users, "--users"); try against.validate()
            if against.against != nil, rate != 0 { throw ValidationError("--rate does not apply with --against: both clients take the burst as fast as they can") }
        }
        func run() async throws {
            if against.against != nil {
                let (events, python) = (events, against.python)
                return try await BenchCommand.report([{ try await AgainstBench.run(.ingest, events: events, python: python) }], json: output.json)
            }
            try await BenchCommand.report([{ try await IngestBench.run(events: events, users: users, rate: rate) }], json: output.json)
        }
    }

    struct Replies: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Echo-agent replies per second acknowledged by the platform, and how many were lost.")
        @Option(help: "How many messages (each from its own C2C user, so each gets its own reply).") var events = 20_000
        @OptionGroup var against: Against
        @OptionGroup var output: Output
        func validate() throws { try BenchCommand.positive(events, "--events"); try against.validate() }
        func run() async throws {
            if against.against != nil {
                let (events, python) = (events, against.python)
                return try await BenchCommand.report([{ try await AgainstBench.run(.replies, events: events, python: python) }], json: output.json)
            }
            try await BenchCommand.report([{ try await RepliesBench.run(events: events) }], json: output.json)
        }
    }

    struct Stream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Agent delta → session event latency and delta → QQ stream frame pacing.")
        @Option(help: "How many deltas the agent streams.") var deltas = 1_000
        @Option(help: "Milliseconds between deltas (20 = 50 tokens a second, a fast model).") var intervalMs = 20
        @OptionGroup var output: Output
        func validate() throws { try BenchCommand.positive(deltas, "--deltas"); try BenchCommand.positive(intervalMs, "--interval-ms") }
        func run() async throws {
            try await BenchCommand.report([{ try await StreamBench.run(deltas: deltas, interval: .milliseconds(intervalMs)) }], json: output.json)
        }
    }

    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Console frame build time with many conversations and a huge one; bytes written per streamed delta.")
        @Option(help: "Conversations in the list.") var conversations = 10_000
        @Option(help: "Messages in the open conversation.") var messages = 100_000
        @OptionGroup var output: Output
        func validate() throws { try BenchCommand.positive(conversations, "--conversations"); try BenchCommand.positive(messages, "--messages") }
        func run() async throws {
            try await BenchCommand.report([{ try await RenderBench.run(conversations: conversations, messages: messages) }], json: output.json)
        }
    }

    struct Memory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Peak RSS of a session ingesting messages into the store and paging through them.")
        @Option(help: "How many messages.") var messages = 1_000_000
        @OptionGroup var output: Output
        func validate() throws { try BenchCommand.positive(messages, "--messages") }
        func run() async throws {
            try await BenchCommand.report([{ try await MemoryBench.run(messages: messages) }], json: output.json)
        }
    }

    struct Consoles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What attached consoles cost serve: latency and memory with a reading console, then with one that never reads.")
        @Option(help: "How many messages in each of the two bursts.") var events = 20_000
        @OptionGroup var output: Output
        func validate() throws { try BenchCommand.positive(events, "--events") }
        func run() async throws {
            try await BenchCommand.report([{ try await ConsolesBench.run(events: events) }], json: output.json)
        }
    }

    struct All: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every benchmark with its defaults, each in a fresh process (so peak memory is its own).")
        @OptionGroup var output: Output
        func run() async throws {
            var results: [BenchResult] = []
            for name in ["ingest", "replies", "stream", "render", "memory", "consoles"] {
                results += try await BenchCommand.runChild(name)
            }
            BenchCommand.print(results, json: output.json)
        }
    }

    static func positive(_ value: Int, _ name: String) throws {
        guard value > 0 else { throw ValidationError("\(name) must be positive") }
    }

    /// Runs the benchmarks in order and prints them; a failed one is an error (exit 1) after the others.
    static func report(_ benches: [@Sendable () async throws -> BenchResult], json: Bool) async throws {
        var results: [BenchResult] = []
        for bench in benches {
            do {
                results.append(try await bench())
            } catch {
                StandardOutput.error("qqtui bench: \(error)")
                throw ExitCode(1)
            }
        }
        print(results, json: json)
    }

    static func print(_ results: [BenchResult], json: Bool) {
        let machine = BenchMachine.current()
        if json {
            StandardOutput.write(BenchTable.json(results, machine: machine))
        } else {
            StandardOutput.write(BenchTable.text(results, machine: machine))
        }
    }

    /// `qqtui bench <name> --json` in a child process; its results.
    static func runChild(_ name: String) async throws -> [BenchResult] {
        StandardOutput.error("qqtui bench: running \(name)…")
        let out = try SpawnedProcess.pipe()
        let process: SpawnedProcess
        do {
            process = try SpawnedProcess([SimChild.ownExecutable(), "bench", name, "--json"], stdout: out.write, stderr: 2)
        } catch {
            close(out.read)
            close(out.write)
            throw error
        }
        close(out.write)
        let data = FileHandle(fileDescriptor: out.read, closeOnDealloc: true).readDataToEndOfFile()
        let code = await process.wait()
        guard code == 0 else { throw BenchError("bench \(name) failed (exit \(code))") }
        return try BenchTable.decode(data)
    }
}
