import Foundation
@testable import QQSession
import Testing
import TestSupport

@Suite("command agent backend (real child processes)", .timeLimit(.minutes(1)))
struct CommandAgentTests {
    /// Runs one turn to its end: the events, or the error.
    static func collect(_ turn: any AgentTurn) async -> (events: [AgentEvent], error: QQError?) {
        var events: [AgentEvent] = []
        do {
            for try await e in turn.events { events.append(e) }
            return (events, nil)
        } catch {
            return (events, error as? QQError)
        }
    }

    static func text(_ events: [AgentEvent]) -> String {
        events.map { if case .textDelta(let t) = $0 { return t }; return "" }.joined()
    }

    static func request(_ text: String, images: [String] = []) -> TurnRequest {
        TurnRequest(conversation: .c2c("U1"), newMessages: [ChatMessage(role: .user, author: "U1", text: text, images: images)], user: "U1")
    }

    @Test("multi-byte text split across writes arrives whole; the environment names the conversation, user, turn and images")
    func multibyteAndEnvironment() async throws {
        let script = """
            import os, sys, time
            sys.stdin.read()
            data = "你好，世界🌏".encode()
            for i in range(len(data)):
                os.write(1, data[i:i+1]); time.sleep(0.005)
            os.write(1, ("|" + "|".join([os.environ["QQTUI_CONVERSATION"], os.environ["QQTUI_USER"],
                         str(len(os.environ["QQTUI_TURN"])), os.environ["QQTUI_IMAGES"]])).encode())
            """
        let agent = CommandAgent(CommandAgentConfiguration(command: ["python3", "-c", script]))
        let request = Self.request("hi", images: ["/tmp/a.png", "/tmp/b.jpg"])
        let (events, error) = await Self.collect(try await agent.startTurn(request))
        #expect(error == nil)
        let deltas = events.compactMap { if case .textDelta(let t) = $0 { return t }; return nil }
        #expect(!deltas.contains { $0.contains("\u{FFFD}") }, "a character was cut: \(deltas)")
        #expect(Self.text(events) == "你好，世界🌏|c2c:U1|U1|36|/tmp/a.png\n/tmp/b.jpg")
        #expect(events.last == .finished(.endTurn))
    }

    @Test("a line holding only a form feed is a segment break")
    func segmentBreak() async throws {
        let agent = CommandAgent(CommandAgentConfiguration(command: ["/bin/sh", "-c", "printf '先查一下\\n\\f\\n查到了'"]))
        let (events, _) = await Self.collect(try await agent.startTurn(Self.request("x")))
        let shape = events.map { e -> String in
            switch e { case .textDelta(let t): return t; case .segmentBreak: return "|BREAK|"; default: return "" }
        }.joined()
        #expect(shape == "先查一下\n|BREAK|查到了")
    }

    @Test("a non-zero exit is an error with the end of stderr")
    func failure() async throws {
        let agent = CommandAgent(CommandAgentConfiguration(command: ["/bin/sh", "-c", "echo line1 >&2; echo 'rate limited' >&2; exit 7"]))
        let (_, error) = await Self.collect(try await agent.startTurn(Self.request("x")))
        #expect(error?.kind == .agent)
        #expect(error?.message == "sh exited with status 7: line1 | rate limited")
    }

    @Test("a program that does not exist is a clear error at start")
    func missingProgram() async throws {
        let agent = CommandAgent(CommandAgentConfiguration(command: ["/nonexistent/qqtui-agent"]))
        await #expect(throws: QQError.self) { _ = try await agent.startTurn(Self.request("x")) }
        do { _ = try await agent.startTurn(Self.request("x")) } catch let e as QQError {
            #expect(e.message.contains("cannot start /nonexistent/qqtui-agent"))
        }
    }

    @Test("cancel: SIGTERM to the group; a process that ignores it is killed after the grace, with its children")
    func cancelStubborn() async throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-pid-\(UUID().uuidString)").path
        var config = CommandAgentConfiguration(command: ["/bin/sh", "-c",
            "trap '' TERM; echo $$ > \(pidFile); sleep 30 & echo $! >> \(pidFile); while true; do printf 'x'; sleep 0.02; done"])
        config.killGrace = .seconds(3)
        let time = ManualClock()
        let turn = try await CommandAgent(config, clock: .manual(time)).startTurn(Self.request("x"))
        let collected = Task { await Self.collect(turn) }
        #expect(await eventually { ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").split(separator: "\n").count == 2 })
        let cancelling = Task { await turn.cancel() }
        // SIGTERM went out and is ignored; the grace runs on the test's clock, so nothing is killed yet.
        #expect(await time.waitForSleepers { $0 == .seconds(3) })
        let leader = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).split(separator: "\n")[0]))
        #expect(kill(leader, 0) == 0, "killed before the grace was over")
        time.advance(by: .seconds(3))
        await cancelling.value
        let (events, error) = await collected.value
        #expect(error == nil)
        #expect(events.last == .finished(.cancelled))
        let pids = try String(contentsOfFile: pidFile, encoding: .utf8).split(separator: "\n").compactMap { Int32($0) }
        for pid in pids { #expect(await eventually { kill(pid, 0) != 0 }, "pid \(pid) survived") }
    }

    @Test("the environment children inherit: secrets withheld by variable name and by value (inside a longer value too); short values only exactly")
    func childEnvironment() {
        let env = ["PATH": "/usr/bin", "QQ_SECRET": "s3cret-value-42", "COPY": "x:s3cret-value-42:y", "OTHER": "fine",
                   "PIN": "1234", "HAS_PIN": "a1234b", "OPENAI_KEY": "sk-abc"]
        let kept = ChildEnvironment.withholding(["QQ_SECRET", "OPENAI_KEY"], values: ["s3cret-value-42", "1234"], from: env)
        #expect(kept == ["PATH": "/usr/bin", "OTHER": "fine", "HAS_PIN": "a1234b"])
    }
}
