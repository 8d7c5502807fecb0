import Foundation
@testable import QQSession
import Testing

/// The openai backend against real servers on 127.0.0.1: fakellm (PyPI) and the stdlib SSE fixture.
@Suite("openai agent against real servers", .timeLimit(.minutes(1)))
struct OpenAIAgentTests {
    @Test("fakellm streams the configured answer word by word; the rule matched on the system prompt and history",
          .enabled(if: PeerProcess.peersPython != nil || PeerProcess.peersRequired, "no peer venv (bash .ci/peers): skipped"))
    func fakellm() async throws {
        let python = try #require(PeerProcess.peersPython, "the peer venv is missing: run bash .ci/peers")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-fakellm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let answer = "Hello from the fake model, streamed word by word."
        let config = """
            rules:
              - name: with-context
                when:
                  messages_contain: "SYS-MARKER-7"
                  previous_message_contains: "HIST-MARKER-3"
                respond:
                  content: "\(answer)"
              - name: fallback
                respond:
                  content: "the context did not arrive"
            """
        try config.write(to: dir.appendingPathComponent("fakellm.yaml"), atomically: true, encoding: .utf8)
        // Port 0: fakellm binds a free port and says which. (A port found free beforehand and handed
        // to it could be taken by another test's server while Python starts: that answered 404.)
        let fakellm = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("fakellm").path
        let server = try PeerProcess(fakellm, ["serve", "--host", "127.0.0.1", "--port", "0",
                                              "--config", dir.appendingPathComponent("fakellm.yaml").path], directory: dir.path)
        try await server.killing {
            let port = try #require(await server.uvicornPort(), "fakellm did not say where it listens: \(server.stderrTail)")
            let agent = OpenAIAgent(configuration: OpenAIAgentConfiguration(
                baseURL: "http://127.0.0.1:\(port)/v1", model: "local", systemPrompt: "You are the duty agent. SYS-MARKER-7"))
            #expect(agent.name == "openai local")
            let outcome = try await TurnOutcome.run(agent, [.user("hello there")],
                                                    history: [.user("earlier question"), .operatorReply("operator said HIST-MARKER-3")])
            #expect(outcome.error == nil, "\(String(describing: outcome.error))")
            #expect(outcome.text == answer, "a different text means the rule did not see the system prompt and history")
            #expect(outcome.deltas.count > 3, "streamed as several deltas, not one")
            #expect(outcome.finish == .endTurn)
        }
    }

    @Test("a slow stream arrives chunk by chunk; characters whose bytes were split across writes arrive whole")
    func slowStream() async throws {
        let outcome = try await SSEFixture.turn("slow")
        #expect(outcome.error == nil, "\(String(describing: outcome.error))")
        #expect(outcome.deltas == (0..<20).map { "第\($0)段 " })
        #expect(!outcome.text.contains("\u{FFFD}"))
        #expect(outcome.finish == .endTurn)
    }

    @Test("cancel mid-stream: .finished(.cancelled), no delta after cancel() returned, and the server sees the disconnect")
    func cancelMidStream() async throws {
        try await SSEFixture.with { fixture in
            let turn = try await fixture.agent("long").startTurn(TurnRequest(conversation: .c2c("U1"), newMessages: [.user("hi")]))
            var iterator = turn.events.makeAsyncIterator()
            var deltas = 0
            while deltas < 3, let event = try await iterator.next() {
                if case .textDelta = event { deltas += 1 }
            }
            #expect(deltas == 3)
            await turn.cancel()
            await turn.cancel()   // idempotent
            var after: [AgentEvent] = []
            while let event = try await iterator.next() { after.append(event) }
            // Deltas yielded before cancel() returned may still sit in the stream's buffer (a loaded
            // machine reads slowly); then the turn ends with .finished(.cancelled) and nothing follows.
            #expect(after.last == .finished(.cancelled), "after cancel(): \(after)")
            #expect(after.dropLast().allSatisfy { if case .textDelta = $0 { return true }; return false }, "\(after)")
            #expect(deltas + after.count - 1 < 200, "the whole answer arrived despite the cancel")
            let sawDisconnect = await fixture.sawDisconnect()
            let seen = sawDisconnect ? "" : await fixture.diagnostics()
            #expect(sawDisconnect, "the fixture did not see the client go away: \(seen)")
            #expect(try await fixture.state()["completed"] as? Int == 0, "the stream ran to its end")
        }
    }

