import Foundation
@testable import QQSession
import Testing

/// The fixture ACP agent (`Tests/Peers/acp_agent.py`, official Python SDK) behind an ``ACPAgent``,
/// with the log of every method the agent received.
struct ACPFixture {
    /// The venv's Python with `agent-client-protocol` (`bash .ci/peers`), if installed.
    static var python: String? { PeerProcess.peersPython }

    /// CI demands the peers (`QQTUI_REQUIRE_PEERS=1`): a missing venv then fails instead of skipping.
    static var required: Bool { PeerProcess.peersRequired }

    /// Whether the ACP tests run (they also run, and fail, when the peers are required but missing).
    static var enabled: Bool { python != nil || required }

    /// The fixture script.
    static var script: String { PeerProcess.packageRoot.appendingPathComponent("Tests/Peers/acp_agent.py").path }

    /// The backend under test.
    let backend: ACPAgent
    /// The agent's working directory (a fresh temporary one).
    let directory: URL
    private var logFile: URL { directory.appendingPathComponent("acp-fixture.jsonl") }

    /// A backend that runs the fixture in a fresh directory.
    init(policy: ACPAgentConfiguration.PermissionPolicy = .deny, cancelGrace: Duration = .seconds(3),
         environment: [String: String] = [:], clock: SessionClock = .continuous) throws {
        let python = try #require(Self.python, "the ACP fixture needs .build/peers/venv (run bash .ci/peers)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-acp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var env = environment
        env["ACP_FIXTURE_LOG"] = directory.appendingPathComponent("acp-fixture.jsonl").path
        backend = ACPAgent(configuration: ACPAgentConfiguration(
            command: [python, Self.script], environment: env, directory: directory.path,
            permissionPolicy: policy, cancelGrace: cancelGrace), clock: clock)
    }

    /// Runs `body` with a fixture and always shuts the backend down, checking no agent process survives.
    static func run(policy: ACPAgentConfiguration.PermissionPolicy = .deny, cancelGrace: Duration = .seconds(3),
                    environment: [String: String] = [:], clock: SessionClock = .continuous,
                    _ body: (ACPFixture) async throws -> Void) async throws {
        let fixture = try ACPFixture(policy: policy, cancelGrace: cancelGrace, environment: environment, clock: clock)
        do { try await body(fixture) } catch {
            await fixture.close()
            throw error
        }
        await fixture.close()
    }

    /// Shuts the backend down; every process the agent log names must be gone.
    func close() async {
        let pids = Set(await backend.agentPIDs().values).union(loggedPIDs)
        await backend.shutdown()
        for pid in pids { #expect(!Self.isRunning(pid), "agent process \(pid) survived the shutdown") }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts a turn with one user message.
    func turn(_ text: String, in conversation: ConversationID = .c2c("alice"), images: [String] = []) async throws -> any AgentTurn {
        let message = ChatMessage(role: .user, author: conversation.openID, text: text, images: images)
        return try await backend.startTurn(TurnRequest(conversation: conversation, newMessages: [message]))
    }

    /// Every line of the agent's log, in order.
    var log: [JSONValue] {
        guard let data = FileManager.default.contents(atPath: logFile.path) else { return [] }
        return data.split(separator: 0x0A).compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0)) }
    }

    /// The log's `method` values, in order.
    var methods: [String] { log.compactMap { $0["method"]?.stringValue } }

    /// The log entries of one method.
    func entries(_ method: String) -> [JSONValue] { log.filter { $0["method"]?.stringValue == method } }

    /// The pids of every agent process that logged something.
    var loggedPIDs: Set<pid_t> { Set(log.compactMap { $0["pid"]?.intValue.map { pid_t($0) } }) }

    /// Waits up to `timeout` for the log to satisfy `predicate` (the agent writes it asynchronously).
    func waitForLog(timeout: Duration = .seconds(5), _ predicate: ([JSONValue]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if predicate(log) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return predicate(log)
    }

    /// True while `pid` exists.
    static func isRunning(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 || errno != ESRCH }
}

/// All events of a turn until it ends (rethrows the turn's error).
func collect(_ turn: any AgentTurn) async throws -> [AgentEvent] {
    var events: [AgentEvent] = []
    for try await event in turn.events { events.append(event) }
    return events
}

extension Collection<AgentEvent> {
    /// The text deltas joined.
    var text: String {
        compactMap { if case .textDelta(let t) = $0 { return t }; return nil }.joined()
    }
    /// How many text deltas there are.
    var textCount: Int { filter { if case .textDelta = $0 { return true }; return false }.count }
    /// The notes.
    var notes: [String] { compactMap { if case .note(let n) = $0 { return n }; return nil } }
}
