import Foundation
@testable import QQSession
import QQSimulator
import Synchronization
import Testing
import TestSupport

/// The app secret and the access tokens never reach a log, a screen, an output, the store or an export,
/// even when the platform misbehaves: everything a real run leaves behind is searched for them.
@Suite("Secrets never leak", .serialized, .timeLimit(.minutes(4)),
       .enabled(if: TmuxSession.binary != nil || ProcessInfo.processInfo.environment["QQTUI_REQUIRE_PEERS"] == "1",
                "tmux is not installed (CI installs it)"))
struct SecretLeakTests {
    static let secret = "qqtuiLeakProbeSecret7f3c9a1e5b2d4086"
    static let wrongSecret = "qqtuiWrongProbeSecret0b6d2e4f8a1c3957"

    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    @Test("console with expired tokens, echoed credentials and gateway faults, then serve, send (also with a wrong secret), export, search, alias and config check: no secret or token anywhere")
    func noLeaks() async throws {
        var simConfig = SimulatorConfiguration()
        simConfig.appSecret = Self.secret
        let sim = try await QQSimulator.start(simConfig)
        let dir = TestConfig.tempDir("leak")
        let config = try TestConfig.write(sim: sim, dir: dir, extra: """
            [gateway]
            reconnect_base_ms = 50
            reconnect_max_ms = 200

            """, logLevel: "trace")
        let scan = LeakScan()
        try await console(sim: sim, dir: dir, config: config, scan: scan)
        try await serve(sim: sim, config: config, scan: scan)
        try await commands(sim: sim, dir: dir, config: config, scan: scan)

        let tokens = await sim.platform.issuedTokens()
        #expect(tokens.count >= 3, "the run was meant to renew the token: \(tokens.count) issued")
        scan.addFiles(under: dir, skipping: ["config.toml"])
        #expect(scan.places.contains("file qqtui.log") && scan.places.contains("file store.sqlite"), "\(scan.places)")
        var needles = LeakScan.needles("the app secret", Self.secret) + LeakScan.needles("the wrong secret", Self.wrongSecret)
        for (i, token) in tokens.enumerated() {
            needles += LeakScan.needles("access token #\(i + 1)", String(token.dropFirst("SIMTOKEN-".count)))
        }
        let findings = scan.findings(needles)
        #expect(findings.isEmpty, "secrets leaked:\n\(findings.joined(separator: "\n"))")
        // The echoed credentials did reach qqtui, and were scrubbed rather than simply never shown.
        #expect(!scan.findings([("placeholder", Redactor.placeholder)]).isEmpty, "no ‹redacted› anywhere: the echo test did not run")
        await sim.stop()
    }

