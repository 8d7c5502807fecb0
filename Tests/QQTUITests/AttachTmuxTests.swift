import Foundation
@testable import QQSession
@testable import QQTUI
import QQSimulator
import Testing
import TestSupport

/// One serve, two operators at their own consoles under tmux: everything an operator sees and
/// sends, and what reaches QQ, while consoles come, go, get killed and serve restarts.
@Suite("serve with attached consoles in tmux", .serialized, .timeLimit(.minutes(3)),
       .enabled(if: TmuxSession.binary != nil || ProcessInfo.processInfo.environment["QQTUI_REQUIRE_PEERS"] == "1",
                "tmux is not installed (CI installs it)"))
struct AttachTmuxTests {
    /// An agent that writes 40 words, 0.15 s apart (6 s: long enough to take it back mid-stream).
    static let slowAgent = """
        [stream]
        interval_ms = 100
        [agent]
        backend = "command"
        command = ["/bin/sh", "-c", "cat >/dev/null; i=1; while [ $i -le 40 ]; do printf 'word%d ' $i; i=$((i+1)); sleep 0.15; done"]

        """

    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    /// A console in its own terminal: `arguments` after the binary, exec'd (the pane's pid is qqtui's).
    func console(_ arguments: String, dir: String, environment: [String: String] = [:]) throws -> TmuxSession {
        var env = ["LANG": "C.UTF-8", "XDG_DATA_HOME": dir + "/data", "XDG_STATE_HOME": dir + "/state", "TERM": "screen"]
        env.merge(environment) { _, new in new }
        return try TmuxSession(command: "exec '\(try binary())' \(arguments)", cols: 120, rows: 30, environment: env)
    }

    func startServe(config: String) async throws -> ChildProcess {
        let serve = try ChildProcess(try binary(), ["serve", "--config", config])
        #expect(await serve.waitForOutput { $0.contains { $0.contains("READY") } }, "\(serve.stdout)\(serve.stderr)")
        return serve
    }

    func typeLine(_ tmux: TmuxSession, _ text: String) async {
        await tmux.type(text)
        await tmux.press("Enter")
    }

