import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// `qqtui serve` as a bot service: agents answer, SIGTERM closes open streams.
@Suite("qqtui serve with an agent", .timeLimit(.minutes(1)))
struct ServeAgentTests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    func config(sim: QQSimulator, dir: String, agent: String) throws -> String {
        try TestConfig.write(sim: sim, dir: dir, extra: "[stream]\ninterval_ms = 100\n[handoff]\ndefault_owner = \"agent\"\n[agent]\n\(agent)\n")
    }

    static func tempDir() -> String { TestConfig.tempDir("serve") }

    @Test("serve answers with the configured agent (C2C streamed, group accumulated) and logs one line per event")
    func answers() async throws {
        let sim = try await QQSimulator.start()
        let dir = Self.tempDir()
        let serve = try ChildProcess(try binary(), ["serve", "--config", try config(sim: sim, dir: dir, agent: #"backend = "echo""#)])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains("READY") } })
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "回声测试")
        _ = await sim.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "群里回声", inlineMention: true)
        #expect(await serve.waitForOutput { $0.filter { $0.contains("turn completed") }.count >= 2 }, "\(serve.stdout)")
        #expect(serve.stdoutLines.contains { $0.contains("owner    c2c:U1 → AGENT by config") })
        let sent = await sim.platform.sent().filter { $0.status == 200 }
        #expect(sent.contains { $0.path == "/v2/groups/G1/messages" })
        #expect(await sim.platform.streamRecords().first?.visibleText.contains("回声测试") == true)
        #expect(await serve.stop() == 0)
        await sim.stop()
    }

    @Test("an agent inherits qqtui's environment without the app secret: neither app_secret_env's variable nor one holding its value reaches it; [agent] env does")
    func agentEnvironmentHasNoSecret() async throws {
        let sim = try await QQSimulator.start()
        let dir = Self.tempDir()
        let secret = sim.configuration.appSecret
        let path = try TestConfig.write(sim: sim, dir: dir, extra: """
            [handoff]
            default_owner = "agent"
            [agent]
            backend = "command"
            command = ["/bin/sh", "-c", "cat >/dev/null; env | sort | tr '\\\\n' ' '"]
            env = { GIVEN_BY_CONFIG = "yes" }

            """, appSecretEnv: "QQTUI_TEST_APP_SECRET")
        var environment = ProcessInfo.processInfo.environment
        environment["QQTUI_TEST_APP_SECRET"] = secret
        environment["A_COPY_OF_IT"] = "prefix:" + secret
        environment["HARMLESS_MARK"] = "visible"
        let serve = try ChildProcess(try binary(), ["serve", "--config", path], environment: environment)
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains("READY") } }, "\(serve.stdout)\(serve.stderr)")
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "env")
        #expect(await eventually { await sim.platform.streamRecords().first?.closed == true })
        let reply = await sim.platform.streamRecords().first?.visibleText ?? ""
        #expect(reply.contains("HARMLESS_MARK=visible") && reply.contains("GIVEN_BY_CONFIG=yes"), "\(reply.prefix(300))")
        #expect(!reply.contains(secret), "the app secret reached the agent")
        #expect(!reply.contains("QQTUI_TEST_APP_SECRET") && !reply.contains("A_COPY_OF_IT"))
        #expect(await serve.stop() == 0)
        await sim.stop()
    }

    @Test("SIGTERM mid-stream: no more turns, the open C2C stream gets its closing frame, the store is flushed, exit 0")
    func sigtermClosesStream() async throws {
        let sim = try await QQSimulator.start()
        let dir = Self.tempDir()
        let agent = """
            backend = "command"
            command = ["/bin/sh", "-c", "i=0; while [ $i -lt 100000 ]; do printf '长%d ' $i; i=$((i+1)); sleep 0.05; done"]
            """
        let serve = try ChildProcess(try binary(), ["serve", "--json", "--config", try config(sim: sim, dir: dir, agent: agent)])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains(#""ready""#) } })
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "讲个很长的故事")
        #expect(await eventually { (await sim.platform.streamRecords().first?.frames.count ?? 0) >= 3 })
        serve.send(SIGTERM)
        #expect(await serve.waitForExit() == 0)
        let stream = try #require(await sim.platform.streamRecords().first)
        #expect(stream.closed, "the stream was left open: QQ would roll it back")
        #expect(!stream.rolledBack)
        #expect(serve.stdoutLines.contains { $0.contains(#""finished""#) && $0.contains("qqtui is stopping") })
        let store = try MessageStore.open(path: dir + "/store.sqlite", mode: .readOnly)
        let reply = try #require(await store.messages(in: .c2c("U1")).first { $0.origin == "agent" })
        #expect(reply.status == "cancelled")
        #expect(reply.text.hasPrefix("长0 长1 "))
        await sim.stop()
    }

    @Test("SIGTERM while a 300 KB reply is still streaming: its stream gets a valid closing frame, its row is settled, exit 0")
    func sigtermDuringLongReply() async throws {
        let sim = try await QQSimulator.start()
        let dir = Self.tempDir()
        // The agent writes 300 KB at once and is done; at 100 characters a frame, ten frames a second,
        // the reply (cut at 20,000 characters) would take 20 s to go out.
        let path = try TestConfig.write(sim: sim, dir: dir, extra: """
            [stream]
            interval_ms = 100
            max_frame_length = 100
            [handoff]
            default_owner = "agent"
            [agent]
            backend = "command"
            command = ["/bin/sh", "-c", "cat >/dev/null; head -c 300000 /dev/zero | tr '\\\\0' 'z'"]

            """)
        let serve = try ChildProcess(try binary(), ["serve", "--config", path])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains("READY") } }, "\(serve.stdout)\(serve.stderr)")
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "长篇")
        #expect(await eventually { (await sim.platform.streamRecords().first?.frames.count ?? 0) >= 3 })
        #expect(await serve.stop() == 0, "\(serve.stderr)")
        let stream = try #require(await sim.platform.streamRecords().first)
        #expect(stream.closed, "the stream was left open: QQ rolls it back")
        #expect(!stream.rolledBack)
        #expect(stream.frames.count < 100, "it stopped instead of sending the whole reply")
        let store = try MessageStore.open(path: dir + "/store.sqlite", mode: .readOnly)
        let reply = try #require(await store.messages(in: .c2c("U1")).first { $0.origin == "agent" })
        #expect(reply.status == "cancelled", "\(reply.status): \(reply.statusDetail ?? "")")
        await sim.stop()
    }
}
