import Foundation
@testable import QQSession
import Synchronization
import Testing
import TestSupport

/// ACP's JSON-RPC transport against small shell scripts (no Python needed).
@Suite("ACP JSON-RPC connection", .timeLimit(.minutes(1)))
struct ACPConnectionTests {
    /// Collects what the connection hands to its handler.
    final class Inbox: Sendable {
        let items = Mutex<[ACPInbound]>([])
        var malformed: [String] { items.withLock { $0.compactMap { if case .malformed(let m) = $0 { return m }; return nil } } }
        var requests: [(id: JSONValue, method: String)] {
            items.withLock { $0.compactMap { if case .request(let id, let method, _) = $0 { return (id, method) }; return nil } }
        }
    }

    /// A connection to `/bin/sh -c script`, its handler recording into an inbox.
    private func connect(_ script: String, maxLineBytes: Int = 8 * 1024 * 1024) throws -> (ACPConnection, Inbox) {
        let process = try AgentProcess(argv: ["/bin/sh", "-c", script], environment: ProcessInfo.processInfo.environment, directory: nil)
        let connection = ACPConnection(process: process, label: "acp sh", maxLineBytes: maxLineBytes)
        let inbox = Inbox()
        connection.start { inbound in inbox.items.withLock { $0.append(inbound) } }
        return (connection, inbox)
    }

    @Test("lines split on \\n, \\r\\n tolerated, chunks joined, empty lines skipped, long lines refused")
    func lineBuffer() throws {
        var buffer = ACPLineBuffer(limit: 16)
        #expect(try buffer.append(Data("{\"a\":1}\r\n{\"b\"".utf8)) == [Data("{\"a\":1}".utf8)])
        #expect(try buffer.append(Data(":2}\n\n\r\n".utf8)) == [Data("{\"b\":2}".utf8)])
        #expect(try buffer.append(Data("tail".utf8)).isEmpty)
        #expect(buffer.finish() == Data("tail".utf8))
        #expect(throws: ACPLineBuffer.Overflow.self) { try buffer.append(Data(repeating: 0x41, count: 17)) }
    }

    @Test("a line of exactly the limit is accepted even when its CRLF is cut between two chunks (found by fuzzing)")
    func lineBufferSplitCRLF() throws {
        var buffer = ACPLineBuffer(limit: 4)
        #expect(try buffer.append(Data("abcd\r".utf8)).isEmpty)
        #expect(try buffer.append(Data("\n".utf8)) == [Data("abcd".utf8)])
        #expect(try buffer.append(Data("efgh\r".utf8)).isEmpty)
        #expect(buffer.finish() == Data("efgh".utf8))
    }

    @Test("the agent's request with id 0 and our pending call 0 are told apart; junk lines become notes")
    func idSpacesAndJunk() async throws {
        // Reads our request, then asks its own request 0, writes junk, and answers our call 0.
        let (connection, inbox) = try connect("""
            read line
            printf '%s\\n' '{"jsonrpc":"2.0","id":0,"method":"session/request_permission","params":{}}'
            printf 'not json at all\\n[1,2]\\n'
            printf '%s\\r\\n' '{"jsonrpc":"2.0","id":0,"result":{"ok":true}}'
            printf '%s\\n' '{"jsonrpc":"2.0","id":99,"result":{}}'
            sleep 5
            """)
        let result = try await connection.call("initialize", .object([:]), timeout: .seconds(10))
        #expect(result["ok"] == .bool(true))
        #expect(inbox.requests.map(\.method) == ["session/request_permission"])
        #expect(inbox.requests.first?.id == .number(0))
        // The junk came before the answer to our call: it is counted by the time the answer is.
        #expect(await eventually { inbox.malformed.count >= 3 })
        #expect(inbox.malformed.count == 3, "\(inbox.malformed)")
        await connection.process.terminate(grace: .seconds(1))
    }

