import Foundation
import Synchronization
@testable import QQSession
import Testing
import TestSupport

/// The `acp` backend against a real ACP agent (the official Python SDK) as a child process.
/// Serialized: each test starts Python agents (about a CPU-second each), and a burst of a dozen starves
/// the timing-sensitive suites that run beside this one on a small machine.
@Suite("ACP agent backend", .serialized, .timeLimit(.minutes(1)),
       .enabled(if: ACPFixture.enabled, "the ACP fixture venv .build/peers/venv is missing (bash .ci/peers); skipped"))
struct ACPAgentTests {
    @Test("a reply streams as text deltas and ends with end_turn; the handshake is what the spec asks")
    func streaming() async throws {
        try await ACPFixture.run { f in
            let events = try await collect(try await f.turn("hello 你好世界"))
            #expect(events.text == "echo: hello 你好世界")
            #expect(events.textCount > 3, "the reply should arrive in several chunks")
            #expect(events.last == .finished(.endTurn))
            let hello = try #require(f.entries("initialize").first)
            #expect(hello["protocolVersion"]?.intValue == 1)
            #expect(hello["clientCapabilities"]?["fs"]?["readTextFile"] == .bool(false))
            #expect(hello["clientCapabilities"]?["terminal"] == .bool(false))
            #expect(hello["clientInfo"]?["name"]?.stringValue == "qqtui")
            #expect(f.entries("session/new").first?["cwd"]?.stringValue == f.directory.standardizedFileURL.path)
            #expect(f.backend.name == "acp python")
        }
    }

    @Test("two turns of one conversation share one process and one session")
    func twoTurnsOneSession() async throws {
        try await ACPFixture.run { f in
            let first = try await collect(try await f.turn("first"))
            #expect(first.text == "echo: first")
            let second = try await collect(try await f.turn("second"))
            #expect(second.text == "echo: second")
            #expect(f.entries("initialize").count == 1)
            #expect(f.entries("session/new").count == 1)
            let prompts = f.entries("session/prompt")
            #expect(prompts.map { $0["text"]?.stringValue } == ["first", "second"])
            #expect(Set(prompts.map { $0["sessionId"] }) == [f.entries("session/new").first?["sessionId"]])
            #expect(f.loggedPIDs.count == 1)
        }
    }

    @Test("two conversations get two agent processes")
    func twoConversations() async throws {
        try await ACPFixture.run { f in
            async let a = collect(try await f.turn("to alice", in: .c2c("alice")))
            async let b = collect(try await f.turn("to the group", in: .group("g1")))
            let (alice, group) = try await (a, b)
            #expect(alice.text == "echo: to alice")
            #expect(group.text == "echo: to the group")
            let pids = await f.backend.agentPIDs()
            #expect(pids.count == 2)
            #expect(Set(pids.values).count == 2)
            #expect(f.entries("initialize").count == 2)
        }
    }

    @Test("cancel mid-stream: session/cancel, no text after cancel() returned, finished(cancelled)")
    func cancelMidStream() async throws {
        try await ACPFixture.run { f in
            let turn = try await f.turn("slow")
            var events: [AgentEvent] = []
            var mark: Int?
            for try await event in turn.events {
                events.append(event)
                if mark == nil, events.textCount == 3 {
                    await turn.cancel()
                    mark = events.count
                }
            }
            let cut = try #require(mark)
            #expect(events[cut...].textCount == 0, "text arrived after cancel(): \(events[cut...])")
            #expect(events.last == .finished(.cancelled))
            #expect(await f.waitForLog { $0.contains { $0["method"]?.stringValue == "session/cancel" } })
            // The agent itself stopped early and said so (not our grace timer).
            #expect(f.entries("prompt_done").first?["stopReason"]?.stringValue == "cancelled")
            // The session stays usable.
            let after = try await collect(try await f.turn("after"))
            #expect(after.text == "echo: after")
            #expect(f.loggedPIDs.count == 1)
        }
    }

    @Test("endConversation stops that conversation's agent; its next turn starts a new one")
    func endConversation() async throws {
        try await ACPFixture.run { f in
            _ = try await collect(try await f.turn("one"))
            let before = try #require(await f.backend.agentPIDs()[.c2c("alice")])
            await f.backend.endConversation(.c2c("alice"))
            #expect(!ACPFixture.isRunning(before))
            #expect(await f.backend.agentPIDs().isEmpty)
            let two = try await collect(try await f.turn("two"))
            #expect(two.text == "echo: two")
            #expect(try #require(await f.backend.agentPIDs()[.c2c("alice")]) != before)
        }
    }

