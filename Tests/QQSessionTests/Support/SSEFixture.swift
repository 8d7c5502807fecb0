import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import QQSession
import Testing
import TestSupport

/// `Tests/Peers/sse_fixture.py` running on 127.0.0.1 (stdlib Python, so it needs no venv): an
/// OpenAI-compatible server whose behaviour is picked by the request's model name.
struct SSEFixture {
    let process: PeerProcess
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the fixture and waits (bounded) for it to print its port.
    static func start() async throws -> SSEFixture {
        let script = PeerProcess.packageRoot.appendingPathComponent("Tests/Peers/sse_fixture.py").path
        let process = try PeerProcess("/usr/bin/env", ["python3", "-u", script])
        guard let line = await process.firstLine(), let port = Int(line.trimmingCharacters(in: .whitespaces)) else {
            await process.kill()
            throw FixtureError(message: "the SSE fixture did not print its port: \(process.stderrTail)")
        }
        return SSEFixture(process: process, port: port)
    }

    /// Runs `body` with a fresh fixture and stops the fixture afterwards, whatever happens.
    static func with<T>(_ body: (SSEFixture) async throws -> T) async throws -> T {
        let fixture = try await start()
        return try await fixture.process.killing { try await body(fixture) }
    }

    /// One turn ("hi") against a fresh fixture in `mode`.
    static func turn(_ mode: String, requestTimeout: Duration = .seconds(10)) async throws -> TurnOutcome {
        try await with { try await TurnOutcome.run($0.agent(mode, requestTimeout: requestTimeout), [.user("hi")]) }
    }

    /// An agent for this fixture; `mode` is sent as the model name.
    func agent(_ mode: String, apiKey: Secret? = nil, systemPrompt: String? = nil, maxHistoryMessages: Int = 40,
               maxHistoryChars: Int = 16_000, requestTimeout: Duration = .seconds(10),
               clock: SessionClock = .continuous) -> OpenAIAgent {
        OpenAIAgent(configuration: OpenAIAgentConfiguration(
            baseURL: baseURL, model: mode, apiKey: apiKey, systemPrompt: systemPrompt, maxHistoryMessages: maxHistoryMessages,
            maxHistoryChars: maxHistoryChars, requestTimeout: requestTimeout), clock: clock)
    }

    /// `GET /_state`: disconnects, completed streams, and the last request as received.
    func state() async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: baseURL + "/_state")!)
        request.timeoutInterval = 5
        let (data, _) = try await URLSession.shared.data(for: request)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// True once the fixture saw a client go away mid-stream (waits at most 15 s: a loaded machine
    /// can be slow to run the fixture's writer thread and to answer /_state).
    func sawDisconnect() async -> Bool {
        await eventually(timeout: .seconds(15)) {
            // The fixture counts a disconnect at its next write; under a loaded machine its writer
            // thread can lag, so a client that has closed its side (no ESTABLISHED connection to the
            // fixture left in /proc/net/tcp) counts as gone too: the server's next write fails.
            if ((try? await state())?["disconnects"] as? Int ?? 0) >= 1 { return true }
            return Self.establishedConnections(toPort: port) == 0 ? true : nil
        } ?? false
    }

    /// ESTABLISHED IPv4 connections whose remote end is 127.0.0.1:`port` (our client's side).
    static func establishedConnections(toPort port: Int) -> Int {
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return -1 }
        let remote = "0100007F:" + String(format: "%04X", port)
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[2] == Substring(remote) && fields[3] == "01"
        }.count
    }

    /// What the fixture saw and printed, for a failure message.
    func diagnostics() async -> String {
        let counters = (try? await state()).map { s in
            ["disconnects", "completed", "requests"].map { "\($0) \(s[$0].map { "\($0)" } ?? "-")" }.joined(separator: ", ")
        } ?? "no answer from /_state"
        return counters + "; stderr: " + process.stderrTail
    }

    /// The body of the last chat completion request.
    func lastBody() async throws -> [String: Any] {
        let last = try #require(try await state()["last_request"] as? [String: Any])
        return try #require(last["body"] as? [String: Any])
    }

    /// Stops the fixture by its pid.
    func stop() async { await process.kill() }
}

/// A fixture that could not start.
struct FixtureError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Everything one turn produced.
struct TurnOutcome {
    var events: [AgentEvent] = []
    var error: (any Error)?

    /// The answer text.
    var deltas: [String] { events.compactMap { if case .textDelta(let t) = $0 { t } else { nil } } }
    var text: String { deltas.joined() }
    var thoughts: [String] { events.compactMap { if case .thought(let t) = $0 { t } else { nil } } }
    var notes: [String] { events.compactMap { if case .note(let t) = $0 { t } else { nil } } }
    /// The stop reason of the last event, when it is `.finished`.
    var finish: StopReason? { if case .finished(let reason) = events.last { reason } else { nil } }
    /// The error as a ``QQError``.
    var agentError: QQError? { error as? QQError }

    /// Starts a turn on `agent` with `messages` and reads it to the end (cancelled after `timeout`).
    static func run(_ agent: OpenAIAgent, _ messages: [ChatMessage], history: [ChatMessage] = [],
                    timeout: Duration = .seconds(20)) async throws -> TurnOutcome {
        let turn = try await agent.startTurn(TurnRequest(conversation: .c2c("U1"), newMessages: messages, history: history))
        return await collect(turn, timeout: timeout)
    }

    /// Reads `turn` to the end; after `timeout` the turn is cancelled (and the test sees `.cancelled`).
    static func collect(_ turn: any AgentTurn, timeout: Duration = .seconds(20)) async -> TurnOutcome {
        let consumer = Task {
            var outcome = TurnOutcome()
            do {
                for try await event in turn.events { outcome.events.append(event) }
            } catch {
                outcome.error = error
            }
            return outcome
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            await turn.cancel()
        }
        let outcome = await consumer.value
        timer.cancel()
        return outcome
    }
}

extension ChatMessage {
    /// A user message from U1.
    static func user(_ text: String, images: [String] = []) -> ChatMessage {
        ChatMessage(role: .user, author: "U1", text: text, images: images)
    }
    /// An operator reply.
    static func operatorReply(_ text: String) -> ChatMessage { ChatMessage(role: .assistant, author: "operator", text: text) }
}
