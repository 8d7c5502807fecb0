import Foundation
import Testing

/// Independent QQ SDKs (Python) log in, receive events and reply through `qqtui sim`.
@Suite("Python QQ SDKs against qqtui sim", .timeLimit(.minutes(2)))
struct PeerSDKTests {
    @Test("qq-botpy (the official SDK) and nonebot-adapter-qq", arguments: ["botpy_peer.py", "nonebot_peer.py"])
    func peer(script: String) async throws {
        guard let python = BuildPaths.peersPython else {
            if BuildPaths.peersRequired { Issue.record("the peer venv is missing: run bash .ci/peers") }
            return
        }
        let qqtui = try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)")
        let sim = try ChildProcess(qqtui, ["sim", "--port", "0", "--json"])
        defer { sim.send(SIGKILL) }
        #expect(await sim.waitForOutput { $0.first?.hasPrefix("{") == true })
        let info = try #require(sim.stdoutLines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let base = try #require(info["base_url"] as? String)
        let path = BuildPaths.packageRoot.appendingPathComponent("Tests/Peers/\(script)").path
        let peer = try ChildProcess(python, [path, "--base", base, "--app-id", "102000001", "--secret", "qqtui-sim-secret"])
        let code = await peer.waitForExit(timeout: .seconds(60))
        if code == nil { peer.send(SIGKILL) }
        #expect(code == 0, "peer failed: \(peer.stderr.suffix(2000))")
        let summary = peer.stdoutLines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(summary?["ok"] as? Bool == true)
        #expect(await sim.stop() == 0, "qqtui sim did not exit cleanly on SIGTERM")
    }
}
