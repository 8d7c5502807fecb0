import Foundation
@testable import QQSession
@testable import QQTUI
import QQSimulator
import Testing
import TestSupport

/// kill -9 of a real qqtui process loses nothing it had committed.
@Suite("Crash safety (kill -9)")
struct CrashTests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    func config(sim: QQSimulator, dir: String) throws -> String {
        try TestConfig.write(sim: sim, dir: dir, extra: "[stream]\ninterval_ms = 100\n")
    }

    static func tempDir() -> String { TestConfig.tempDir("crash") }

    /// Frames every 100 ms, every conversation the agent's, and `agent` as the `[agent]` table.
    static func agentConfig(sim: QQSimulator, dir: String, agent: String) throws -> String {
        try TestConfig.write(sim: sim, dir: dir, extra: "[stream]\ninterval_ms = 100\n[handoff]\ndefault_owner = \"agent\"\n[agent]\n\(agent)\n")
    }

    @Test("kill -9 during a burst: every message serve printed (so had committed) is in the store", CPUGate.backstop)
    func killDuringBurst() async throws {
        try await CPUGate.run(limit: .seconds(120)) { try await killDuringBurstAlone() }
    }

    /// ``killDuringBurst()`` once the CPU gate lets it run.
    func killDuringBurstAlone() async throws {
        let sim = try await QQSimulator.start()
        let dir = Self.tempDir()
        let serve = try ChildProcess(try binary(), ["serve", "--json", "--config", try config(sim: sim, dir: dir)])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains(#""ready""#) } })
        let burst = Task {
            for i in 0..<3000 {
                _ = await sim.platform.userSendsC2C(userOpenID: "U\(i % 7)", content: "突发消息 \(i)")
                if Task.isCancelled { return }
            }
        }
        #expect(await serve.waitForOutput(timeout: .seconds(60)) { $0.filter { $0.contains(#""type":"message""#) }.count >= 400 })
        serve.send(SIGKILL)
        _ = await serve.waitForExit()
        burst.cancel()
        let printed = Self.printedIDs(serve.stdoutLines)
        #expect(printed.count >= 400)
        // The lock died with the process: a new session can open the store.
        let store = try MessageStore.open(path: dir + "/store.sqlite")
        var missing = 0
        for id in printed where try await store.message(uid: id) == nil { missing += 1 }
        #expect(missing == 0, "\(missing) printed messages were not in the store")
        #expect(try await store.counts().messages >= printed.count)
        await sim.stop()
    }

    @Test("kill -9 during a stream: the partial reply is in the store, marked interrupted when reopened", .timeLimit(.minutes(2)))
    func killDuringStream() async throws {
        let sim = try await QQSimulator.start()
        let dir = Self.tempDir()
        let configPath = try config(sim: sim, dir: dir)
        // The session's ledger needs the user's message first: a short serve run receives it.
        let serve = try ChildProcess(try binary(), ["serve", "--json", "--config", configPath])
        #expect(await serve.waitForOutput { $0.contains { $0.contains(#""ready""#) } })
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "讲个长故事")
        #expect(await serve.waitForOutput { $0.contains { $0.contains(#""type":"message""#) } })
        #expect(await serve.stop() == 0)

        let input = Pipe()
        let send = try ChildProcess(try binary(), ["send", "--config", configPath, "--to", "c2c:U1", "--stream"],
                                    stdin: input.fileHandleForReading)
        defer { send.send(SIGKILL) }
        for chunk in ["从前有座山，", "山里有座庙，", "庙里有个老和尚"] {
            input.fileHandleForWriting.write(Data(chunk.utf8))
        }
        // The stream is still open (stdin is): its partial text reaches the store and QQ.
        let reader = try MessageStore.open(path: dir + "/store.sqlite", mode: .readOnly)
        var partial: StoredMessage?
        #expect(await eventually(timeout: .seconds(20)) {
            partial = try? await reader.messages(in: .c2c("U1")).first { $0.direction == "out" }
            return partial?.text.contains("庙里") == true
        })
        #expect(partial?.status == "sending")
        #expect(await eventually { await sim.platform.streamRecords().first?.frames.isEmpty == false }, "frames went out before the kill")
        send.send(SIGKILL)
        _ = await send.waitForExit()
        let store = try MessageStore.open(path: dir + "/store.sqlite")
        let after = try #require(await store.messages(in: .c2c("U1")).first { $0.direction == "out" })
        #expect(after.text.hasPrefix("从前有座山，山里有座庙，"))
        #expect(after.status == "interrupted")
        await sim.stop()
    }

    /// The message ids `serve --json` printed.
    static func printedIDs(_ lines: [String]) -> [String] {
        lines.filter { $0.contains(#""type":"message""#) }.compactMap { line -> String? in
            guard let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let message = json["message"] as? [String: Any] else { return nil }
            return message["id"] as? String
        }
    }

    @Test("kill -9 mid-burst, messages while down, a restart: the gateway session is resumed, every message is stored once, none printed twice", CPUGate.backstop)
    func restartResumesSession() async throws {
        try await CPUGate.run(limit: .seconds(120)) { try await restartResumesSessionAlone() }
    }

    /// ``restartResumesSession()`` once the CPU gate lets it run.
    func restartResumesSessionAlone() async throws {
        let sim = try await QQSimulator.start()
        let dir = Self.tempDir()
        let configPath = try config(sim: sim, dir: dir)
        let first = try ChildProcess(try binary(), ["serve", "--json", "--config", configPath])
        defer { first.send(SIGKILL) }
        #expect(await first.waitForOutput { $0.contains { $0.contains(#""ready""#) } })
        let burst = Task {
            var ids: [String] = []
            for i in 0..<2000 { ids.append(await sim.platform.userSendsC2C(userOpenID: "U\(i % 5)", content: "突发 \(i)").id) }
            return ids
        }
        #expect(await first.waitForOutput(timeout: .seconds(60)) { Self.printedIDs($0).count >= 300 })
        first.send(SIGKILL)
        _ = await first.waitForExit()
        var sent = await burst.value          // the rest of the burst reaches a session with no socket
        for i in 0..<20 { sent.append(await sim.platform.userSendsC2C(userOpenID: "U9", content: "停机时 \(i)").id) }
        let firstPrinted = Self.printedIDs(first.stdoutLines)
        #expect(firstPrinted.count < sent.count, "the kill came after everything was handled: nothing to resume")

        let second = try ChildProcess(try binary(), ["serve", "--json", "--config", configPath])
        defer { second.send(SIGKILL) }
        // Everything reaches the store (a message stored just before the kill but not yet printed is
        // not replayed: it was handled; the restart's recovery deals with what it still needs).
        let store = try MessageStore.open(path: dir + "/store.sqlite", mode: .readOnly)
        #expect(await eventually(timeout: .seconds(60)) { (try? await store.counts().messages) == sent.count })
        // The resumed run never saw READY: it still knows the bot's name (the consoles' status bar shows it).
        #expect(await eventually {
            (try? await ServeControlTests.status(dir + "/run/store.sock"))?.gateway.botName == sim.configuration.botName
        })
        #expect(await second.stop() == 0)
        let printed = firstPrinted + Self.printedIDs(second.stdoutLines)
        #expect(printed.count == Set(printed).count, "\(printed.count - Set(printed).count) messages printed twice")
        #expect(Set(printed).isSubset(of: Set(sent)))
        let stats = await sim.platform.currentStats()
        #expect(stats.identifies == 1, "the restart started a new session instead of resuming")
        #expect(stats.resumes == 1)
        #expect(try await store.counts().messages == sent.count)
        var missing = 0
        for id in sent where try await store.message(uid: id) == nil { missing += 1 }
        #expect(missing == 0)
        await sim.stop()
    }

    @Test("kill -9 mid-stream with a user message queued: the next start closes the stream left open and answers the queued message", .timeLimit(.minutes(2)))
    func recoveryAfterCrash() async throws {
        let sim = try await QQSimulator.start()
        let dir = Self.tempDir()
        // First run: the agent writes slowly (the stream stays open). Second run (QQTUI_TEST_QUICK): at once.
        let path = try Self.agentConfig(sim: sim, dir: dir, agent: """
            backend = "command"
            command = ["/bin/sh", "-c", "cat >/dev/null; if [ -n \\"$QQTUI_TEST_QUICK\\" ]; then printf '好的，这就回答'; exit 0; fi; i=0; while [ $i -lt 1000 ]; do printf '故事%d ' $i; i=$((i+1)); sleep 0.05; done"]
            """)
        let first = try ChildProcess(try binary(), ["serve", "--config", path])
        defer { first.send(SIGKILL) }
        #expect(await first.waitForOutput { $0.contains { $0.contains("READY") } }, "\(first.stdout)\(first.stderr)")
        let story = await sim.platform.userSendsC2C(userOpenID: "U1", content: "讲个故事")
        #expect(await eventually { (await sim.platform.streamRecords().first?.frames.count ?? 0) >= 3 })
        // Queued for the next turn (busy = queue), then the process dies.
        let queued = await sim.platform.userSendsC2C(userOpenID: "U1", content: "还有一个问题")
        #expect(await first.waitForOutput { $0.contains { $0.contains("还有一个问题") } })
        first.send(SIGKILL)
        _ = await first.waitForExit()
        #expect(await sim.platform.streamRecords().first?.closed == false, "the crash left the stream open")

        var environment = ProcessInfo.processInfo.environment
        environment["QQTUI_TEST_QUICK"] = "1"
        let second = try ChildProcess(try binary(), ["serve", "--config", path], environment: environment)
        defer { second.send(SIGKILL) }
        #expect(await eventually { await sim.platform.streamRecords().first?.closed == true }, "the stream left open was closed")
        let closed = try #require(await sim.platform.streamRecords().first)
        #expect(closed.msgID == story.id && !closed.rolledBack)
        #expect(await eventually { await sim.platform.streamRecords().contains { $0.msgID == queued.id && $0.closed } },
                "the queued message was answered")
        #expect(await sim.platform.streamRecords().last?.visibleText.contains("好的，这就回答") == true)
        #expect(await second.waitForOutput { $0.contains { $0.contains("1 closed now") } }, "\(second.stdout)")
        #expect(second.stdoutLines.contains { $0.contains("answered by the agent now") }, "\(second.stdout)")
        #expect(await second.stop() == 0)
        let store = try MessageStore.open(path: dir + "/store.sqlite", mode: .readOnly)
        let replies = try await store.messages(in: .c2c("U1")).filter { $0.origin == "agent" }
        let interrupted = try #require(replies.first { $0.status == "interrupted" })
        #expect(interrupted.statusDetail?.contains("closed at the next start") == true)
        #expect(replies.contains { $0.status == "sent" && $0.replyTo == queued.id })
        await sim.stop()
    }

    /// The crash soak: `QQTUI_CRASH_SOAK_BURSTS` bursts (3) of `QQTUI_CRASH_SOAK_MESSAGES` messages (400)
    /// to agent-owned conversations, each ended by kill -9 at a random point (`QQTUI_CRASH_SOAK_SEED`),
    /// then one clean run. The long form is in the README.
    @Test("crash soak: bursts ended by kill -9 at random points, then restarts: every message stored once, every stream closed, no reply left sending", CPUGate.backstop)
    func crashSoak() async throws {
        try await CPUGate.run(limit: .seconds(120)) { try await crashSoakAlone() }
    }

    /// ``crashSoak()`` once the CPU gate lets it run.
    func crashSoakAlone() async throws {
        let environment = ProcessInfo.processInfo.environment
        let bursts = environment["QQTUI_CRASH_SOAK_BURSTS"].flatMap { Int($0) } ?? 3
        let perBurst = environment["QQTUI_CRASH_SOAK_MESSAGES"].flatMap { Int($0) } ?? 400
        var random = SplitMix64(seed: environment["QQTUI_CRASH_SOAK_SEED"].flatMap { UInt64($0) } ?? 14)
        var simConfig = SimulatorConfiguration()
        simConfig.replayLimit = max(simConfig.replayLimit, perBurst * 2)
        let sim = try await QQSimulator.start(simConfig)
        let dir = Self.tempDir()
        let path = try Self.agentConfig(sim: sim, dir: dir, agent: #"backend = "echo""#)
        let started = ContinuousClock.now
        var sent: [String] = []
        var kills: [Int] = []
        for burst in 0..<bursts {
            let serve = try ChildProcess(try binary(), ["serve", "--json", "--config", path])
            defer { serve.send(SIGKILL) }
            #expect(await serve.waitForOutput { $0.contains { $0.contains(#""ready""#) } }, "\(serve.stderr)")
            let killAt = Int.random(in: perBurst / 4...perBurst * 3 / 4, using: &random)
            let traffic = Task {
                var ids: [String] = []
                for i in 0..<perBurst {
                    ids.append(await sim.platform.userSendsC2C(userOpenID: "U\(i % 8)", content: "第\(burst)批 #\(i)").id)
                }
                return ids
            }
            #expect(await serve.waitForOutput(timeout: .seconds(120)) { Self.printedIDs($0).count >= killAt })
            serve.send(SIGKILL)
            _ = await serve.waitForExit()
            kills.append(Self.printedIDs(serve.stdoutLines).count)
            sent += await traffic.value
        }
        // A last, clean run: what the platform held is replayed, open streams closed, waiting users answered.
        let last = try ChildProcess(try binary(), ["serve", "--json", "--config", path])
        defer { last.send(SIGKILL) }
        let store = try MessageStore.open(path: dir + "/store.sqlite", mode: .readOnly)
        @Sendable func inbound() async throws -> Int {
            try await store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM message WHERE direction = 'in'") ?? 0 }
        }
        #expect(await eventually(timeout: .seconds(120)) { (try? await inbound()) == sent.count })
        // Every stream whose id reached the store gets closed. One QQ opened in the instant between its
        // answer and the commit that keeps its id cannot be (nothing names it): at most one per
        // conversation streaming at the kill. Its user's message is answered again by the recovery.
        @Sendable func knownIDs() async throws -> Set<String> {
            let parts = try await store.pool.read { try String.fetchAll($0, sql: "SELECT parts FROM message WHERE parts LIKE '%qqMessageID%'") }
            return Set(parts.flatMap { text in
                text.components(separatedBy: "\"qqMessageID\":\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
            })
        }
        #expect(await eventually(timeout: .seconds(60)) {
            let known = (try? await knownIDs()) ?? []
            return await sim.platform.streamRecords().allSatisfy { $0.closed || !known.contains($0.id) }
        })
        #expect(await last.stop() == 0, "\(last.stderr)")
        let stored = try await store.pool.read { try String.fetchAll($0, sql: "SELECT uid FROM message WHERE direction = 'in'") }
        #expect(stored.count == sent.count && Set(stored) == Set(sent), "every message stored exactly once")
        let sending = try await store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM message WHERE status = 'sending'") ?? 0 }
        #expect(sending == 0, "\(sending) rows left sending")
        let streams = await sim.platform.streamRecords()
        let known = try await knownIDs()
        let unnamed = streams.filter { !$0.closed }
        #expect(unnamed.allSatisfy { !known.contains($0.id) }, "a stream whose id was stored is still open")
        // Each of those belongs to a reply the crash interrupted before its stream's id was kept.
        let idless = try await store.pool.read {
            try Int.fetchOne($0, sql: "SELECT count(*) FROM message WHERE status = 'interrupted' AND kind = 'reply' AND (parts IS NULL OR parts NOT LIKE '%qqMessageID%')") ?? 0
        }
        #expect(unnamed.count <= idless, "\(unnamed.count) streams open, \(idless) replies interrupted before their stream id was kept")
        #expect(streams.filter(\.closed).allSatisfy { !$0.rolledBack })
        let stats = await sim.platform.currentStats()
        #expect(stats.identifies == 1, "every restart resumed the session")
        let interrupted = try await store.pool.read {
            try Int.fetchOne($0, sql: "SELECT count(*) FROM message WHERE status = 'interrupted'") ?? 0
        }
        print("crash soak: \(bursts) × \(perBurst) messages, killed after \(kills) printed; \(stored.count) stored once, "
              + "\(streams.count) streams (\(unnamed.filter { known.contains($0.id) }.count) open with a stored id, \(unnamed.filter { !known.contains($0.id) }.count) open whose id never reached the store), \(interrupted) replies interrupted, \(stats.resumes) resumes, "
              + "\(stats.identifies) identify, \((ContinuousClock.now - started).shortDescription); last start: "
              + last.stdoutLines.filter { $0.contains("when qqtui stopped") }.joined(separator: " | "))
        await sim.stop()
    }
}
