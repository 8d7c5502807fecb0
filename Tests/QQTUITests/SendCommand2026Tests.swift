import Foundation
@testable import QQTUI
import QQSession
import QQSimulator
import Testing
import TestSupport

/// `qqtui send --buttons` and `--file` against the simulator; bad input refused before anything is sent.
@Suite("qqtui send --buttons, --file", .timeLimit(.minutes(1)))
struct SendCommand2026Tests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    @Test("send --buttons: the text goes with its keyboard as markdown; a bad spec exits 64 and sends nothing")
    func sendButtons() async throws {
        let sim = try await QQSimulator.start()
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

    @Test("send --file: a 1.5 MB video goes up in parts and out as msg_type 7; --as voice over 20 MB is refused before any upload")
    func sendFile() async throws {
        var simConfig = SimulatorConfiguration()
        simConfig.uploadBlockSize = 512 << 10
        simConfig.uploadRetryDelay = 0
        let sim = try await QQSimulator.start(simConfig)
        defer { Task { await sim.stop() } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-file-\(UUID().uuidString)").path
        let config = try TestConfig.write(sim: sim, dir: dir, extra: "[replies]\nmax_upload_mb = 1\n")
        let video = dir + "/demo.mp4"
        let bytes = Data((0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try bytes.write(to: URL(fileURLWithPath: video))
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "视频发我")
        let send = try ChildProcess(try binary(), ["send", "--config", config, "--to", "c2c:U1", "--file", video, "演示视频"])
        defer { send.send(SIGKILL) }
        #expect(await send.waitForExit() == 0, "\(send.stderr)")
        let merged = try #require(await sim.platform.mergedFiles().first)
        #expect(merged.data == bytes && merged.fileType == 2 && merged.parts == 3)
        let media = try #require(await sim.platform.sent().first { $0.path == "/v2/users/U1/messages" && $0.status == 200 })
        #expect(media.body?["msg_type"]?.int == 7 && media.body?["content"]?.string == "演示视频")

        let big = dir + "/long.wav"
        #expect(FileManager.default.createFile(atPath: big, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: big))
        try handle.truncate(atOffset: 25 << 20)
        try handle.close()
        let before = await sim.platform.sent().count
        let refused = try ChildProcess(try binary(), ["send", "--config", config, "--to", "c2c:U1", "--file", big, "--as", "voice"])
        defer { refused.send(SIGKILL) }
        #expect(await refused.waitForExit() == 1)
        #expect(refused.stdout.contains("over the 20 MiB QQ takes for a voice"), "\(refused.stdout) \(refused.stderr)")
        #expect(await sim.platform.sent().count == before, "nothing was uploaded")
    }
}