    @Test("two consoles on one serve: both see the user, A's reply goes out passive and shows on B with A's name, A's hand-off streams on both, B takes it back mid-stream (stream closed validly), A killed -9 and the bot answers on, serve restarts and B resyncs")
    func twoOperators() async throws {
        let sim = try await QQSimulator.start()
        let dir = TestConfig.tempDir("attach-tmux")
        let config = try TestConfig.write(sim: sim, dir: dir, extra: Self.slowAgent)
        var serve = try await startServe(config: config)
        defer { serve.send(SIGKILL) }
        // A is the plain console: it finds serve by itself. B attaches explicitly.
        let a = try console("--config '\(config)' --operator alice", dir: dir)
        defer { a.stop() }
        let b = try console("attach --config '\(config)' --operator bob", dir: dir)
        defer { b.stop() }
        for (name, tmux) in [("A", a), ("B", b)] {
            #expect(await tmux.waitFor { $0.contains("attached to serve, pid \(serve.pid)") }, "\(name):\n\(tmux.screen)")
        }

        // A C2C message shows on both.
        let first = await sim.platform.userSendsC2C(userOpenID: "U1", content: "你好，在吗")
        #expect(await a.waitFor { $0.contains("你好，在吗") }, "\(a.screen)")
        #expect(await b.waitFor { $0.contains("你好，在吗") && $0.contains("alice here") }, "\(b.screen)")

        // A answers by hand: a passive reply to the user's message; B sees it with A's name.
        await typeLine(a, "您好，我是客服小李")
        #expect(await eventually {
            await sim.platform.sent().contains { $0.status == 200 && $0.body?["content"]?.string == "您好，我是客服小李" }
        })
        let reply = await sim.platform.sent().first { $0.body?["content"]?.string == "您好，我是客服小李" }
        #expect(reply?.body?["msg_id"]?.string == first.id, "not a passive reply to the user's message")
        #expect(await b.waitFor { $0.contains("alice     您好，我是客服小李") }, "\(b.screen)")

        // A hands the conversation to the agent: the stream grows on both screens.
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "请介绍一下产品")
        #expect(await a.waitFor { $0.contains("请介绍一下产品") }, "\(a.screen)")
        await typeLine(a, "/handoff")
        #expect(await a.waitFor { $0.contains("word3 ") }, "\(a.screen)")
        #expect(await b.waitFor { $0.contains("word3 ") && $0.contains("AGENT streaming") }, "\(b.screen)")

        // B takes it back mid-stream: the QQ stream is closed validly, both screens say who.
        await typeLine(b, "/takeback")
        #expect(await b.waitFor { $0.contains("now HUMAN (by bob: taken back)") }, "\(b.screen)")
        #expect(await a.waitFor { $0.contains("now HUMAN (by bob: taken back)") }, "\(a.screen)")
        #expect(await eventually { await sim.platform.streamRecords().first?.closed == true })
        let stream = try #require(await sim.platform.streamRecords().first)
        #expect(!stream.rolledBack)
        #expect(!stream.visibleText.contains("word40"), "the take-back came after the whole answer: \(stream.visibleText)")

        // A is killed: serve and the bot go on (B hands over again; the agent answers in full).
        let aPID = try #require(await a.panePID())
        #expect(kill(aPID, SIGKILL) == 0)
        // serve notices at once (A's socket closed with it): one console left, and B no longer sees alice.
        let socket = dir + "/run/store.sock"
        #expect(await eventually { (try? await ServeControlTests.status(socket))?.consoles.map(\.operatorName) == ["bob"] })
        await typeLine(b, "/handoff")
        #expect(await b.waitFor { $0.contains("now AGENT (by bob") }, "\(b.screen)")
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "还在吗")
        #expect(await eventually(timeout: .seconds(30)) {
            let records = await sim.platform.streamRecords()
            return records.count == 2 && records.last?.closed == true
        })
        #expect(await sim.platform.streamRecords().last?.visibleText.contains("word40") == true)
        #expect(serve.isRunning)
        #expect(await b.waitFor { !$0.contains("alice here") }, "\(b.screen)")

        // serve restarts: B says so, reconnects by itself and resyncs.
        #expect(await serve.stop() == 0)
        #expect(await b.waitFor { $0.contains("reconnecting to serve") }, "\(b.screen)")
        serve = try await startServe(config: config)
        #expect(await b.waitFor(timeout: .seconds(30)) { $0.contains("attached to serve, pid \(serve.pid)") }, "\(b.screen)")
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "重启之后还能看到吗")
        #expect(await b.waitFor { $0.contains("重启之后还能看到吗") }, "\(b.screen)")
        #expect(await serve.stop() == 0)
        await sim.stop()
    }

    @Test("attach --ssh runs `ssh HOST qqtui attach --stdio` and the console works through it (a stand-in ssh runs it here)")
    func overSSH() async throws {
        let sim = try await QQSimulator.start()
        let dir = TestConfig.tempDir("attach-ssh")
        let config = try TestConfig.write(sim: sim, dir: dir)
        let serve = try await startServe(config: config)
        defer { serve.send(SIGKILL) }
        // The stand-in for ssh: it records its arguments and runs the remote command locally.
        let fake = dir + "/fake-ssh"
        let script = """
            #!/bin/sh
            echo "$@" > '\(dir)/ssh-args'
            while [ "$1" != "qqtui" ]; do shift; done
            shift
            exec '\(try binary())' "$@"
            """
        try TestConfig.writeExecutable(fake, script)
        let c = try console("attach --ssh ops@bot-host --remote-config '\(config)' --operator carol", dir: dir, environment: ["QQTUI_SSH": fake])
        defer { c.stop() }
        #expect(await c.waitFor { $0.contains("attached to serve, pid \(serve.pid)") }, "\(c.screen)")
        let args = (try? String(contentsOfFile: dir + "/ssh-args", encoding: .utf8)) ?? ""
        #expect(args.contains("ops@bot-host qqtui attach --stdio --config \(config)"), "\(args)")
        _ = await sim.platform.userSendsC2C(userOpenID: "U7", content: "隔着 ssh 也能看到")
        #expect(await c.waitFor { $0.contains("隔着 ssh 也能看到") }, "\(c.screen)")
        await typeLine(c, "从远处回复")
        #expect(await eventually {
            await sim.platform.sent().contains { $0.status == 200 && $0.body?["content"]?.string == "从远处回复" }
        })
        #expect(await c.waitFor { $0.contains("carol     从远处回复") }, "\(c.screen)")
        #expect(await serve.stop() == 0)
        await sim.stop()
    }
}
