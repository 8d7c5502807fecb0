import Foundation
@testable import QQSession
import QQSimulator
import Testing
import TestSupport

/// What the operator types or pastes is what reaches QQ, however the terminal's writes cut it: the
/// console reads the bytes itself (ncurses' `wget_wch` dropped a character cut off at the end of what
/// had arrived, and a 4.6 kB paste lost lines on a loaded machine).
@Suite("Console in tmux: typed and pasted bytes", .serialized, .timeLimit(.minutes(3)),
       .enabled(if: TmuxSession.binary != nil || ProcessInfo.processInfo.environment["QQTUI_REQUIRE_PEERS"] == "1",
                "tmux is not installed (CI installs it)"))
struct ConsoleInputTmuxTests {
    /// The console on `sim` with U1's message shown and the composer on it; the message's id.
    func ready(_ sim: QQSimulator) async throws -> (TmuxSession, String) {
        let binary = try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)")
        let dir = TestConfig.tempDir("tmux-input")
        let config = try TestConfig.write(sim: sim, dir: dir, extra: "")
        let tmux = try TmuxSession(command: "'\(binary)' --config '\(config)'; echo EXIT=$?; sleep 30",
                                   environment: ["LANG": "C.UTF-8", "XDG_DATA_HOME": dir + "/data", "XDG_STATE_HOME": dir + "/state",
                                                 "TERM": "screen"])
        #expect(await tmux.waitFor { $0.contains("READY") }, "\(tmux.screen)")
        let q = await sim.platform.userSendsC2C(userOpenID: "U1", content: "订单呢").id
        #expect(await tmux.waitFor { $0.contains("私 U1") && $0.contains("reply passive") }, "\(tmux.screen)")
        return (tmux, q)
    }

    /// Texts the bot sent to U1, with the msg_id each replied to.
    func replies(_ sim: QQSimulator) async -> [(text: String, msgID: String?)] {
        await sim.platform.sent().filter { $0.status == 200 && $0.path == "/v2/users/U1/messages" }
            .map { ($0.body?["content"]?.string ?? "", $0.body?["msg_id"]?.string) }
    }

    @Test("a character cut between two writes, read in between, reaches QQ whole, with the message's id")
    func characterCutBetweenWrites() async throws {
        let sim = try await QQSimulator.start()
        let (tmux, q) = try await ready(sim)
        defer { tmux.stop() }
        let first = Array("单号A7".utf8), second = Array("你好".utf8)
        await tmux.write(first + second[..<1])
        // Shown: the console has read this write, the cut-off byte of 你 too.
        #expect(await tmux.waitFor { $0.contains("单号A7") }, "\(tmux.screen)")
        await tmux.write(Array(second[1...]) + Array("，在吗".utf8))
        #expect(await tmux.waitFor { $0.contains("单号A7你好，在吗") }, "\(tmux.screen)")
        await tmux.press("Enter")
        #expect(await eventually { await replies(sim).count == 1 })
        let sent = await replies(sim)
        #expect(sent.map(\.text) == ["单号A7你好，在吗"] && sent.map(\.msgID) == [q], "\(sent)")
        await sim.stop()
    }

    @Test("a resize while a paste is open takes effect at once; the paste, its end marker lost, is in the composer a second later; nothing is sent")
    func resizeDuringPaste() async throws {
        let sim = try await QQSimulator.start()
        let (tmux, _) = try await ready(sim)
        defer { tmux.stop() }
        await tmux.write(Array("\u{1B}[200~第一行\r第二行".utf8))
        await tmux.resize(cols: 64, rows: 20)
        // The narrow layout: the header shortened to keep the reply window (the decoder, pasting, used
        // to swallow the resize, and the console kept drawing for 120 columns).
        #expect(await tmux.waitFor { s in s.split(separator: "\n").contains { $0.contains("U1 ·") && $0.contains("/4") } }, "\(tmux.screen)")
        #expect(await tmux.waitFor { $0.contains("第一行") && $0.contains("第二行") }, "\(tmux.screen)")
        await tmux.press("C-c")
        #expect(await tmux.waitFor { $0.contains("Ctrl-C again quits") }, "\(tmux.screen)")
        await tmux.press("C-c")
        #expect(await tmux.waitFor { $0.contains("EXIT=0") }, "\(tmux.screen)")
        #expect(await replies(sim).isEmpty, "nothing was sent")
        await sim.stop()
    }

    @Test("a 7 kB paste in writes cut inside characters reaches QQ exactly, as the messages announced, each with the message's id")
    func longPasteInPieces() async throws {
        let sim = try await QQSimulator.start()
        let (tmux, q) = try await ready(sim)
        defer { tmux.stop() }
        let text = (1...60).map { "第\($0)行：" + String(repeating: "内容", count: 18) }.joined(separator: "\n")
        let bytes = Array(("\u{1B}[200~" + text + "\u{1B}[201~").utf8)
        // 1,001 bytes a write: most cuts fall inside a 3-byte character, one inside the end marker.
        for start in stride(from: 0, to: bytes.count, by: 1001) {
            await tmux.write(Array(bytes[start..<min(bytes.count, start + 1001)]))
        }
        let expected = TextSplitter.split(text, limit: 2000)
        #expect(expected.count == 2)
        #expect(await tmux.waitFor { $0.contains("Enter sends this as 2 QQ messages") }, "\(tmux.screen)")
        await tmux.press("Enter")
        #expect(await eventually { await replies(sim).count == expected.count })
        let sent = await replies(sim)
        #expect(sent.map(\.text) == expected, "sent \(sent.map(\.text.count)) characters in \(sent.count) messages")
        #expect(sent.allSatisfy { $0.msgID == q })
        await sim.stop()
    }
}