    /// The console in tmux: replies, an expired token, a platform echoing credentials in error bodies,
    /// a refused Resume, an invalid session; every screen kept.
    func console(sim: QQSimulator, dir: String, config: String, scan: LeakScan) async throws {
        let tmux = try TmuxSession(command: "'\(try binary())' --config '\(config)' 2>'\(dir)/console.stderr'; echo EXIT=$?; sleep 30",
                                   environment: ["LANG": "C.UTF-8", "TERM": "screen", "XDG_DATA_HOME": dir + "/data",
                                                 "XDG_STATE_HOME": dir + "/state", "XDG_CONFIG_HOME": dir + "/xdg-config"])
        defer { tmux.stop() }
        let screens = Mutex<[String]>([])
        let watcher = Task {
            while !Task.isCancelled {
                let screen = await tmux.capture()
                screens.withLock { if $0.last != screen { $0.append(screen) } }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer {
            watcher.cancel()
            for (i, screen) in screens.withLock({ $0 }).enumerated() { scan.add("screen \(i)", screen) }
        }
        func reply(_ text: String) async {
            await tmux.type(text)
            await tmux.press("Enter")
        }
        func delivered(_ text: String) async -> Bool {
            await eventually(timeout: .seconds(20)) {
                await sim.platform.sent().contains { $0.status == 200 && $0.body?["content"]?.string == text }
            }
        }
        #expect(await tmux.waitFor { $0.contains("READY") }, "\(tmux.screen)")
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "你好，在吗？")
        #expect(await tmux.waitFor { $0.contains("你好，在吗？") }, "\(tmux.screen)")
        await reply("第一条回复")
        #expect(await delivered("第一条回复"))

        // The token expires on the platform: 401, a new token, the send goes through.
        await sim.platform.apply(.expireTokens)
        await reply("第二条回复")
        #expect(await delivered("第二条回复"))

        // A platform that echoes the credentials in an API error body.
        let token = await sim.platform.issuedTokens().last ?? "none"
        let echo = "echo clientSecret=\(Self.secret) Authorization=QQBot \(token)"
        await sim.platform.apply(.oddResponses([OddResponse(scope: .api, status: 400, body: #"{"code":40034001,"message":"\#(echo)"}"#)]))
        await reply("第三条回复")
        #expect(await tmux.waitFor { $0.contains("send failed") }, "\(tmux.screen)")

        // The gateway: op 7, the Resume refused with 4004, a new Identify; then an invalid session.
        await sim.platform.apply(.rejectIdentify(code: 4004, count: 1))
        await sim.platform.apply(.reconnect)
        #expect(await eventually(timeout: .seconds(20)) { await sim.platform.currentStats().connectionsOpened >= 3 })
        await sim.platform.apply(.invalidSession(resumable: false))
        #expect(await eventually(timeout: .seconds(20)) { await sim.platform.currentStats().connectionsOpened >= 4 })
        #expect(await tmux.waitFor { $0.contains("READY") }, "\(tmux.screen)")

        // The token endpoint refuses, echoing the secret and the old token.
        await sim.platform.apply(.expireTokens)
        await sim.platform.apply(.oddResponses([OddResponse(scope: .token, status: 401, body: #"{"code":100016,"message":"\#(echo)"}"#)]))
        await reply("第四条回复")
        #expect(await tmux.waitFor { $0.contains("send failed") && $0.contains("token") }, "\(tmux.screen)")

        await tmux.press("C-c")
        #expect(await tmux.waitFor { $0.contains("EXIT=") }, "\(tmux.screen)")
    }

    /// `serve --json` through a message, a reply sent beside it, and a reconnect.
    func serve(sim: QQSimulator, config: String, scan: LeakScan) async throws {
        let serve = try ChildProcess(try binary(), ["serve", "--json", "--verbose", "--config", config])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains(#""type":"gateway""#) && $0.contains(#""ready""#) } }, "\(serve.stderr)")
        // A console attached through the whole run: everything serve tells consoles is searched too.
        let socket = (config as NSString).deletingLastPathComponent + "/run/store.sock"
        let console = try ControlTestClient(socket: socket, operatorName: "leak-check")
        defer { console.close() }
        _ = await sim.platform.userSendsC2C(userOpenID: "U2", content: "serve 在吗")
        #expect(await serve.waitForOutput { $0.contains { $0.contains("serve 在吗") } })
        let send = try ChildProcess(try binary(), ["send", "--config", config, "--to", "c2c:U2", "beside serve"])
        defer { send.send(SIGKILL) }
        #expect(await send.waitForExit() == 0, "\(send.stderr)")
        await sim.platform.apply(.reconnect)
        #expect(await eventually(timeout: .seconds(20)) { await sim.platform.currentStats().connectionsOpened >= 6 })
        let status = try ChildProcess(try binary(), ["status", "--json", "--config", config])
        #expect(await status.waitForExit() == 0, "\(status.stderr)")
        #expect(await console.waitFor { _ in console.messageTexts.contains("serve 在吗") })
        #expect(await serve.stop() == 0)
        scan.add("the control socket, as an attached console got it", console.raw)
        scan.add("status --json", status.stdout + status.stderr)
        scan.add("serve stdout", serve.stdout)
        scan.add("serve stderr", serve.stderr)
        scan.add("send beside serve: stdout", send.stdout)
        scan.add("send beside serve: stderr", send.stderr)
    }

    /// The other commands, and `send` with a wrong secret.
    func commands(sim: QQSimulator, dir: String, config: String, scan: LeakScan) async throws {
        let wrong = try TestConfig.write(sim: sim, dir: dir + "/wrong", appSecret: Self.wrongSecret, logLevel: "trace")
        let runs: [(name: String, arguments: [String], succeeds: Bool)] = [
            ("send", ["send", "--config", config, "--to", "c2c:U1", "第五条"], true),
            ("send with a wrong secret", ["send", "--config", wrong, "--to", "c2c:U1", "refused"], false),
            ("export jsonl", ["export", "--config", config, "--format", "jsonl"], true),
            ("export txt", ["export", "--config", config, "--format", "txt"], true),
            ("search", ["search", "--config", config, "回复"], true),
            ("alias set", ["alias", "--config", config, "U1", "张三"], true),
            ("alias list", ["alias", "--config", config], true),
            ("config check", ["config", "check", "--config", config], true),
            ("config check (wrong)", ["config", "check", "--config", wrong], true),
        ]
        for run in runs {
            let child = try ChildProcess(try binary(), run.arguments)
            defer { child.send(SIGKILL) }
            let code = await child.waitForExit()
            #expect((code == 0) == run.succeeds, "\(run.name) exited \(String(describing: code)): \(child.stderr)")
            scan.add(run.name + ": stdout", child.stdout)
            scan.add(run.name + ": stderr", child.stderr)
        }
    }
}
