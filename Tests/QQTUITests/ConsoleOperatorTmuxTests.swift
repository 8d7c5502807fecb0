import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// The operator's repros from a full day at the console, each against the real `qqtui` in tmux and
/// the simulator: which text reached QQ, with which msg_id, is read from the simulator's transcript.
@Suite("Console in tmux: drafts, hand-off, triage", .serialized, .timeLimit(.minutes(3)),
       .enabled(if: TmuxSession.binary != nil || ProcessInfo.processInfo.environment["QQTUI_REQUIRE_PEERS"] == "1",
                "tmux is not installed (CI installs it)"))
struct ConsoleOperatorTmuxTests {
    /// Drafts `答:<the newest message>` at once.
    static let draftAgent = """
        [agent]
        backend = "command"
        command = ["/bin/sh", "-c", "q=$(tail -n 1); printf '答:%s' \\"$q\\""]

        """

    func start(sim: QQSimulator, extra: String = draftAgent, cols: Int = 120, rows: Int = 35) throws -> TmuxSession {
        let binary = try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)")
        let dir = TestConfig.tempDir("tmux-op")
        let config = try TestConfig.write(sim: sim, dir: dir, extra: extra)
        return try TmuxSession(command: "'\(binary)' --config '\(config)'; echo EXIT=$?; sleep 30", cols: cols, rows: rows,
                               environment: ["LANG": "C.UTF-8", "XDG_DATA_HOME": dir + "/data", "XDG_STATE_HOME": dir + "/state",
                                             "TERM": "screen"])
    }

    /// `start`, then waits for the gateway to be READY on screen (the caller stops the session).
    func ready(sim: QQSimulator, extra: String = draftAgent) async throws -> TmuxSession {
        let tmux = try start(sim: sim, extra: extra)
        #expect(await tmux.waitFor { $0.contains("READY") }, "\(tmux.screen)")
        return tmux
    }

    /// Texts the bot sent to `user` (C2C), with the msg_id each replied to.
    func replies(_ sim: QQSimulator, to user: String) async -> [(text: String, msgID: String?)] {
        await sim.platform.sent().filter { $0.status == 200 && $0.path == "/v2/users/\(user)/messages" }
            .map { ($0.body?["content"]?.string ?? "", $0.body?["msg_id"]?.string) }
    }

    func typeLine(_ tmux: TmuxSession, _ text: String) async {
        await tmux.type(text)
        await tmux.press("Enter")
    }

    @Test("repro 1: two drafts for two questions; Esc drops only the one shown; Enter sends the other as the reply to its own message")
    func draftsPerMessage() async throws {
        let sim = try await QQSimulator.start()
        let tmux = try await ready(sim: sim)
        defer { tmux.stop() }
        let q0 = await sim.platform.userSendsC2C(userOpenID: "U1", content: "你好")
        #expect(await tmux.waitFor { $0.contains("私 U1") })
        await typeLine(tmux, "/draft")
        #expect(await tmux.waitFor { $0.contains("private · DRAFT") }, "\(tmux.screen)")
        #expect(await tmux.waitFor { $0.contains("✎ draft answering “你好”") }, "\(tmux.screen)")
        await tmux.press("Escape")
        let q1 = await sim.platform.userSendsC2C(userOpenID: "U1", content: "发票怎么开")
        #expect(await tmux.waitFor { $0.contains("✎ draft answering “发票怎么开”") && $0.contains("✎ 答:发票怎么开") }, "\(tmux.screen)")
        let q2 = await sim.platform.userSendsC2C(userOpenID: "U1", content: "运费多少")
        #expect(await tmux.waitFor { $0.contains("1 more draft") }, "the second draft is not announced:\n\(tmux.screen)")
        // Esc drops only the draft shown; the next one comes up with its own question.
        await tmux.press("Escape")
        #expect(await tmux.waitFor { $0.contains("✎ draft answering “运费多少”") && $0.contains("✎ 答:运费多少") }, "\(tmux.screen)")
        await tmux.press("Enter")
        #expect(await eventually { await replies(sim, to: "U1").contains { $0.text == "答:运费多少" } })
        let sent = await replies(sim, to: "U1")
        #expect(sent.map(\.text) == ["答:运费多少"], "\(sent)")
        #expect(sent.first?.msgID == q2.id, "the draft must answer its own message \(q2.id), not \(q1.id) or \(q0.id): \(sent)")
        await sim.stop()
    }

    @Test("repro 2: typing /search over a draft the operator never touched runs the search; QQ gets the draft alone, later, unchanged")
    func typingNeverLandsInDraft() async throws {
        let sim = try await QQSimulator.start()
        let tmux = try await ready(sim: sim, extra: Self.draftAgent + "[handoff]\ndefault_owner = \"draft\"\n")
        defer { tmux.stop() }
        let q = await sim.platform.userSendsC2C(userOpenID: "U1", content: "开发票")
        #expect(await tmux.waitFor { $0.contains("✎ 答:开发票") }, "\(tmux.screen)")
        await typeLine(tmux, "/search 发票")
        #expect(await tmux.waitFor { $0.contains("result(s) for “发票”") }, "\(tmux.screen)")
        await tmux.type("x")   // over the results: goes nowhere
        await tmux.press("Escape")
        // (Enter right behind Esc in one read would be Alt-Enter: wait for the results to close.)
        #expect(await tmux.waitFor { !$0.contains("result(s)") && $0.contains("✎ 答:开发票") && !$0.contains("答:开发票/") && !$0.contains("x答") },
                "\(tmux.screen)")
        #expect(await replies(sim, to: "U1").isEmpty)
        await tmux.press("Enter")
        #expect(await eventually { !(await replies(sim, to: "U1")).isEmpty })
        let sent = await replies(sim, to: "U1")
        #expect(sent.count == 1 && sent.first?.text == "答:开发票" && sent.first?.msgID == q.id, "\(sent)")
        await sim.stop()
    }

    @Test("repro 3: Ctrl-A is line start and hands nothing over; F2 and /handoff hand over")
    func ctrlAIsLineStart() async throws {
        let sim = try await QQSimulator.start()
        let tmux = try await ready(sim: sim)
        defer { tmux.stop() }
        let q = await sim.platform.userSendsC2C(userOpenID: "U1", content: "在吗")
        #expect(await tmux.waitFor { $0.contains("私 U1") })
        await tmux.type("在的")
        await tmux.press("C-a")
        await tmux.type("您好，")
        #expect(await tmux.waitFor { $0.contains("> 您好，在的") }, "\(tmux.screen)")
        await tmux.press("Enter")
        #expect(await eventually { await replies(sim, to: "U1").contains { $0.text == "您好，在的" } })
        #expect((await tmux.capture()).contains("private · HUMAN"), "\(tmux.screen)")
        #expect(await replies(sim, to: "U1").map(\.msgID) == [q.id])
        await tmux.press("F2")
        #expect(await tmux.waitFor { $0.contains("private · AGENT") }, "F2 did not hand over:\n\(tmux.screen)")
        await tmux.press("C-t")
        #expect(await tmux.waitFor { $0.contains("private · HUMAN") })
        await typeLine(tmux, "/handoff")
        #expect(await tmux.waitFor { $0.contains("private · AGENT") })
        await sim.stop()
    }

    @Test("repro 4 and 6: PgUp reaches the first of 40 messages; search opens at the hit, marked; /find searches the open conversation")
    func scrollbackAndSearch() async throws {
        let sim = try await QQSimulator.start()
        let tmux = try await ready(sim: sim, extra: "")
        defer { tmux.stop() }
        for i in 1...40 { _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "编号\(i)号") }
        _ = await sim.platform.userSendsC2C(userOpenID: "U2", content: "另一个人")
        #expect(await tmux.waitFor { $0.contains("编号40号") }, "\(tmux.screen)")
        // One PgUp at a time, each after the screen moved: a key pressed while an older page is still
        // loading is not lost, but it can land before the page does (a loaded machine showed 编号4号).
        for _ in 0..<12 where !tmux.screen.contains("编号1号") {
            let before = tmux.screen
            await tmux.press("PageUp")
            _ = await tmux.waitFor(timeout: .seconds(3)) { $0 != before }
        }
        #expect(await tmux.waitFor { $0.contains("编号1号") }, "PgUp never reached the first message:\n\(tmux.screen)")
        // Search from another conversation: Enter opens U1 at the hit, marked, not at the bottom.
        await tmux.press("Tab")
        #expect(await tmux.waitFor { $0.contains("U2 · private") }, "\(tmux.screen)")
        await typeLine(tmux, "/search 编号7号")
        #expect(await tmux.waitFor { $0.contains("1 result(s)") }, "\(tmux.screen)")
        await tmux.type("zz")
        await tmux.press("Enter")
        #expect(await tmux.waitFor { $0.contains("U1 · private") && $0.contains("▶ U1") && $0.contains("编号7号") && !$0.contains("编号40号") },
                "\(tmux.screen)")
        #expect(!(await tmux.capture()).contains("> zz"), "keys typed over the results reached the composer:\n\(tmux.screen)")
        await typeLine(tmux, "/find 编号3")
        #expect(await tmux.waitFor { $0.contains("result(s) for “编号3”") && $0.contains("编号30号") && !$0.contains("另一个人") }, "\(tmux.screen)")
        await tmux.press("Escape")
        await sim.stop()
    }

    @Test("repro 5: 30 conversations; Up/Down keep unread; the list counts those out of sight and waiting; F4 opens the longest waiting")
    func triage() async throws {
        let sim = try await QQSimulator.start()
        let tmux = try await ready(sim: sim, extra: "")
        defer { tmux.stop() }
        for i in 1...30 { _ = await sim.platform.userSendsC2C(userOpenID: String(format: "USER%02d", i), content: "第\(i)位") }
        // USER01 came first and opened by itself; the other 29 are unread, all 30 wait.
        #expect(await tmux.waitFor { $0.contains("USER01 · private") && $0.contains("⏳30 waiting · 29 unread") }, "\(tmux.screen)")
        let list = await tmux.capture()
        #expect(list.contains("↑ ") && list.contains("more · "), "no marker for the rows out of sight:\n\(list)")
        for _ in 0..<12 { await tmux.press("Up") }
        #expect(await tmux.waitFor { $0.contains("USER13 · private") }, "\(tmux.screen)")
        #expect((await tmux.capture()).contains("29 unread"), "passing through marked conversations read:\n\(tmux.screen)")
        let passed = await tmux.capture()
        #expect(passed.contains("↑ ") && passed.contains("↓ "), "\(passed)")
        // F4: the longest waiting is USER01 (opened, never answered).
        await tmux.press("F4")
        #expect(await tmux.waitFor { $0.contains("USER01 · private") }, "\(tmux.screen)")
        await typeLine(tmux, "好的")
        #expect(await tmux.waitFor { $0.contains("⏳29 waiting") }, "an answer did not end the wait:\n\(tmux.screen)")
        await tmux.press("F4")
        #expect(await tmux.waitFor { $0.contains("USER02 · private") && $0.contains("28 unread") }, "\(tmux.screen)")
        await typeLine(tmux, "/goto USER17")
        #expect(await tmux.waitFor { $0.contains("USER17 · private") && $0.contains("27 unread") })
        await typeLine(tmux, "/done")
        #expect(await tmux.waitFor { $0.contains("⏳28 waiting") }, "\(tmux.screen)")
        let answered = await sim.platform.sent().filter { $0.status == 200 && $0.body?["content"]?.string == "好的" }.map(\.path)
        #expect(answered == ["/v2/users/USER01/messages"], "\(answered)")
        await sim.stop()
    }

    @Test("repro 7: a burst of ten messages rings the bell once; the first message of another conversation rings again")
    func oneBellPerBurst() async throws {
        let sim = try await QQSimulator.start()
        let tmux = try start(sim: sim, extra: "")
        defer { tmux.stop() }
        let bells = TestConfig.tempDir("bells") + ".txt"
        defer { unlink(bells) }
        await tmux.recordBells(to: bells)
        func rung() -> Int { ((try? String(contentsOfFile: bells, encoding: .utf8)) ?? "").split(separator: "\n").count }
        #expect(await tmux.waitFor { $0.contains("READY") }, "\(tmux.screen)")
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "先来的")   // on screen: no bell
        #expect(await tmux.waitFor { $0.contains("私 U1") })
        for i in 1...10 { _ = await sim.platform.userSendsC2C(userOpenID: "U2", content: "第\(i)条") }
        #expect(await tmux.waitFor { $0.contains("10 unread") }, "\(tmux.screen)")
        _ = await sim.platform.userSendsC2C(userOpenID: "U3", content: "另一个人")
        #expect(await tmux.waitFor { $0.contains("11 unread") }, "\(tmux.screen)")
        // The hook runs in order: once the second burst's bell is in, every bell of the first is too.
        #expect(await eventually { rung() >= 2 })
        #expect(rung() == 2, "\(rung()) bells for two bursts")
        await sim.stop()
    }

    @Test("1 MiB messages in a conversation not on screen (notifications with their start): the one on screen keeps up; opening the big one shows the end")
    func bigMessageElsewhere() async throws {
        let sim = try await QQSimulator.start()
        let tmux = try await ready(sim: sim, extra: """
            [notify]
            command = ["/bin/true", "{title}", "{body}"]

            """)
        defer { tmux.stop() }
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "先来的")
        #expect(await tmux.waitFor { $0.contains("先来的") }, "\(tmux.screen)")
        let big = String(repeating: "这是一段很长的消息 with words ", count: 1024 * 1024 / 40)
        for i in 1...3 { _ = await sim.platform.userSendsC2C(userOpenID: "U2", content: big + "大消息结尾\(i)") }
        // Delivered in order: once this shows, the big ones went through the console before it.
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "后来的")
        #expect(await tmux.waitFor { $0.contains("后来的") && $0.contains("私 U2") }, "\(tmux.screen)")
        await tmux.press("Down")
        #expect(await tmux.waitFor { $0.contains("U2 · private") && $0.contains("大消息结尾3") }, "\(tmux.screen)")
        await sim.stop()
    }

    @Test("the notify command inherits qqtui's environment without the app secret (app_secret_env)")
    func notifyCommandHasNoSecret() async throws {
        let sim = try await QQSimulator.start()
        let binary = try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)")
        let dir = TestConfig.tempDir("tmux-notify")
        let seen = dir + "/notify-env.txt"
        let config = try TestConfig.write(sim: sim, dir: dir, extra: """
            [notify]
            command = ["/bin/sh", "-c", "env > '\(seen).part' && mv '\(seen).part' '\(seen)'"]

            """, appSecretEnv: "QQTUI_TEST_APP_SECRET")
        let tmux = try TmuxSession(command: "'\(binary)' --config '\(config)'; echo EXIT=$?; sleep 30", cols: 120, rows: 35,
                                   environment: ["LANG": "C.UTF-8", "XDG_DATA_HOME": dir + "/data", "XDG_STATE_HOME": dir + "/state",
                                                 "TERM": "screen", "QQTUI_TEST_APP_SECRET": sim.configuration.appSecret,
                                                 "HARMLESS_MARK": "visible"])
        defer { tmux.stop() }
        #expect(await tmux.waitFor { $0.contains("READY") }, "\(tmux.screen)")
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "on screen")
        #expect(await tmux.waitFor { $0.contains("私 U1") })
        _ = await sim.platform.userSendsC2C(userOpenID: "U2", content: "off screen: notify")
        #expect(await eventually { FileManager.default.fileExists(atPath: seen) })
        let env = (try? String(contentsOfFile: seen, encoding: .utf8)) ?? ""
        #expect(env.contains("HARMLESS_MARK=visible"), "\(env.prefix(300))")
        #expect(!env.contains(sim.configuration.appSecret) && !env.contains("QQTUI_TEST_APP_SECRET"), "the notify command saw the secret")
        await sim.stop()
    }

    @Test("repro 7: help scrolls at 120 columns; a narrow header keeps the reply window; Ctrl-C asks with unsent text; a long paste is announced as several messages")
    func guardRails() async throws {
        let sim = try await QQSimulator.start()
        let tmux = try await ready(sim: sim, extra: "")
        defer { tmux.stop() }
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "你好")
        #expect(await tmux.waitFor { $0.contains("私 U1") && $0.contains("reply passive") }, "\(tmux.screen)")
        await tmux.press("F1")
        #expect(await tmux.waitFor { $0.contains("more lines · PgDn") }, "\(tmux.screen)")
        for _ in 0..<6 { await tmux.press("PageDown") }
        #expect(await tmux.waitFor { $0.contains("✓ … ✗ ⊘") && !$0.contains("more lines") }, "the help's end is unreachable:\n\(tmux.screen)")
        await tmux.press("Escape")
        await tmux.resize(cols: 64, rows: 20)
        #expect(await tmux.waitFor { s in s.split(separator: "\n").contains { $0.contains("U1 ·") && $0.contains("/4") } }, "\(tmux.screen)")
        await tmux.resize(cols: 120, rows: 35)
        #expect(await tmux.waitFor { $0.contains("agent: none") }, "\(tmux.screen)")
        // A 4.6 kB paste: the hint says how many QQ messages and passive replies it takes.
        let paste = (1...60).map { "第\($0)行：" + String(repeating: "内容", count: 18) }.joined(separator: "\n")
        await tmux.paste(paste)
        #expect(await tmux.waitFor { $0.contains("Enter sends this as 2 QQ messages: 2 passive replies of 4 left") }, "\(tmux.screen)")
        #expect((await tmux.capture()).contains("(Up/Down)"), "the composer does not say it scrolls:\n\(tmux.screen)")
        await tmux.press("C-c")
        #expect(await tmux.waitFor { $0.contains("Ctrl-C again quits") }, "\(tmux.screen)")
        await tmux.press("C-u")   // any other key stays
        #expect(await tmux.waitFor { !$0.contains("Ctrl-C again quits") })
        #expect(!(await tmux.capture()).contains("EXIT="))
        await tmux.press("C-c")
        await tmux.press("C-c")
        #expect(await tmux.waitFor { $0.contains("EXIT=0") }, "\(tmux.screen)")
        #expect(await replies(sim, to: "U1").isEmpty)
        await sim.stop()
    }

    @Test("a bracketed paste whose end marker is lost: a second later the text is in the composer and Ctrl-C works")
    func stalledPaste() async throws {
        let sim = try await QQSimulator.start()
        let tmux = try await ready(sim: sim, extra: "")
        defer { tmux.stop() }
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "你好")
        #expect(await tmux.waitFor { $0.contains("私 U1") && $0.contains("reply passive") }, "\(tmux.screen)")
        await tmux.type("\u{1B}[200~第一行\r第二行")
        #expect(await tmux.waitFor { $0.contains("第一行") && $0.contains("第二行") }, "\(tmux.screen)")
        await tmux.press("C-c")
        #expect(await tmux.waitFor { $0.contains("Ctrl-C again quits") }, "\(tmux.screen)")
        await tmux.press("C-c")
        #expect(await tmux.waitFor { $0.contains("EXIT=0") }, "\(tmux.screen)")
        #expect(await replies(sim, to: "U1").isEmpty, "nothing was sent")
        await sim.stop()
    }
}
