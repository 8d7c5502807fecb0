import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// The real `qqtui` in a real terminal (tmux) against the simulator: what an operator sees and does.
@Suite("Console in tmux", .serialized, .timeLimit(.minutes(3)),
       .enabled(if: TmuxSession.binary != nil || ProcessInfo.processInfo.environment["QQTUI_REQUIRE_PEERS"] == "1",
                "tmux is not installed (CI installs it)"))
struct ConsoleTmuxTests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    /// A config with a slow command agent (one word every 50 ms, for a long time).
    func config(sim: QQSimulator, dir: String) throws -> String {
        try TestConfig.write(sim: sim, dir: dir, extra: """
            [stream]
            interval_ms = 100
            [agent]
            backend = "command"
            command = ["/bin/sh", "-c", "i=0; while [ $i -lt 100000 ]; do printf '长%d ' $i; i=$((i+1)); sleep 0.05; done"]

            """)
    }

    func start(sim: QQSimulator, cols: Int = 120, rows: Int = 35) throws -> (TmuxSession, String) {
        let dir = TestConfig.tempDir("tmux")
        let config = try config(sim: sim, dir: dir)
        let tmux = try TmuxSession(command: "'\(try binary())' --config '\(config)'; echo EXIT=$?; sleep 30", cols: cols, rows: rows,
                                   environment: ["LANG": "C.UTF-8", "XDG_DATA_HOME": dir + "/data", "XDG_STATE_HOME": dir + "/state",
                                                 "TERM": "screen", "USER": "xiaoli"])
        return (tmux, dir)
    }

    @Test("an operator's session: new conversations listed, a Chinese reply sent passively, F2 streams the agent live, Ctrl-T mid-stream closes the stream, resize keeps the screen, Ctrl-C exits 0")
    func operatorSession() async throws {
        let sim = try await QQSimulator.start()
        let (tmux, _) = try start(sim: sim)
        defer { tmux.stop() }
        #expect(await tmux.waitFor { $0.contains("READY") }, "\(tmux.screen)")

        // New conversations appear in the list.
        let first = await sim.platform.userSendsC2C(userOpenID: "U1", content: "你好，在吗？")
        _ = await sim.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "群里有人吗", inlineMention: true)
        #expect(await tmux.waitFor { $0.contains("私 U1") && $0.contains("群 G1") && $0.contains("你好，在吗？") }, "\(tmux.screen)")

        // Typed Chinese goes out as a passive reply to the message on screen.
        await tmux.type("您好，我是人工客服")
        #expect(await tmux.waitFor { $0.contains("> 您好，我是人工客服") })
        await tmux.press("Enter")
        let replied = await eventually {
            await sim.platform.sent().contains {
                $0.status == 200 && $0.path == "/v2/users/U1/messages" && $0.body?["content"]?.string == "您好，我是人工客服"
                    && $0.body?["msg_id"]?.string == first.id && $0.body?["msg_seq"]?.int == 1
            }
        }
        let transcript = await sim.platform.sent()
        #expect(replied, "\(transcript)")
        // The operator's login name is who sent it (no --operator given).
        #expect(await tmux.waitFor { $0.contains("✓ xiaoli") })

        // F2: the agent answers the next message, growing live on screen and on QQ.
        await tmux.press("F2")
        #expect(await tmux.waitFor { $0.contains("private · AGENT") }, "\(tmux.screen)")
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "讲个很长的故事")
        #expect(await eventually { (await sim.platform.streamRecords().first?.frames.count ?? 0) >= 2 })
        #expect(await tmux.waitFor { $0.contains("长1 ") })
        let early = (await tmux.capture()).components(separatedBy: "长").count
        #expect(await tmux.waitFor { $0.components(separatedBy: "长").count > early }, "the reply did not grow on screen:\n\(tmux.screen)")
        let later = (await tmux.capture())
        #expect(later.contains("▌"))
        #expect(later.contains("▶"))

        // Ctrl-T mid-stream: the stream gets its closing frame, nothing after it, the screen says so.
        await tmux.press("C-t")
        #expect(await eventually { await sim.platform.streamRecords().first?.closed == true })
        #expect(await tmux.waitFor { $0.contains("private · HUMAN") && $0.contains("stopped by take-back") }, "\(tmux.screen)")
        // The reply shows ⊘ once its writer is done: nothing can be sent for it after that.
        #expect(await tmux.waitFor { $0.contains("⊘") }, "\(tmux.screen)")
        let stream = try #require(await sim.platform.streamRecords().first)
        #expect(stream.frames.last?.state == 10 && !stream.rolledBack)
        let afterClose = await sim.platform.sent().drop { $0.body?["stream"]?["state"]?.int != 10 }.dropFirst()
        #expect(afterClose.isEmpty, "sent after the closing frame: \(Array(afterClose))")

        // Resize: smaller, tiny (a notice), and back; the layout stays whole.
        await tmux.resize(cols: 60, rows: 20)
        #expect(await tmux.waitFor { s in
            let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.first?.contains("qqtui") == true && s.contains("┴") && lines.allSatisfy { $0.count <= 60 }
        }, "\(tmux.screen)")
        await tmux.resize(cols: 30, rows: 6)
        #expect(await tmux.waitFor { $0.contains("terminal too small") }, "\(tmux.screen)")
        await tmux.resize(cols: 100, rows: 30)
        #expect(await tmux.waitFor { $0.contains("READY") && $0.contains("您好，我是人工客服") && !$0.contains("too small") }, "\(tmux.screen)")

        // Ctrl-C leaves cleanly.
        await tmux.press("C-c")
        #expect(await tmux.waitFor { $0.contains("EXIT=0") }, "\(tmux.screen)")
        await sim.stop()
    }
}