    @Test("an agent that exits fails the pending call with its status and stderr tail")
    func exitFailsPending() async throws {
        let (connection, _) = try connect("read line; echo 'bad api key' >&2; exit 5")
        let error = await #expect(throws: QQError.self) { _ = try await connection.call("initialize", .object([:])) }
        #expect(error?.message.contains("status 5") == true, "\(String(describing: error))")
        #expect(error?.message.contains("bad api key") == true, "\(String(describing: error))")
        // Later calls fail at once with the same error.
        await #expect(throws: QQError.self) { _ = try await connection.call("session/new", .object([:])) }
        // Writing to the dead agent fails instead of raising SIGPIPE.
        #expect(!connection.notify("session/cancel", .object([:])))
    }

    @Test("an error reply and a timeout are agent errors naming the method")
    func errorAndTimeout() async throws {
        let (connection, _) = try connect("""
            read line
            printf '%s\\n' '{"jsonrpc":"2.0","id":0,"error":{"code":-32000,"message":"Authentication required"}}'
            sleep 5
            """)
        let refused = await #expect(throws: QQError.self) { _ = try await connection.call("session/new", .object([:])) }
        #expect(refused?.message.contains("session/new with error -32000: Authentication required") == true)
        let late = await #expect(throws: QQError.self) {
            _ = try await connection.call("session/prompt", .object([:]), timeout: .milliseconds(200))
        }
        #expect(late?.message.contains("did not answer session/prompt") == true)
        await connection.process.terminate(grace: .seconds(1))
    }

    @Test("a line over the limit closes the connection")
    func oversizedLine() async throws {
        let (connection, inbox) = try connect("read line; head -c 5000 /dev/zero | tr '\\0' 'x'; sleep 5", maxLineBytes: 1024)
        let error = await #expect(throws: QQError.self) { _ = try await connection.call("initialize", .object([:])) }
        #expect(error?.message.contains("longer than") == true)
        #expect(inbox.malformed.count == 1)
        await connection.process.terminate(grace: .seconds(1))
    }

    @Test("stop reasons map to StopReason; unknown ones are kept as other")
    func stopReasons() {
        #expect(ACPTurn.stopReason("end_turn") == .endTurn)
        #expect(ACPTurn.stopReason("cancelled") == .cancelled)
        #expect(ACPTurn.stopReason("max_tokens") == .maxTokens)
        #expect(ACPTurn.stopReason("refusal") == .refusal)
        #expect(ACPTurn.stopReason("max_turn_requests") == .other("max_turn_requests"))
        #expect(ACPTurn.stopReason(nil) == .other("none"))
    }

    @Test("a denial picks the agent's reject_once option, else any reject, else cancelled")
    func rejection() {
        let allow = PermissionOption(id: "a", name: "Allow", kind: "allow_once")
        let never = PermissionOption(id: "n", name: "Never", kind: "reject_always")
        let once = PermissionOption(id: "r", name: "Reject", kind: "reject_once")
        #expect(ACPTurn.rejection([allow, never, once]) == ACPTurn.selected("r"))
        #expect(ACPTurn.rejection([allow, never]) == ACPTurn.selected("n"))
        #expect(ACPTurn.rejection([allow]) == ACPTurn.cancelledOutcome)
    }

    @Test("a command that does not exist is a clear error", arguments: ["no-such-acp-agent-xyz", "/nonexistent/acp-agent-xyz"])
    func missingCommand(program: String) async throws {
        let backend = ACPAgent(configuration: ACPAgentConfiguration(command: [program, "--acp"]))
        let message = ChatMessage(role: .user, author: "alice", text: "hi")
        let error = await #expect(throws: QQError.self) {
            _ = try await backend.startTurn(TurnRequest(conversation: .c2c("alice"), newMessages: [message]))
        }
        #expect(error?.kind == .agent)
        #expect(error?.message.contains("acp-agent-xyz") == true, "\(String(describing: error))")
        #expect(await backend.agentPIDs().isEmpty)
        await backend.shutdown()
    }
}