    @Test("images are left out, with a note, when the agent does not accept them")
    func imagesNotAccepted() async throws {
        try await ACPFixture.run(environment: ["ACP_FIXTURE_IMAGES": "0"]) { f in
            let png = f.directory.appendingPathComponent("dot.png")
            try Data([0x89, 0x50, 0x4E, 0x47] + [UInt8](repeating: 0, count: 20)).write(to: png)
            let events = try await collect(try await f.turn("look", images: [png.path]))
            #expect(events.notes.contains { $0.contains("does not accept images") })
            #expect(f.entries("session/prompt").first?["images"] == .array([]))
        }
    }

    @Test("a consumer that stops listening (its task cancelled) cancels the agent's turn")
    func consumerGoesAway() async throws {
        try await ACPFixture.run { f in
            let turn = try await f.turn("slow")
            let deltas = Mutex(0)
            let consumer = Task {
                for try await event in turn.events { if case .textDelta = event { deltas.withLock { $0 += 1 } } }
            }
            #expect(await f.waitForLog { $0.contains { $0["method"]?.stringValue == "session/prompt" } })
            // The answer is flowing to the consumer when it goes away.
            #expect(await eventually { deltas.withLock { $0 } > 0 })
            consumer.cancel()
            _ = try? await consumer.value
            #expect(await f.waitForLog { $0.contains { $0["method"]?.stringValue == "session/cancel" } })
        }
    }

    @Test("deny policy: the agent is refused at once and says so; the operator gets a note")
    func permissionDenied() async throws {
        try await ACPFixture.run(policy: .deny) { f in
            let events = try await collect(try await f.turn("permission"))
            #expect(events.text == "permission denied")
            #expect(events.notes.contains { $0.contains("denied") && $0.contains("Delete cache") })
            #expect(!events.contains { if case .permission = $0 { return true }; return false })
            #expect(f.entries("permission_outcome").first?["optionId"]?.stringValue == "reject")
            #expect(events.last == .finished(.endTurn))
        }
    }

    @Test("ask-operator policy: a permission event, and the operator's choice reaches the agent",
          arguments: [("allow", "permission allowed"), (nil, "permission denied")] as [(String?, String)])
    func permissionAsked(choice: String?, reply: String) async throws {
        try await ACPFixture.run(policy: .askOperator) { f in
            let turn = try await f.turn("permission")
            var events: [AgentEvent] = []
            for try await event in turn.events {
                events.append(event)
                if case .permission(let request) = event {
                    #expect(request.title == "Delete cache")
                    #expect(request.options.map(\.kind) == ["allow_once", "reject_once"])
                    await turn.answer(request.id, optionID: choice)
                }
            }
            #expect(events.text == reply)
            #expect(f.entries("permission_outcome").first?["optionId"]?.stringValue == choice ?? "reject")
            #expect(events.last == .finished(.endTurn))
        }
    }

    @Test("cancel while a permission request is pending answers it cancelled")
    func cancelPendingPermission() async throws {
        try await ACPFixture.run(policy: .askOperator) { f in
            let turn = try await f.turn("permission")
            var events: [AgentEvent] = []
            for try await event in turn.events {
                events.append(event)
                if case .permission = event { await turn.cancel() }
            }
            #expect(events.last == .finished(.cancelled))
            #expect(events.textCount == 0)
            #expect(await f.waitForLog { $0.contains { $0["method"]?.stringValue == "permission_outcome" } })
            #expect(f.entries("permission_outcome").first?["outcome"]?.stringValue == "cancelled")
            #expect(f.methods.contains("session/cancel"))
        }
    }

    @Test("a tool call is a tool event and a segment break; plan is ignored, usage reported")
    func toolCall() async throws {
        try await ACPFixture.run { f in
            let events = try await collect(try await f.turn("tool"))
            #expect(events.text == "before the tool. after the tool.")
            let start = try #require(events.firstIndex(of: .tool(id: "call_1", title: "Read notes.txt", status: "pending")))
            #expect(events[start + 1] == .segmentBreak)
            #expect(events.contains(.tool(id: "call_1", title: "Read notes.txt", status: "completed")))
            #expect(events.contains(.usage(used: 1200, size: 200_000)))
            #expect(events.notes.isEmpty, "unexpected notes: \(events.notes)")
        }
    }

