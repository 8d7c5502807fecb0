import Foundation
@testable import QQTUI
import QQSession
import QQSimulator
import Testing
import TestSupport

/// Recall from outside the session: `qqtui recall` beside a running serve, and `/recall` from an
/// attached console, against the simulator. What the user's chat shows is the simulator's transcript.
@Suite("qqtui recall", .timeLimit(.minutes(1)))
struct RecallCommandTests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    @Test("qqtui recall --last and /recall from a console: the right message leaves the chat, the store and every console mark it")
    func recallBesideServe() async throws {
        let sim = try await QQSimulator.start()
        defer { Task { await sim.stop() } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-recall-\(UUID().uuidString)").path
        let config = try TestConfig.write(sim: sim, dir: dir)
        let serve = try ChildProcess(try binary(), ["serve", "--json", "--config", config])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains(#""type":"gateway""#) && $0.contains(#""ready""#) } }, "\(serve.stderr)")
        let console = try ControlTestClient(socket: dir + "/run/store.sock", operatorName: "alice")
        defer { console.close() }
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "发票在哪里")
        #expect(await console.waitFor { _ in console.messageTexts.contains("发票在哪里") })

        // The operator answers twice from the console; the second answer was wrong.
        console.send(.send("第一条：正确", to: .c2c("U1")))
        #expect(await Self.sent(sim, "第一条：正确") != nil)
        console.send(.send("第二条：发错了", to: .c2c("U1")))
        let wrong = try #require(await Self.sent(sim, "第二条：发错了"))
        #expect(await Self.consoleSawSent(console, "第二条：发错了"))

        // `/recall` with no argument: the last message sent here.
        console.send(.recall(nil, .c2c("U1")))
        #expect(await console.waitFor { lines in lines.contains { if case .recall(let r)? = $0.event { return r.operatorName == "alice" }; return false } })
        #expect(await sim.platform.sent().first { $0.id == wrong.id }?.recalledAt != nil)
        let note = console.lines.first { $0.t == "status_note" && $0.message?.hasPrefix("recalled from c2c:U1") == true }
        #expect(note != nil, "the console that asked is told: \(console.lines.compactMap(\.message))")

        // The command line: --last now finds the first answer (the recalled one is skipped).
        let recall = try ChildProcess(try binary(), ["recall", "--config", config, "--last", "c2c:U1"])
        defer { recall.send(SIGKILL) }
        #expect(await recall.waitForExit() == 0, "\(recall.stderr)")
        #expect(recall.stdout.contains("recalled out-") && recall.stdout.contains("from c2c:U1"), "\(recall.stdout)")
        let first = try #require(await Self.sent(sim, "第一条：正确"))
        #expect(await sim.platform.sent().first { $0.id == first.id }?.recalledAt != nil)

        // Again, by QQ's id: refused with a clear message and exit 1; no DELETE made.
        let again = try ChildProcess(try binary(), ["recall", "--config", config, first.id ?? "?"])
        defer { again.send(SIGKILL) }
        #expect(await again.waitForExit() == 1)
        #expect(again.stderr.contains("qqtui recall:") && again.stderr.contains("recalled already"), "\(again.stderr)")
        #expect(await sim.platform.sent().filter { $0.method == "DELETE" }.count == 2)

        // A console's /recall that QQ refuses: the error with its code reaches that console.
        console.send(.send("第三条", to: .c2c("U1")))
        let third = try #require(await Self.sent(sim, "第三条"))
        #expect(await Self.consoleSawSent(console, "第三条"))
        await sim.platform.apply(.oddResponses([OddResponse(status: 400, body: #"{"code":40064004,"message":"撤回消息超过时间限制"}"#)]))
        console.send(.recall(nil, .c2c("U1")))
        #expect(await console.waitFor { lines in lines.contains { $0.t == "status_note" && $0.message?.contains("not recalled") == true } })
        let refusal = console.lines.first { $0.message?.contains("not recalled") == true }?.message ?? ""
        let requests = await sim.platform.sent().map { "\($0.method) \($0.path) \($0.status)" }
        #expect(refusal.contains("too late to recall") && refusal.contains("40064004"), "\(console.lines.compactMap(\.message)) \(requests)")
        #expect(await sim.platform.sent().first { $0.id == third.id }?.recalledAt == nil)
        #expect(await serve.stop() == 0)
        // The store keeps both recalled messages, marked, with their text.
        let store = try MessageStore.open(path: dir + "/store.sqlite", mode: .shared)
        let page = try await store.messages(in: .c2c("U1"))
        _ = await store.close()
        #expect(page.filter { $0.recalledAt != nil }.map(\.text).sorted() == ["第一条：正确", "第二条：发错了"])
        #expect(page.first { $0.text == "第三条" }?.recalledAt == nil)
    }

    /// Waits until the console saw the message with `text` sent (serve has its QQ id by then).
    static func consoleSawSent(_ console: ControlTestClient, _ text: String) async -> Bool {
        await console.waitFor { lines in
            lines.contains { if case .outbound(let m)? = $0.event { return m.text == text && m.status == .sent }; return false }
        }
    }

    /// The accepted POST whose body carried `text`, once it is there.
    static func sent(_ sim: QQSimulator, _ text: String) async -> SentRecord? {
        var found: SentRecord?
        _ = await eventually {
            found = await sim.platform.sent().first { $0.status == 200 && $0.method == "POST" && $0.body?["content"]?.string == text }
            return found != nil
        }
        return found
    }
}
