import Foundation

/// The `acp` backend: an Agent Client Protocol (v1) agent over stdio, one process and one session per
/// conversation (per member, in a group with member sessions), started at its first turn and kept
/// across turns.
///
/// The agent is offered no file system and no terminal; its permission requests are denied or shown
/// to the operator (``ACPAgentConfiguration/permissionPolicy``). A conversation whose agent died or
/// was stopped gets a fresh process (and a new session) at its next turn.
public actor ACPAgent: AgentBackend {
    /// `acp <program>`.
    public nonisolated let name: String
    /// How the agent runs.
    public nonisolated let configuration: ACPAgentConfiguration
    /// What the start timeout, request timeouts and the cancel grace are measured on.
    public nonisolated let clock: SessionClock
    private var sessions: [TurnRequest.SessionKey: ACPSession] = [:]
    private var isShutDown = false

    /// A backend; no process starts before the first turn. `clock` times its start, requests and the
    /// grace after a cancel.
    public init(configuration: ACPAgentConfiguration, clock: SessionClock = .continuous) {
        self.configuration = configuration
        self.clock = clock
        self.name = "acp " + configuration.programName
    }

    /// Sends the turn's prompt to the conversation's agent (starting it first if needed).
    public func startTurn(_ request: TurnRequest) async throws -> any AgentTurn {
        let (session, restart) = try await session(for: request.sessionKey)
        let (blocks, notes) = ACPPrompt.blocks(for: request, acceptsImages: session.acceptsImages)
        let turn = ACPTurn(session: session, policy: configuration.permissionPolicy, cancelGrace: configuration.cancelGrace,
                           clock: clock)
        session.begin(turn)
        for note in [restart].compactMap({ $0 }) + notes { turn.note(note, once: nil) }
        Task { await turn.run(blocks) }
        return turn
    }

    /// Stops the conversation's agent process (cancelling its turn, if one runs).
    public func endConversation(_ conversation: ConversationID) async {
        for key in sessions.keys where key.conversation == conversation {
            if let session = sessions.removeValue(forKey: key) { await session.stop() }
        }
    }

    /// Stops every agent process; later turns fail.
    public func shutdown() async {
        isShutDown = true
        let all = Array(sessions.values)
        sessions.removeAll()
        await withTaskGroup(of: Void.self) { group in
            for session in all { group.addTask { await session.stop() } }
        }
    }

    /// The pid of each conversation's agent process (for tests and diagnostics).
    func agentPIDs() -> [ConversationID: pid_t] {
        Dictionary(sessions.filter { $0.key.member == nil }.map { ($0.key.conversation, $0.value.process.pid) }) { a, _ in a }
    }

    /// The pid of each group member's agent process (member sessions).
    func memberAgentPIDs() -> [String: pid_t] {
        Dictionary(sessions.compactMap { k, v in k.member.map { ($0, v.process.pid) } }) { a, _ in a }
    }

    /// The conversation's live session, or a new one (a dead one is cleaned up first and described in
    /// `restart`, since its history is gone).
    private func session(for conversation: TurnRequest.SessionKey) async throws -> (session: ACPSession, restart: String?) {
        guard !isShutDown else { throw QQError.agent("the \(name) backend was shut down") }
        var restart: String?
        if let existing = sessions[conversation] {
            if existing.isAlive { return (existing, nil) }
            sessions[conversation] = nil
            await existing.terminate()
            let status = existing.process.exitStatus.map { "exited with status \($0)" } ?? "stopped"
            restart = "the previous agent process \(status); a new one starts without the earlier history"
        }
        let session: ACPSession
        do {
            session = try await ACPSession.launch(configuration, label: name, clock: clock)
        } catch let error as QQError {
            throw QQError.agent("cannot start \(name): \(error.message)")
        }
        // The actor was free while the agent started: the backend may have been shut down meanwhile.
        if isShutDown || sessions[conversation] != nil { await session.terminate() }
        guard !isShutDown else { throw QQError.agent("the \(name) backend was shut down while the agent started") }
        if let other = sessions[conversation] { return (other, restart) }
        sessions[conversation] = session
        return (session, restart)
    }
}
