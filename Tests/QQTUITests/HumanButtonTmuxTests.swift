import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// The human button end to end: the real `qqtui` in tmux, a real agent process, the simulator as QQ.
@Suite("Console in tmux: the human button", .serialized, .timeLimit(.minutes(3)),
       .enabled(if: TmuxSession.binary != nil || ProcessInfo.processInfo.environment["QQTUI_REQUIRE_PEERS"] == "1",
                "tmux is not installed (CI installs it)"))
struct HumanButtonTmuxTests {
    @Test("an agent answers in C2C with the button; the user presses it while the next answer streams: stream closed, HUMAN and WAITING on screen, the user told")
    func humanButton() async throws {
        let binary = try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)")
        let sim = try await QQSimulator.start()
        let dir = TestConfig.tempDir("tmux-human")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Turn 1 answers at once; turn 2 starts its answer and then thinks for a long time.
        let script = dir + "/agent.sh"
        try """
            n=$(cat '\(dir)/turns' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '\(dir)/turns'
            cat > /dev/null
            if [ $n = 1 ]; then printf '您的订单已发货'; else printf '正在为您查询 '; sleep 60; printf '查到了'; fi
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let config = try TestConfig.write(sim: sim, dir: dir, extra: """
            [agent]
            backend = "command"
            command = ["/bin/sh", "\(script)"]
            [handoff]
            default_owner = "agent"
            human_button = "转人工"
            human_answer = "好的，马上为您转接人工客服"

            """)
        let tmux = try TmuxSession(command: "'\(binary)' --config '\(config)'; echo EXIT=$?; sleep 30", cols: 120, rows: 35,
                                   environment: ["LANG": "C.UTF-8", "XDG_DATA_HOME": dir + "/data", "XDG_STATE_HOME": dir + "/state",
                                                 "TERM": "screen"])
        defer { tmux.stop() }
        #expect(await tmux.waitFor { $0.contains("READY") }, "\(tmux.screen)")

        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "我的订单呢")
        #expect(await tmux.waitFor { $0.contains("您的订单已发货") && $0.contains("需要人工服务请点这里") }, "\(tmux.screen)")
        let second = await sim.platform.userSendsC2C(userOpenID: "U1", content: "还有一个问题")
        #expect(await tmux.waitFor { $0.contains("正在为您查询") }, "\(tmux.screen)")
        #expect(await eventually { await sim.platform.streamRecords().count == 2 })

        _ = try #require(await sim.platform.userPresses(button: "转人工", user: "U1"))
        // The console: the press, HUMAN, WAITING (⏳), and the operator is told.
        #expect(await tmux.waitFor { $0.contains("pressed “转人工”") && $0.contains("private · HUMAN") && $0.contains("⏳") },
                "\(tmux.screen)")
        #expect(await tmux.waitFor { $0.contains("asks for a person") }, "\(tmux.screen)")
        // QQ: the second stream was closed validly, the user was told as a reply to their last message.
        #expect(await eventually { await sim.platform.streamRecords().last?.closed == true })
        let stream = try #require(await sim.platform.streamRecords().last)
        #expect(!stream.rolledBack && !stream.text.contains("查到了"))
        var told: SentRecord?
        #expect(await eventually {
            told = await sim.platform.sent().first {
                $0.status == 200 && ($0.body?["markdown"]?["content"]?.string ?? $0.body?["content"]?.string) == "好的，马上为您转接人工客服"
            }
            return told != nil
        })
        #expect(told?.body?["msg_id"]?.string == second.id)
        // The acknowledgement is its own request: it may reach the platform after the words.
        #expect(await eventually { await sim.platform.pressed().first?.ackedAt != nil }, "the press was acknowledged")
        await tmux.press("C-c")
        #expect(await tmux.waitFor { $0.contains("EXIT=0") }, "\(tmux.screen)")
    }
}
