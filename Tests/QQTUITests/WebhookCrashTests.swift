import Foundation
@testable import QQSession
@testable import QQTUI
import QQSimulator
import Testing
import TestSupport

/// `qqtui serve` in webhook mode: status and secrets, and SIGKILL during a burst of callbacks (every
/// event the platform got a 200 for is in the store).
@Suite("Webhook transport: serve")
struct WebhookCrashTests {
    /// A config for webhook mode on any free port (`extra` appended).
    static func config(sim: QQSimulator, dir: String, extra: String = "") throws -> String {
        let config = try TestConfig.write(sim: sim, dir: dir, extra: "[webhook]\nlisten = \"127.0.0.1:0\"\n" + extra, logLevel: "trace")
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "[bot]\n", with: "[bot]\ntransport = \"webhook\"\n")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    /// The callback URL serve printed.
    static func url(_ serve: ChildProcess) async -> String? {
        var url: String?
        _ = await serve.waitForOutput { lines in
            url = lines.lazy.compactMap { line -> String? in
                guard let r = line.range(of: "listening for webhook callbacks on ") else { return nil }
                return String(line[r.upperBound...].prefix { $0 != "\"" })
            }.first
            return url != nil
        }
        return url
    }

    @Test("serve in webhook mode: status names the transport; the secret and the key are in no log, output, answer or store", .timeLimit(.minutes(2)))
    func statusAndSecrets() async throws {
        let binary = try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)")
        let sim = try await QQSimulator.start()
        let dir = TestConfig.tempDir("webhook-serve")
        let config = try Self.config(sim: sim, dir: dir)
        let serve = try ChildProcess(binary, ["serve", "--json", "--verbose", "--config", config])
        defer { serve.send(SIGKILL) }
        let url = try #require(await Self.url(serve), "\(serve.stderr)")
        #expect(await sim.platform.useWebhook(url))
        for fault in SimWebhookFault.allCases { await sim.platform.injectWebhook(fault) }
        for i in 0..<6 { _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "第\(i)条") }
        #expect(await eventually { await sim.platform.webhookDeliveries().count >= 7 })
        let status = try ChildProcess(binary, ["status", "--json", "--config", config])
        defer { status.send(SIGKILL) }
        #expect(await status.waitForExit() == 0, "\(status.stderr)")
        #expect(status.stdout.contains("\"webhook\"") && status.stdout.contains(url), "\(status.stdout)")
        #expect(await serve.stop() == 0)
        let scan = LeakScan()
        scan.add("serve stdout", serve.stdout)
        scan.add("serve stderr", serve.stderr)
        scan.add("status", status.stdout + status.stderr)
        scan.addFiles(under: dir, skipping: ["config.toml"])
        let secret = sim.configuration.appSecret
        var seed = Data(secret.utf8)
        while seed.count < 32 { seed += seed }
        let seedHex = seed.prefix(32).map { String(format: "%02x", $0) }.joined()
        let found = scan.findings(LeakScan.needles("app secret", secret) + [("key seed (hex)", seedHex)])
        #expect(found.isEmpty, "\(found)")
        await sim.stop()
    }

    @Test("kill -9 of serve during a webhook burst: every acknowledged event is stored", CPUGate.backstop)
    func killDuringWebhookBurst() async throws {
        try await CPUGate.run(limit: .seconds(120)) { try await killAlone() }
    }

    func killAlone() async throws {
        let binary = try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)")
        var simConfig = SimulatorConfiguration()
        simConfig.webhookAttempts = 1   // what the bot did not acknowledge is not our question here
        let sim = try await QQSimulator.start(simConfig)
        let dir = TestConfig.tempDir("webhook-crash")
        let config = try Self.config(sim: sim, dir: dir)
        let serve = try ChildProcess(binary, ["serve", "--json", "--config", config])
        defer { serve.send(SIGKILL) }
        let url = await Self.url(serve)
        #expect(url != nil, "\(serve.stderr)")
        #expect(await sim.platform.useWebhook(url ?? "?"))
        var sent: [String: String] = [:]   // event id → message id
        let burst = Task { () -> [String: String] in
            var ids: [String: String] = [:]
            for i in 0..<2000 {
                let r = await sim.platform.userSendsC2C(userOpenID: "U\(i % 5)", content: "回调 \(i)")
                ids[r.eventID] = r.id
                if Task.isCancelled { break }
            }
            return ids
        }
        #expect(await eventually(timeout: .seconds(60)) {
            await sim.platform.webhookDeliveries().filter { $0.acknowledged && $0.type == "C2C_MESSAGE_CREATE" }.count >= 150
        })
        serve.send(SIGKILL)
        _ = await serve.waitForExit()
        burst.cancel()
        sent = await burst.value
        let acknowledged = await sim.platform.webhookDeliveries().filter { $0.acknowledged && $0.type == "C2C_MESSAGE_CREATE" }
        #expect(acknowledged.count >= 150)
        let store = try MessageStore.open(path: dir + "/store.sqlite")
        var missing: [String] = []
        for delivery in acknowledged {
            guard let id = sent[delivery.id] else { missing.append("unknown event \(delivery.id)"); continue }
            if try await store.message(uid: id) == nil { missing.append(id) }
        }
        #expect(missing.isEmpty, "\(missing.count) acknowledged events are not in the store: \(missing.prefix(5))")
        _ = await store.close()
        await sim.stop()
    }
}
