import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// `qqtui send` refuses what it cannot do as asked, instead of doing something else: a `--reply-to`
/// it cannot answer, a target that is not an openid; and what it prints holds no raw control byte
/// and no access token, not even an older one.
@Suite("qqtui send refuses instead of guessing", .timeLimit(.minutes(2)))
struct SendRefusalTests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    /// True when `text` holds a raw C0/C1 control other than a newline.
    static func hasRawControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
    }

    @Test("--reply-to an unknown id, another conversation's message or a message whose replies are used up: refused, nothing sent")
    func replyToRefused() async throws {
        let sim = try await QQSimulator.start()
        let dir = TestConfig.tempDir("replyto")
        let config = try TestConfig.write(sim: sim, dir: dir, extra: """
            [replies]
            budget = 1

            """)
        let serve = try ChildProcess(try binary(), ["serve", "--config", config])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains("READY") } }, "\(serve.stderr)")
        let mine = await sim.platform.userSendsC2C(userOpenID: "U1", content: "我的问题")
        let foreign = await sim.platform.userSendsC2C(userOpenID: "U2", content: "别人的问题")
        let store = try MessageStore.open(path: dir + "/store.sqlite", mode: .readOnly)
        #expect(await eventually { store.inboundStart(mine.id) != nil && store.inboundStart(foreign.id) != nil })
        #expect(try await eventually { try await store.message(uid: foreign.id) != nil })

        func send(replyTo: String) async throws -> ChildProcess {
            let child = try ChildProcess(try binary(), ["send", "--config", config, "--to", "c2c:U1", "--reply-to", replyTo, "答复"])
            _ = await child.waitForExit()
            child.send(SIGKILL)
            return child
        }
        for (what, id) in [("an unknown id", "NOSUCHMESSAGE0001"), ("another conversation's message", foreign.id)] {
            let child = try await send(replyTo: id)
            #expect(await child.waitForExit() == 1, "\(what): \(child.stderr)")
            #expect(child.stderr.contains("--reply-to \(id)"), "\(what): \(child.stderr)")
        }
        let refusedSent = await sim.platform.sent()
        #expect(refusedSent.isEmpty, "a refused --reply-to sent something: \(refusedSent)")

        // The conversation's own message is answered, with its msg_id.
        let answered = try await send(replyTo: mine.id)
        #expect(await answered.waitForExit() == 0, "\(answered.stderr)")
        let sent = await sim.platform.sent()
        #expect(sent.count == 1 && sent.first?.body?["msg_id"]?.string == mine.id, "\(sent)")

        // Its one reply is used: asked again, send says so rather than going proactive.
        let spent = try await send(replyTo: mine.id)
        #expect(await spent.waitForExit() == 1, "\(spent.stderr)")
        #expect(spent.stderr.contains("replies"), "\(spent.stderr)")
        #expect(await sim.platform.sent().count == 1)

        #expect(await serve.stop() == 0)
        await store.close()
        await sim.stop()
    }

    @Test("--to with control characters is refused with a clear error; nothing raw is echoed and nothing sent")
    func targetWithControls() async throws {
        let sim = try await QQSimulator.start()
        let dir = TestConfig.tempDir("sendto")
        let config = try TestConfig.write(sim: sim, dir: dir)
        for target in ["c2c:U1\u{1B}]0;pwned\u{07}", "group:G1\u{1B}[2J", "c2c:U1/../../gateway"] {
            let child = try ChildProcess(try binary(), ["send", "--config", config, "--to", target, "hi \u{1B}[31m"])
            defer { child.send(SIGKILL) }
            let code = await child.waitForExit()
            #expect(code != nil && code != 0, "\(target.debugDescription) exited \(String(describing: code))")
            #expect(child.stderr.contains("--to"), "\(child.stderr)")
            #expect(!Self.hasRawControl(child.stdout + child.stderr), "raw control bytes echoed: \((child.stdout + child.stderr).debugDescription)")
        }
        #expect(await sim.platform.sent().isEmpty)

        // A good target with an escape in the text: sent, and what send prints is made safe.
        let ok = try ChildProcess(try binary(), ["send", "--config", config, "--to", "c2c:U1", "hi \u{1B}[31m red"])
        defer { ok.send(SIGKILL) }
        #expect(await ok.waitForExit() == 0, "\(ok.stderr)")
        #expect(!Self.hasRawControl(ok.stdout + ok.stderr), "\((ok.stdout + ok.stderr).debugDescription)")
        #expect(ok.stdout.contains("hi ␛[31m red"), "\(ok.stdout)")
        await sim.stop()
    }

    @Test("an error body echoing an older, rotated access token: nothing send prints or logs holds it")
    func rotatedTokenEcho() async throws {
        let sim = try await QQSimulator.start()
        let dir = TestConfig.tempDir("rotated")
        let config = try TestConfig.write(sim: sim, dir: dir, logLevel: "trace")
        let scan = LeakScan()
        var needles: [(name: String, value: String)] = []
        // Each send first gets a token the platform no longer takes (401), drops it and fetches another;
        // the refusal of the message then quotes the first one: in a QQ error message, and in a body
        // that is not JSON, where it sits across the point at which the quote is cut.
        let bodies: [(contentType: String, body: (String) -> String)] = [
            ("application/json", { #"{"code":11244,"message":"token \#($0) was rotated"}"# }),
            ("text/plain", { "refused " + String(repeating: "x", count: 82) + " Authorization: QQBot " + $0 }),
        ]
        for (i, answer) in bodies.enumerated() {
            let old = "OLDTOKEN\(i)" + (UUID().uuidString + UUID().uuidString).replacingOccurrences(of: "-", with: "")
            needles += LeakScan.needles("old token #\(i + 1)", String(old.dropFirst(9)))
            await sim.platform.apply(.oddResponses([
                OddResponse(scope: .token, body: #"{"access_token":"\#(old)","expires_in":"7200"}"#),
                OddResponse(scope: .api, status: 400, contentType: answer.contentType, body: answer.body(old), skip: 1),
            ]))
            let child = try ChildProcess(try binary(), ["send", "--config", config, "--to", "c2c:U1", "hello"])
            defer { child.send(SIGKILL) }
            #expect(await child.waitForExit() == 1, "\(child.stderr)")
            scan.add("send \(i + 1): stdout", child.stdout)
            scan.add("send \(i + 1): stderr", child.stderr)
        }
        // Each odd answer was taken by the retry after the 401: nothing went through.
        #expect(await sim.platform.sent().map(\.status) == [400, 400])
        scan.addFiles(under: dir, skipping: ["config.toml"])
        let findings = scan.findings(needles)
        #expect(findings.isEmpty, "\(findings)")
        await sim.stop()
    }
}
