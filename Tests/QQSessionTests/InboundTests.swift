import Foundation
import QQSession
import QQSimulator
import Testing

/// Inbound filters over loopback: mention stripping, empty skip, dedup, allow_from, attachments, ledger.
@Suite("Inbound messages", .timeLimit(.minutes(1)))
struct InboundTests {
    @Test("group @-messages: the bot's mention and blanks are stripped, other mentions stay")
    func mentions() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            _ = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "查一下天气", inlineMention: true)
            _ = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "\u{00A0} 你好")
            _ = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M2", content: "<@!M9> look", inlineMention: true)
            _ = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M2", content: "all messages mode", mentionBot: false)
            try #require(await h.recorder.waitForMessages(4))
            let messages = await h.recorder.messages
            #expect(messages.map(\.text) == ["查一下天气", "你好", "<@!M9> look", "all messages mode"])
            #expect(messages.map(\.source) == [.groupAt, .groupAt, .groupAt, .group])
            #expect(messages[0].rawContent.hasPrefix("<@!"))
            #expect(messages[0].author.role == "member")
            #expect(messages.allSatisfy { $0.conversation == .group("G1") })
        }
    }

    @Test("empty messages (a bare @bot, only blanks) are skipped; an image without text is not")
    func emptySkip() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let bare = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "", inlineMention: true)
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: " \u{00A0}\n ")
            let picture = await h.platform.userSendsC2C(userOpenID: "U1", content: "", attachments: [
                SimAttachment(contentType: "image/png", filename: "p.png", data: Self.png(width: 3, height: 2))])
            // The picture was pushed last: once it is shown, the frames before it were all handled.
            #expect(await h.recorder.waitForMessages(1))
            let messages = await h.recorder.messages
            #expect(messages.map(\.id) == [picture.id])
            let skipped = await h.recorder.notices.filter { $0.kind == .skippedEmpty }
            #expect(skipped.count == 2)
            #expect(skipped.first?.subject == bare.id)
        }
    }

    @Test("the same message pushed twice is delivered once")
    func dedup() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "once", messageID: "ROBOT1.0_dup!")
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "once", messageID: "ROBOT1.0_dup!")
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "next")
            // "next" was pushed last: once it is shown, the duplicate before it was handled.
            #expect(await h.recorder.waitForMessages(2))
            #expect(await h.recorder.messages.map(\.text) == ["once", "next"])
            #expect(await h.recorder.notices.contains { $0.kind == .duplicate && $0.subject == "ROBOT1.0_dup!" })
        }
    }

    @Test("allow_from lets only the listed openids through")
    func allowFrom() async throws {
        try await SimHarness.run(configure: { $0.allowFrom = AllowList(entries: ["U1", "M1"]) }) { h in
            #expect(await h.recorder.waitForReady())
            _ = await h.platform.userSendsC2C(userOpenID: "U2", content: "stranger")
            _ = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M2", content: "stranger in group")
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "friend")
            _ = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "friend in group")
            // The last one pushed is allowed: once both are shown, the strangers' frames were handled.
            #expect(await h.recorder.waitForMessages(2))
            #expect(await h.recorder.messages.map(\.text) == ["friend", "friend in group"])
            #expect(await h.recorder.notices.filter { $0.kind == .notAllowed }.count == 2)
        }
    }

    @Test("images are downloaded owner-only with their size; oversize, 404 and unreachable leave placeholders")
    func attachments() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-att-\(UUID().uuidString)").path
        let blackHole = try BlackHoleServer()
        defer { blackHole.close() }
        // Downloads run one after another; the black hole's is first, and times out when the test moves
        // time 30 s on. The others then run (in real time; time does not move again).
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.attachments.directory = dir
            $0.attachments.maxBytes = 4096
            $0.attachments.timeout = .seconds(30)
        }) { h in
            #expect(await h.recorder.waitForReady())
            let good = Self.png(width: 40, height: 30)
            let missing = h.simulator.baseURL + "/sim/files/nothere/x.png"
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "four files", attachments: [
                SimAttachment(contentType: "image/png", filename: "slow.png", url: "http://127.0.0.1:\(blackHole.port)/slow.png"),
                SimAttachment(contentType: "image/png", filename: "ok.png", data: good),
                SimAttachment(contentType: "image/jpeg", filename: "big.jpg", data: Data(repeating: 0xAB, count: 10_000)),
                SimAttachment(contentType: "image/png", filename: "gone.png", url: missing),
                SimAttachment(contentType: "file", filename: "report.pdf", data: Data(repeating: 0x25, count: 1000)),
            ])
            _ = await h.platform.userSendsC2C(userOpenID: "U1", content: "after the files")
            #expect(await time.waitForSleepers { $0 == .seconds(30) }, "the black hole's download is under way")
            time.advance(by: .seconds(30))
            try #require(await h.recorder.waitForMessages(2))
            let messages = await h.recorder.messages
            #expect(messages.map(\.text) == ["four files", "after the files"], "order kept behind the downloads")
            let a = messages[0].attachments
            try #require(a.count == 5)
            #expect(a[1].state == .downloaded)
            #expect(a[1].data == good)
            #expect(a[1].width == 40 && a[1].height == 30)
            #expect(a[1].size == good.count)
            let path = try #require(a[1].localPath)
            #expect(FileManager.default.contents(atPath: path) == good)
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(a[2].state == .failed(reason: "larger than 4 KiB, not downloaded"))
            #expect(a[2].data == nil)
            #expect(a[3].state == .failed(reason: "download failed (HTTP 404)"))
            guard case .failed(let slow) = a[0].state else { Issue.record("slow download did not fail"); return }
            #expect(slow.contains("timed out"))
            #expect(a[4].state == .downloaded, "files are downloaded like images (within the cap)")
            #expect(a[4].data == nil, "only an image's bytes stay in memory")
            #expect(a[4].localPath.flatMap { FileManager.default.contents(atPath: $0) } == Data(repeating: 0x25, count: 1000))
            #expect(a[3].placeholder == "[image gone.png: download failed (HTTP 404)]")
            #expect(await h.recorder.notices.filter { $0.kind == .downloadFailed }.count == 3)
        }
    }

    @Test("group and friend lifecycle events and unknown events arrive; nothing is dropped silently")
    func lifecycleAndRaw() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            _ = await h.platform.dispatchEvent(type: "GROUP_ADD_ROBOT", payload: .object([
                "group_openid": .string("G5"), "op_member_openid": .string("M5"), "timestamp": .number(1_700_000_000)]))
            _ = await h.platform.dispatchEvent(type: "FRIEND_ADD", payload: .object(["openid": .string("U5"), "timestamp": .number(1)]))
            _ = await h.platform.dispatchEvent(type: "GROUP_DEL_ROBOT", payload: .object(["group_openid": .string("G5"), "op_member_openid": .string("M5")]))
            _ = await h.platform.dispatchEvent(type: "SUBSCRIBE_MESSAGE_STATUS", payload: .object(["x": .number(1)]))
            _ = await h.platform.dispatchEvent(type: "FRIEND_DEL", payload: .object(["nope": .bool(true)]))
            #expect(await h.recorder.wait { events in events.filter { if case .raw = $0 { return true }; return false }.count >= 2 })
            let lifecycle = await h.recorder.conversationEvents
            try #require(lifecycle.map(\.kind) == [.groupAddRobot, .friendAdd, .groupDelRobot])
            #expect(lifecycle.first?.conversation == .group("G5"))
            #expect(lifecycle.first?.operatorOpenID == "M5")
            #expect(lifecycle[1].conversation == .c2c("U5"))
            let raw = await h.recorder.rawEvents
            #expect(raw.map(\.type) == ["SUBSCRIBE_MESSAGE_STATUS", "FRIEND_DEL"])
            #expect(raw.first?.payload["x"]?.intValue == 1)
            #expect(await h.recorder.notices.contains { $0.kind == .malformedFrame && $0.message.contains("FRIEND_DEL") })
        }
    }

    /// The window runs from the platform's timestamp, which has 1 s resolution: a window ends between
    /// `window - 1 s` and `window` after receipt (never later than the platform's own). The margins
    /// are wide so that a loaded machine does not matter.
    @Test("the msg_seq ledger opens an entry per message and forgets it when the reply window closes")
    func ledgerExpiry() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.replyWindow.c2c = .seconds(60)
            $0.replyWindow.group = .seconds(30)
        }) { h in
            #expect(await h.recorder.waitForReady())
            let c2c = await h.platform.userSendsC2C(userOpenID: "U1", content: "hi")
            let group = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "hi")
            #expect(await h.recorder.waitForMessages(2))
            let entry = try #require(h.session.ledgerEntry(for: c2c.id))
            #expect(entry.nextSeq == 1)
            #expect(entry.repliesLeft == 4, "a C2C message has 4 passive replies")
            #expect(entry.conversation == .c2c("U1"))
            let message = try #require(await h.recorder.messages.first)
            #expect(message.replyWindowEnds == entry.windowEnds)
            #expect(h.session.ledgerCount == 2)
            time.advance(by: .seconds(31))
            #expect(h.session.ledgerEntry(for: group.id) == nil)
            #expect(h.session.ledgerEntry(for: c2c.id) != nil)
            time.advance(by: .seconds(30))
            #expect(h.session.ledgerEntry(for: c2c.id) == nil)
            #expect(h.session.ledgerCount == 0)
        }
    }

    /// A small valid PNG of the given size (header only matters for the size sniffing).
    static func png(width: Int, height: Int) -> Data {
        var d = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
        for v in [width, height] { d.append(contentsOf: [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]) }
        d.append(contentsOf: [8, 2, 0, 0, 0, 0, 0, 0, 0])
        return d
    }
}