    @Test("a consumer that drops the stream closes the connection too")
    func droppedConsumer() async throws {
        try await SSEFixture.with { fixture in
            let turn = try await fixture.agent("long").startTurn(TurnRequest(conversation: .c2c("U1"), newMessages: [.user("hi")]))
            let firstDelta = AsyncStream.makeStream(of: Void.self)
            let consumer = Task {
                for try await event in turn.events { if case .textDelta = event { firstDelta.continuation.yield() } }
            }
            var signals = firstDelta.stream.makeAsyncIterator()
            _ = await signals.next()
            consumer.cancel()   // the consumer's task goes away while it waits for the next event
            let sawDisconnect = await fixture.sawDisconnect()
            let seen = sawDisconnect ? "" : await fixture.diagnostics()
            #expect(sawDisconnect, "the request kept running after the consumer left: \(seen)")
        }
    }

    @Test("reasoning_content and reasoning become thoughts, never answer text; usage with choices null")
    func reasoning() async throws {
        let outcome = try await SSEFixture.turn("reasoning")
        #expect(outcome.error == nil)
        #expect(outcome.text == "答案：你好")
        #expect(outcome.thoughts == ["Let me think. ", "The user greets me."])
        #expect(outcome.events.contains(.usage(used: 42, size: nil)))
        #expect(outcome.finish == .endTurn)
    }

    @Test("a server that ignores stream: true and answers one JSON completion still gives the answer")
    func nonStreaming() async throws {
        let outcome = try await SSEFixture.turn("non_stream")
        #expect(outcome.error == nil, "\(String(describing: outcome.error))")
        #expect(outcome.events == [.thought("quietly"), .textDelta("whole answer"), .usage(used: 5, size: nil), .finished(.endTurn)])
    }

    @Test("finish_reason length ends the turn with .maxTokens after the usage chunk")
    func length() async throws {
        let outcome = try await SSEFixture.turn("length")
        #expect(outcome.text == "cut sh")
        #expect(outcome.events.suffix(2) == [.usage(used: 12, size: nil), .finished(.maxTokens)])
    }

    @Test("CRLF and CR line ends, comments, event/id/retry fields and multi-line data from a real socket")
    func crlf() async throws {
        let outcome = try await SSEFixture.turn("crlf")
        #expect(outcome.error == nil, "\(String(describing: outcome.error))")
        #expect(outcome.text == "línea dos")
        #expect(outcome.finish == .endTurn)
    }

    @Test("the end of the body after a finish_reason ends the turn; before one it is an error")
    func endOfStream() async throws {
        let finished = try await SSEFixture.turn("eof_after_finish")
        #expect(finished.error == nil)
        #expect(finished.text == "done")
        #expect(finished.finish == .endTurn)
        let early = try await SSEFixture.turn("eof_early")
        #expect(early.text == "half an answer")
        #expect(early.agentError?.kind == .agent)
        #expect(early.agentError?.message == "the server closed the stream before the answer finished")
        #expect(early.finish == nil)
    }

    @Test("the request carries history within the limits, the newest user message always, and user images as data URLs")
    func requestContents() async throws {
        let image = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-openai-\(UUID().uuidString).png")
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        try Data(png).write(to: image)
        defer { try? FileManager.default.removeItem(at: image) }
        let history = (0..<30).map { i in i % 2 == 0 ? ChatMessage.user("old \(i)") : .operatorReply("reply \(i)") }
        let newest = ChatMessage.user(String(repeating: "新", count: 300), images: [image.path, "/nonexistent/gone.png"])
        let (outcome, body) = try await SSEFixture.with { fixture in
            let agent = fixture.agent("normal", systemPrompt: "SYSTEM", maxHistoryMessages: 4, maxHistoryChars: 315)
            let outcome = try await TurnOutcome.run(agent, [.operatorReply("handing over"), newest], history: history)
            return (outcome, try await fixture.lastBody())
        }
        #expect(outcome.text == "ok")
        #expect(outcome.notes.count == 1)
        #expect(outcome.notes.first?.contains("gone.png") == true)
        let messages = try #require(body["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String ?? "" } == ["system", "assistant", "user"], "trimmed to what fits 315 characters")
        #expect(messages[1]["content"] as? String == "handing over")
        let parts = try #require(messages[2]["content"] as? [[String: Any]])
        #expect(parts.count == 2)
        #expect(parts[0]["type"] as? String == "text")
        #expect(parts[0]["text"] as? String == newest.text)
        #expect(parts[1]["type"] as? String == "image_url")
        #expect((parts[1]["image_url"] as? [String: Any])?["url"] as? String == "data:image/png;base64," + Data(png).base64EncodedString())
    }
}
