import Foundation
import QQSession
import QQSimulator
import Testing
import TestSupport

/// Hostile gateway input: nothing crashes, nothing stops the session, the operator is told.
@Suite("Malformed gateway frames")
struct MalformedFrameTests {
    /// Sends junk, then a real message, and checks the real one still arrives on the same connection.
    func survives(_ h: SimHarness, _ send: (SimPlatform) async -> Void) async throws {
        await send(h.platform)
        _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "still alive")
        #expect(await h.recorder.wait { $0.contains { if case .message(let m) = $0 { return m.text == "still alive" }; return false } })
        #expect(await h.platform.currentStats().connectionsOpened == 1, "the junk cost a reconnect")
    }

    @Test("invalid JSON, empty frames, arrays and objects without op are reported and skipped", .timeLimit(.minutes(1)))
    func notJSON() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            try await survives(h) { p in
                _ = await p.sendRaw(text: "{not json")
                _ = await p.sendRaw(text: "")
                _ = await p.sendRaw(text: "[1,2,3]")
                _ = await p.sendRaw(text: #"{"d":{"x":1}}"#)
                _ = await p.sendRaw(text: #"{"op":"zero"}"#)
            }
            #expect(await h.recorder.notices.filter { $0.kind == .malformedFrame }.count == 5)
        }
    }

    @Test("wrong field types in a dispatch and unknown opcodes", .timeLimit(.minutes(1)))
    func wrongTypes() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            try await survives(h) { p in
                _ = await p.sendRaw(text: #"{"op":0,"t":"C2C_MESSAGE_CREATE","id":"E1","d":{"id":12345,"content":["x"]}}"#)
                _ = await p.sendRaw(text: #"{"op":0,"t":"GROUP_AT_MESSAGE_CREATE","d":{"id":"M","content":"x","author":{"member_openid":"A"}}}"#)
                _ = await p.sendRaw(text: #"{"op":0,"t":"C2C_MESSAGE_CREATE","d":null}"#)
                _ = await p.sendRaw(text: #"{"op":42,"d":{"what":true}}"#)
                _ = await p.sendRaw(text: #"{"op":0,"d":{}}"#)
            }
            let notices = await h.recorder.notices
            #expect(notices.contains { $0.kind == .unknownOpcode && $0.message.contains("42") })
            #expect(notices.contains { $0.kind == .malformedFrame && $0.message.contains("C2C_MESSAGE_CREATE") })
            #expect(notices.contains { $0.kind == .malformedFrame && $0.message.contains("group_openid") })
            let raw = await h.recorder.rawEvents
            #expect(raw.contains { $0.type == "C2C_MESSAGE_CREATE" && $0.payload["id"]?.intValue == 12345 }, "kept as raw")
            #expect(await h.recorder.messages.count == 1)
        }
    }

    @Test("a 1 MiB message arrives whole", .timeLimit(.minutes(1)))
    func hugeContent() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let big = String(repeating: "长文本abc", count: (1 << 20) / 12)
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: big)
            #expect(await h.recorder.waitForMessages(1))
            #expect(await h.recorder.messages.first?.text.count == big.count)
        }
    }

    @Test("invalid UTF-8 in a text frame and in a binary frame", .timeLimit(.minutes(1)))
    func invalidUTF8() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            var frame = Data(#"{"op":0,"t":"C2C_MESSAGE_CREATE","id":"E9","d":{"id":"ROBOT1.0_bad!","content":"bad "#.utf8)
            frame.append(contentsOf: [0xFF, 0xFE, 0xC3])
            frame.append(Data(#"","timestamp":"2026-11-22T10:00:00+08:00","author":{"id":"U8","user_openid":"U8"}}}"#.utf8))
            try await survives(h) { p in
                _ = await p.sendRaw(textBytes: frame)
                _ = await p.sendRaw(binary: Data([0xFF, 0x00, 0x80, 0x7B]))
            }
            // The text frame's bad bytes become U+FFFD: the message is kept, not dropped.
            let bad = await h.recorder.messages.first { $0.id == "ROBOT1.0_bad!" }
            #expect(bad?.text.hasPrefix("bad ") == true)
            #expect(bad?.text.contains("\u{FFFD}") == true)
            #expect(await h.recorder.notices.contains { $0.kind == .malformedFrame && $0.message.contains("binary") })
        }
    }

    @Test("deeply nested JSON does not crash the decoder", CPUGate.backstop)
    func deepNesting() async throws {
        try await CPUGate.run(limit: .seconds(60)) { try await deepNestingAlone() }
    }

    /// ``deepNesting()`` once the CPU gate lets it run (parsing 100,000 levels is heavy).
    func deepNestingAlone() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let depth = 100_000
            let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            try await survives(h) { p in
                _ = await p.sendRaw(text: #"{"op":0,"t":"SOMETHING","d":"# + nested + "}")
                _ = await p.sendRaw(text: String(repeating: "{\"a\":", count: depth))
            }
        }
    }
}
