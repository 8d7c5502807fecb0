import Foundation
import Synchronization

/// One conversation's agent: its process, the JSON-RPC connection and the ACP session in it.
///
/// The agent's messages go to the current turn; between turns, updates are dropped and permission
/// requests are answered `cancelled` (nobody could approve them).
final class ACPSession: Sendable {
    /// The agent process (its pid is also its process group).
    let process: AgentProcess
    /// The JSON-RPC connection over the process's stdio.
    let connection: ACPConnection
    /// The `sessionId` from `session/new`.
    let sessionID: String
    /// The agent accepts image blocks in prompts (`promptCapabilities.image`).
    let acceptsImages: Bool
    private let slot: Slot

    /// Routes the agent's messages to the turn that is running, if any.
    private final class Slot: Sendable {
        let turn = Mutex<ACPTurn?>(nil)

        func handle(_ inbound: ACPInbound, _ connection: ACPConnection) {
            let current = turn.withLock { $0 }
            switch inbound {
            case .notification(method: "session/update", params: let params):
                if let update = params["update"] { current?.apply(update) }
            case .notification:
                break // elicitation/complete, $/cancel_request …: nothing of ours to stop
            case .request(id: let id, method: "session/request_permission", params: let params):
                if let current { current.permissionRequested(id: id, params: params) }
                else { connection.reply(to: id, result: ACPTurn.cancelledOutcome) }
            case .request(id: let id, method: let method, params: _):
                // fs/* and terminal/* were not advertised; anything else is unknown too.
                connection.replyError(to: id, code: -32601, message: "method not found: \(method)")
                current?.note("refused the agent's \(method) request (not offered by qqtui)", once: method)
            case .malformed(let text):
                current?.note(text, once: nil)
            }
        }
    }

    private init(process: AgentProcess, connection: ACPConnection, sessionID: String, acceptsImages: Bool, slot: Slot) {
        self.process = process
        self.connection = connection
        self.sessionID = sessionID
        self.acceptsImages = acceptsImages
        self.slot = slot
    }

    /// Starts the agent, runs `initialize` and `session/new` within the start timeout.
    static func launch(_ configuration: ACPAgentConfiguration, label: String, clock: SessionClock) async throws -> ACPSession {
        try configuration.checkProgram()
        let process = try AgentProcess(argv: configuration.command, environment: configuration.mergedEnvironment,
                                       directory: configuration.directory)
        let connection = ACPConnection(process: process, label: label, clock: clock)
        let slot = Slot()
        connection.start { [connection] inbound in slot.handle(inbound, connection) }
        do {
            let deadline = clock.now + configuration.startTimeout
            let remaining = { max(.zero, deadline - clock.now) }
            let initialize = JSONValue.object([
                "protocolVersion": .number(1),
                "clientCapabilities": .object([
                    "fs": .object(["readTextFile": .bool(false), "writeTextFile": .bool(false)]),
                    "terminal": .bool(false),
                ]),
                "clientInfo": .object(["name": .string("qqtui"), "version": .string("0.1")]),
            ])
            let hello = try await connection.call("initialize", initialize, timeout: remaining())
            guard let version = hello["protocolVersion"]?.intValue else {
                throw QQError.agent("\(label) answered initialize without a protocolVersion")
            }
            guard version == 1 else {
                throw QQError.agent("\(label) speaks ACP protocol version \(version); qqtui supports version 1 only")
            }
            let images = hello["agentCapabilities"]?["promptCapabilities"]?["image"]?.boolValue ?? false
            let new = JSONValue.object(["cwd": .string(configuration.directory), "mcpServers": .array([])])
            let created = try await connection.call("session/new", new, timeout: remaining())
            guard let sessionID = created["sessionId"]?.stringValue, !sessionID.isEmpty else {
                throw QQError.agent("\(label) answered session/new without a sessionId")
            }
            return ACPSession(process: process, connection: connection, sessionID: sessionID, acceptsImages: images, slot: slot)
        } catch {
            await process.terminate(grace: .seconds(1), clock: clock)
            throw error
        }
    }

    /// True while the process runs and the connection is usable.
    var isAlive: Bool { process.exitStatus == nil && connection.failure == nil }

    /// The running turn, if any.
    var currentTurn: ACPTurn? { slot.turn.withLock { $0 } }

    /// Makes `turn` the one that receives the agent's messages.
    func begin(_ turn: ACPTurn) { slot.turn.withLock { $0 = turn } }

    /// Stops routing to `turn` (if it is still the current one).
    func end(_ turn: ACPTurn) {
        slot.turn.withLock { current in if current === turn { current = nil } }
    }

    /// Cancels the running turn and stops the process (TERM, then KILL after a grace).
    func stop() async {
        await currentTurn?.cancel()
        await terminate()
    }

    /// Stops the process group (TERM, then KILL after 2 s) and waits until it is gone; pending calls
    /// fail only then, so a turn that ends because of this ends after the process.
    func terminate() async {
        await process.terminate(grace: .seconds(2))
        connection.close(QQError.agent("\(connection.label) was stopped"))
    }
}
