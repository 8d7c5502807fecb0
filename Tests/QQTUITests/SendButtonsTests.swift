import Foundation
@testable import QQTUI
import QQSession
import QQSimulator
import Testing
import TestSupport

/// `qqtui send --buttons` against the simulator, and a bad spec refused before anything is sent.
@Suite("qqtui send --buttons", .timeLimit(.minutes(1)))
struct SendButtonsTests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    @Test("send --buttons: the text goes with its keyboard as markdown; a bad spec exits 64 and sends nothing")
    func sendButtons() async throws {
        var simConfig = SimulatorConfiguration()
        simConfig.markdownAllowed = true
        let sim = try await QQSimulator.start(simConfig)
        defer { Task { await sim.stop() } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-buttons-\(UUID().uuidString)").path
        let config = try TestConfig.write(sim: sim, dir: dir)
        let bad = try ChildProcess(try binary(), ["send", "--config", config, "--to", "c2c:U1", "--buttons", "1,2,3,4,5,6", "选一个"])
        defer { bad.send(SIGKILL) }
        #expect(await bad.waitForExit() == 64)
        #expect(bad.stderr.contains("at most 5 buttons in a row"), "\(bad.stderr)")
        #expect(await sim.platform.sent().isEmpty)

        let send = try ChildProcess(try binary(), ["send", "--config", config, "--to", "c2c:U1", "--buttons", "满意,不满意;官网=https://q.qq.com", "请评价本次服务"])
        defer { send.send(SIGKILL) }
        #expect(await send.waitForExit() == 0, "\(send.stderr)")
        let body = try #require(await sim.platform.sent().first { $0.status == 200 }?.body)
        #expect(body["msg_type"]?.int == 2 && body["markdown"]?["content"]?.string == "请评价本次服务")
        let rows = body["keyboard"]?["content"]?["rows"]?.array ?? []
        #expect(rows.map { $0["buttons"]?.array?.compactMap { $0["render_data"]?["label"]?.string } ?? [] } == [["满意", "不满意"], ["官网"]])
        #expect(await sim.platform.userPresses(button: "满意", user: "U1") != nil, "the simulated user can press what was sent")
    }
}
