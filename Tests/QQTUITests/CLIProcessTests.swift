import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import QQSession
import QQSimulator
import Testing

/// The real `qqtui` binary, run as a child process.
@Suite("qqtui command line", .timeLimit(.minutes(1)))
struct CLIProcessTests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    func writeConfig(_ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("config.toml").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        return path
    }

    @Test("serve --json prints the gateway states and inbound events as JSON lines; SIGTERM exits 0")
    func serveJSON() async throws {
        let sim = try await QQSimulator.start()
        let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-state-\(UUID().uuidString)").path
        let config = try writeConfig("""
            [bot]
            app_id = "\(sim.configuration.appID)"
            app_secret_env = "SIM_SECRET"
            token_url = "\(sim.tokenURL)"
            api_base = "\(sim.baseURL)"
            [inbound]
            attachment_dir = "\(stateDir)/att"
            [store]
            path = "\(stateDir)/store.sqlite"
            [log]
            file = "\(stateDir)/qqtui.log"
            level = "debug"
            """)
        var env = ProcessInfo.processInfo.environment
        env["SIM_SECRET"] = sim.configuration.appSecret
        let serve = try ChildProcess(try binary(), ["serve", "--config", config, "--json"], environment: env)
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains(#""type":"gateway""#) && $0.contains(#""ready""#) } })
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "你好 \u{1B}[2J")
        _ = await sim.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "hi", inlineMention: true)
        #expect(await serve.waitForOutput { $0.filter { $0.contains(#""type":"message""#) }.count >= 2 })
        let messages = serve.stdoutLines.filter { $0.contains(#""type":"message""#) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let events = messages.compactMap { try? decoder.decode(SessionEvent.self, from: Data($0.utf8)) }
        #expect(events.count == 2)
        if case .message(let first)? = events.first {
            #expect(first.text == "你好 \u{1B}[2J", "JSON keeps the text exactly (escaped by JSON, harmless)")
        }
        if case .message(let second)? = events.last { #expect(second.text == "hi") }
        #expect(!serve.stdout.contains("\u{1B}"), "a raw ESC reached stdout")
        #expect(await serve.stop() == 0)
        let log = (try? String(contentsOfFile: stateDir + "/qqtui.log", encoding: .utf8)) ?? ""
        #expect(log.contains("gateway READY"))
        #expect(!log.contains(sim.configuration.appSecret), "the app secret reached the log")
        #expect(!log.contains("SIMTOKEN-"), "an access token reached the log")
        await sim.stop()
    }

    @Test("serve (text) neutralises escape sequences from QQ users")
    func serveText() async throws {
        let sim = try await QQSimulator.start()
        let config = try writeConfig("""
            [bot]
            app_id = "\(sim.configuration.appID)"
            app_secret = "\(sim.configuration.appSecret)"
            token_url = "\(sim.tokenURL)"
            api_base = "\(sim.baseURL)"
            [store]
            path = "\(FileManager.default.temporaryDirectory.path)/qqtui-test-\(UUID().uuidString).sqlite"
            [log]
            file = "\(FileManager.default.temporaryDirectory.path)/qqtui-test-\(UUID().uuidString).log"
            """)
        let serve = try ChildProcess(try binary(), ["serve", "--config", config])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains("READY") } })
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "evil \u{1B}]0;pwned\u{07} \u{202E}txt.exe\u{9B}31m done")
        #expect(await serve.waitForOutput { $0.contains { $0.contains("done") } })
        #expect(!serve.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B || $0.value == 0x202E })
        #expect(serve.stdout.contains("evil ␛]0;pwned␇"))
        #expect(await serve.stop() == 0)
        await sim.stop()
    }

    @Test("a bad config is refused at start with the key and the problem (exit 78)")
    func badConfig() async throws {
        let config = try writeConfig("""
            [bot]
            app_id = "1"
            app_secret = "x"
            intents = ["group_and_c2c", "gruop_messages"]
            """)
        let serve = try ChildProcess(try binary(), ["serve", "--config", config])
        #expect(await serve.waitForExit() == 78)
        #expect(serve.stderr.contains("key bot.intents"))
        #expect(serve.stderr.contains("gruop_messages"))
        let missing = try ChildProcess(try binary(), ["serve", "--config", "/nonexistent/qqtui.toml"])
        #expect(await missing.waitForExit() == 78)
        #expect(missing.stderr.contains("not found"))
    }

    @Test("sim runs standalone: a session in this process talks to it; SIGINT exits 0")
    func simStandalone() async throws {
        let sim = try ChildProcess(try binary(), ["sim", "--port", "0", "--json", "--heartbeat-ms", "200"])
        defer { sim.send(SIGKILL) }
        #expect(await sim.waitForOutput { $0.first?.hasPrefix("{") == true })
        let info = try #require(sim.stdoutLines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let base = try #require(info["base_url"] as? String)
        #expect(info["port"] as? Int != nil)
        var config = SessionConfiguration.simulator(baseURL: base, appID: "102000001", appSecret: "qqtui-sim-secret")
        config.attachments.directory = nil
        let session = Session(configuration: config)
        let (stream, cont) = AsyncStream.makeStream(of: SessionEvent.self)
        let pump = Task { for await e in session.events { cont.yield(e) }; cont.finish() }
        await session.start()
        var iterator = stream.makeAsyncIterator()
        var ready = false
        while let e = await iterator.next() {
            if case .gateway(let s) = e, s.isReady { ready = true; break }
        }
        #expect(ready)
        // The control API over HTTP, as an outside tool would use it.
        var request = URLRequest(url: URL(string: base + "/sim/c2c")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"user_openid":"U7","content":"from curl"}"#.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        var got: InboundMessage?
        while let e = await iterator.next() {
            if case .message(let m) = e { got = m; break }
        }
        #expect(got?.text == "from curl")
        await session.shutdown()
        pump.cancel()
        sim.send(SIGINT)
        #expect(await sim.waitForExit() == 0)
    }

    @Test("sim --chaos-seed starts a seeded fault schedule that GET /sim/chaos reports")
    func simChaos() async throws {
        let sim = try ChildProcess(try binary(), ["sim", "--port", "0", "--json", "--chaos-seed", "5", "--chaos-gap-ms", "50"])
        defer { sim.send(SIGKILL) }
        #expect(await sim.waitForOutput { $0.first?.hasPrefix("{") == true })
        let info = try #require(sim.stdoutLines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let base = try #require(info["base_url"] as? String)
        let (data, _) = try await URLSession.shared.data(from: URL(string: base + "/sim/chaos")!)
        let chaos = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(chaos["running"] as? Bool == true)
        #expect(chaos["seed"] as? Int == 5)
        #expect(chaos["mean_gap_ms"] as? Int == 50)
        sim.send(SIGINT)
        #expect(await sim.waitForExit() == 0)
    }

    @Test("--help names the subcommands; config example parses with config check")
    func helpAndExample() async throws {
        let help = try ChildProcess(try binary(), ["--help"])
        #expect(await help.waitForExit() == 0)
        for word in ["--demo", "sim", "serve", "config"] { #expect(help.stdout.contains(word)) }
        let example = try ChildProcess(try binary(), ["config", "example"])
        #expect(await example.waitForExit() == 0)
        let path = try writeConfig(example.stdout)
        var env = ProcessInfo.processInfo.environment
        env["QQTUI_APP_SECRET"] = "example-secret-value"
        let check = try ChildProcess(try binary(), ["config", "check", "--config", path], environment: env)
        #expect(await check.waitForExit() == 0, "\(check.stderr)")
        #expect(check.stdout.contains("OK"))
        #expect(!check.stdout.contains("example-secret-value"))
    }
}
