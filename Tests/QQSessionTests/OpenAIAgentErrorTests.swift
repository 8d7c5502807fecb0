import Foundation
@testable import QQSession
import Testing

/// How the openai backend fails, against the stdlib SSE fixture: every failure is a ``QQError`` of
/// kind `.agent` that says what happened and never shows the API key.
@Suite("openai agent errors", .timeLimit(.minutes(1)))
struct OpenAIAgentErrorTests {
    @Test("503 with a JSON error: the status and the server's message")
    func serviceUnavailable() async throws {
        let outcome = try await SSEFixture.turn("error503")
        let error = try #require(outcome.agentError, "\(outcome.events)")
        #expect(error.kind == .agent)
        #expect(error.httpStatus == 503)
        #expect(error.message.contains("503"))
        #expect(error.message.contains("model is overloaded, try later"))
        #expect(outcome.events.isEmpty)
    }

    @Test("a non-JSON error page: the status and the start of the body")
    func plainError() async throws {
        let error = try #require(try await SSEFixture.turn("plain_error").agentError)
        #expect(error.httpStatus == 502)
        #expect(error.message.contains("502") && error.message.contains("bad gateway"))
    }

    @Test("an error event mid-stream ends the turn with the server's message after the text so far")
    func midStreamError() async throws {
        let outcome = try await SSEFixture.turn("midstream_error")
        #expect(outcome.text == "partial ")
        #expect(outcome.agentError?.message.contains("out of memory while generating") == true)
        #expect(outcome.finish == nil)
    }

    @Test("data that is not JSON is an error")
    func garbage() async throws {
        let outcome = try await SSEFixture.turn("garbage")
        #expect(outcome.text == "fine ")
        #expect(outcome.agentError?.message.contains("not a JSON object: this is not json") == true)
    }

    @Test("the API key goes out as a bearer token, only when set, and never appears in an error")
    func apiKey() async throws {
        try await SSEFixture.with { fixture in try await Self.checkAPIKey(fixture) }
    }

    static func checkAPIKey(_ fixture: SSEFixture) async throws {
        let key = "sk-qqtui-TEST-key-7f3a9c"
        let ok = try await TurnOutcome.run(fixture.agent("normal", apiKey: Secret(key)), [.user("hi")])
        #expect(ok.text == "ok")
        var last = try #require(try await fixture.state()["last_request"] as? [String: Any])
        #expect(last["authorization"] as? String == "Bearer \(key)")
        #expect(last["accept"] as? String == "text/event-stream")
        #expect(last["path"] as? String == "/v1/chat/completions")

        let echoed = try await TurnOutcome.run(fixture.agent("echo_auth_error", apiKey: Secret(key)), [.user("hi")])
        let error = try #require(echoed.agentError)
        #expect(error.httpStatus == 401)
        for text in [error.message, error.description, "\(error)", String(reflecting: error), error.localizedDescription] {
            #expect(!text.contains(key), "the key leaked: \(text)")
            #expect(!text.contains("7f3a9c"))
        }
        #expect(error.message.contains("invalid api key: Bearer \(Redactor.placeholder)"))

        _ = try await TurnOutcome.run(fixture.agent("normal"), [.user("hi")])
        last = try #require(try await fixture.state()["last_request"] as? [String: Any])
        #expect(last["authorization"] is NSNull, "no key, no Authorization header")
    }

    @Test("a server that does not answer within the request timeout")
    func slowHead() async throws {
        // The fixture holds the head back 3 s; the 30 s limit runs on the test's clock and is reached by hand.
        let time = ManualClock()
        let error = try #require(try await SSEFixture.with { fixture in
            let turn = try await fixture.agent("slow_head", requestTimeout: .seconds(30), clock: .manual(time))
                .startTurn(TurnRequest(conversation: .c2c("U1"), newMessages: [.user("hi")]))
            #expect(await time.waitForSleepers { $0 == .seconds(30) }, "the request is under way")
            time.advance(by: .seconds(30))
            return await TurnOutcome.collect(turn)
        }.agentError)
        #expect(error.message.contains("did not answer within 30s"))
        #expect(error.message.contains("http://127.0.0.1:"))
    }

    @Test("connection refused fails at once with an error naming the base URL")
    func refused() async throws {
        // A port bound and never listened on: connecting is refused, and while the test holds it no
        // other test's server can take it (a port closed and reused could answer instead).
        let hole = try BlackHoleServer(listening: false)
        defer { hole.close() }
        let base = "http://127.0.0.1:\(hole.port)"
        // The agent's time stands still: an answer that came back did not wait for any deadline or
        // retry pause (a wall-clock bound here failed on a loaded machine).
        let time = ManualClock()
        let agent = OpenAIAgent(configuration: OpenAIAgentConfiguration(baseURL: base, model: "m"), clock: .manual(time))
        let outcome = try await TurnOutcome.run(agent, [.user("hi")])
        let error = try #require(outcome.agentError)
        #expect(error.kind == .agent)
        #expect(error.message.contains(base))
        #expect(error.message.contains("connection refused"))
        #expect(time.elapsed == .zero, "not retried until a deadline")
    }
}