    @Test("thoughts are thoughts, never text")
    func thoughts() async throws {
        try await ACPFixture.run { f in
            let events = try await collect(try await f.turn("think"))
            #expect(events.text == "the answer")
            #expect(events.contains(.thought("let me think about it")))
        }
    }

    @Test("fs requests are refused with method-not-found; images go out as image blocks")
    func refusedRequestsAndImages() async throws {
        try await ACPFixture.run { f in
            let fs = try await collect(try await f.turn("fs"))
            #expect(fs.text == "fs error -32601")
            #expect(fs.notes.contains { $0.contains("fs/read_text_file") })
            let png = f.directory.appendingPathComponent("dot.png")
            try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 40)).write(to: png)
            let events = try await collect(try await f.turn("look at this", images: [png.path]))
            #expect(events.last == .finished(.endTurn))
            let images = f.entries("session/prompt").last?["images"]
            #expect(images == .array([.object(["mimeType": .string("image/png"), "bytes": .number(64)])]))
        }
    }

    @Test("an agent that dies mid-turn fails the turn with its stderr; the next turn starts a new one")
    func crash() async throws {
        try await ACPFixture.run { f in
            let turn = try await f.turn("crash")
            var events: [AgentEvent] = []
            let error = await #expect(throws: QQError.self) {
                for try await event in turn.events { events.append(event) }
            }
            #expect(error?.kind == .agent)
            #expect(error?.message.contains("status 3") == true, "\(String(describing: error))")
            #expect(error?.message.contains("the model went away") == true, "\(String(describing: error))")
            #expect(events.text == "about to crash ")
            let first = f.loggedPIDs
            let again = try await collect(try await f.turn("again"))
            #expect(again.text == "echo: again")
            #expect(again.notes.contains { $0.contains("status 3") }, "the operator should learn the history is gone")
            #expect(f.entries("initialize").count == 2)
            #expect(f.loggedPIDs.subtracting(first).count == 1)
            for pid in first { #expect(!ACPFixture.isRunning(pid)) }
        }
    }

    @Test("an agent that ignores cancel is stopped after the grace and the turn ends cancelled")
    func hang() async throws {
        // The grace runs on the test's clock: the agent is stopped when time reaches it, not before.
        let time = ManualClock()
        try await ACPFixture.run(cancelGrace: .seconds(30), clock: .manual(time)) { f in
            let turn = try await f.turn("hang")
            var events: [AgentEvent] = []
            var cancelled = false
            for try await event in turn.events {
                events.append(event)
                if case .textDelta = event, !cancelled {
                    cancelled = true
                    await turn.cancel()
                    #expect(await time.waitForSleepers { $0 == time.elapsed + .seconds(30) })
                    let pid = try #require(f.loggedPIDs.first)
                    #expect(ACPFixture.isRunning(pid), "stopped before the grace was over")
                    // The agent got the cancel (and ignores it) before its grace runs out: on a loaded
                    // machine it may read it a moment after it was sent.
                    #expect(await eventually { f.methods.contains("session/cancel") }, "no session/cancel reached the agent")
                    time.advance(by: .seconds(30))
                }
            }
            #expect(events.last == .finished(.cancelled))
            let pid = try #require(f.loggedPIDs.first)
            #expect(!ACPFixture.isRunning(pid), "the hung agent must be gone when the turn ends")
            #expect(events.notes.contains { $0.contains("did not stop") })
            let fresh = try await collect(try await f.turn("fresh"))
            #expect(fresh.text == "echo: fresh")
        }
    }

    @Test("an agent that answers another protocol version is refused and stopped")
    func protocolVersion() async throws {
        try await ACPFixture.run(environment: ["ACP_FIXTURE_PROTOCOL": "2"]) { f in
            let error = await #expect(throws: QQError.self) { _ = try await f.turn("hello") }
            #expect(error?.kind == .agent)
            #expect(error?.message.contains("protocol version 2") == true, "\(String(describing: error))")
            #expect(f.entries("session/new").isEmpty)
            for pid in f.loggedPIDs { #expect(!ACPFixture.isRunning(pid)) }
        }
    }
}
