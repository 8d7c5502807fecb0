import Foundation
@testable import QQSession
import Testing

@Suite("Backoff, recent ids and ledger")
struct TimingTests {
    @Test("backoff doubles from the base, is capped, and jitter only shortens it")
    func backoff() {
        var policy = ReconnectPolicy()
        policy.baseDelay = .seconds(1)
        policy.maxDelay = .seconds(60)
        policy.jitter = 0.5
        let b = Backoff(policy: policy)
        #expect(b.delay(afterFailures: 0, random: 0) == .zero)
        #expect(b.delay(afterFailures: 1, random: 0) == .seconds(1))
        #expect(b.delay(afterFailures: 4, random: 0) == .seconds(8))
        #expect(b.delay(afterFailures: 30, random: 0) == .seconds(60))
        #expect(b.delay(afterFailures: 4, random: 1) == .seconds(4))
        #expect(b.delay(afterFailures: 4, random: 0.5) == .seconds(6))
    }

    @Test("recent ids are forgotten at their time, the oldest first beyond the capacity")
    func recentIDs() {
        let t = Date(timeIntervalSince1970: 1_000_000)
        var ids = RecentIDs(capacity: 3)
        ids.insert("a", until: t + 10, now: t)
        ids.insert("b", until: t + 20, now: t)
        #expect(ids.contains("a", now: t + 5))
        #expect(!ids.contains("a", now: t + 10), "gone at its time")
        ids.removeExpired(now: t + 15)
        #expect(ids.count == 1)
        ids.insert("c", until: t + 30, now: t + 15)
        ids.insert("d", until: t + 40, now: t + 15)
        ids.insert("e", until: t + 50, now: t + 15)
        #expect(ids.count == 3)
        #expect(!ids.contains("b", now: t + 15), "beyond the capacity the oldest goes")
        #expect(ids.contains("c", now: t + 15) && ids.contains("e", now: t + 15))
        // Seen again: remembered until the later time, without a second place in the queue.
        ids.insert("c", until: t + 45, now: t + 16)
        #expect(ids.count == 3 && ids.contains("c", now: t + 44))
        #expect(!ids.contains("d", now: t + 44) && ids.contains("e", now: t + 44))
    }

    @Test("recent ids under a long stream keep only the live ones")
    func recentIDsChurn() {
        var ids = RecentIDs(capacity: 500_000)
        let t = Date(timeIntervalSince1970: 0)
        for i in 0..<100_000 {
            let now = t + Double(i) / 1000
            ids.insert("m\(i)", until: now + 1, now: now)
        }
        ids.removeExpired(now: t + 100)
        #expect(ids.count <= 1001)
        #expect(ids.contains("m99999", now: t + 99.9995) && !ids.contains("m0", now: t + 99.9995))
    }

    @Test("ledger: msg_seq starts at 1 and never repeats; budget counted; entry gone when the window closes")
    func ledger() {
        var window = ReplyWindow()
        window.group = .seconds(300)
        window.c2c = .seconds(3600)
        var ledger = MsgSeqLedger(window: window)
        let t = Date(timeIntervalSince1970: 2_000_000)
        let entry = ledger.register(msgID: "M1", conversation: .group("G"), start: t, now: t)
        #expect(entry.windowEnds == t + 300)
        #expect(ledger.takeSeq("M1", now: t) == 1)
        #expect(ledger.takeSeq("M1", now: t) == 2)
        ledger.recordReply("M1", now: t)
        #expect(ledger.entry("M1", now: t)?.repliesLeft == 4)
        // Registering again (a duplicate push) keeps the counter.
        ledger.register(msgID: "M1", conversation: .group("G"), start: t, now: t + 1)
        #expect(ledger.takeSeq("M1", now: t + 1) == 3)
        #expect(ledger.entry("M1", now: t + 301) == nil)
        #expect(ledger.takeSeq("M1", now: t + 301) == nil)
        let c2c = ledger.register(msgID: "M2", conversation: .c2c("U"), start: t, now: t)
        #expect(c2c.windowEnds == t + 3600)
        #expect(ledger.count(now: t + 400) == 1)
        #expect(ledger.count(now: t + 3600) == 0)
    }

    @Test("a C2C text is trimmed exactly as Foundation trims blanks and line breaks, and returned as is when there is nothing to trim")
    func trimming() {
        for text in ["", " ", "a", " a ", "你好", "\u{3000}全角空格\u{3000}", "\n多行\n文本\n", "\u{85}x", "x\u{2028}", "\t\r\n", "😀 ", "a b"] {
            #expect(InboundProcessor.trimmed(text) == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.debugDescription)")
        }
    }

    @Test("a conversation's preview is the text's first line, cut at 80 characters; a short plain line is its own")
    func preview() {
        #expect(StoreOp.preview("你好") == "你好")
        #expect(StoreOp.preview("first\nsecond") == "first")
        #expect(StoreOp.preview("a\r\nb") == "a")
        #expect(StoreOp.preview("x\u{2028}y") == "x" && StoreOp.preview("x\u{85}y") == "x" && StoreOp.preview("x\u{0B}y") == "x")
        #expect(StoreOp.preview(String(repeating: "a", count: 80)) == String(repeating: "a", count: 80))
        #expect(StoreOp.preview(String(repeating: "a", count: 81)) == String(repeating: "a", count: 80) + "…")
        #expect(StoreOp.preview(String(repeating: "字", count: 81)) == String(repeating: "字", count: 80) + "…")
        #expect(StoreOp.preview("\n\nthird") == "third" && StoreOp.preview("") == "")
    }

    @Test("ledger: a busy conversation keeps entries for its newest messages only (8 in private, 32 in a group); replies go to the newest")
    func ledgerPerConversation() {
        var ledger = MsgSeqLedger(window: ReplyWindow())
        let t = Date(timeIntervalSince1970: 2_000_000)
        #expect(MsgSeqLedger.kept(in: .c2c("U")) == 8 && MsgSeqLedger.kept(in: .group("G")) == 32)
        let n = MsgSeqLedger.kept(in: .c2c("U")) + 8
        for i in 0..<n { ledger.register(msgID: "M\(i)", conversation: .c2c("U"), start: t, now: t) }
        for i in 0..<40 { ledger.register(msgID: "G\(i)", conversation: .group("G"), start: t, now: t) }
        ledger.register(msgID: "OTHER", conversation: .c2c("V"), start: t, now: t)
        #expect(ledger.count(now: t) == 8 + 32 + 1, "memory stays bounded per conversation")
        #expect(ledger.entry("G7", now: t) == nil && ledger.entry("G8", now: t) != nil, "a group keeps its newest 32")
        #expect(ledger.entry("M0", now: t) == nil)
        #expect(ledger.entry("M\(n - 1)", now: t) != nil)
        #expect(ledger.entry("OTHER", now: t) != nil, "another conversation's entry is untouched")
        let route = ledger.route(for: .c2c("U"), preferred: "M0", margin: .seconds(10), proactive: true, now: t)
        #expect(route == .passive(msgID: "M\(n - 1)", windowEnds: t + 3600, repliesLeft: 4), "\(route)")
    }

    @Test("ledger: beyond its capacity the entries closest to their window's end go first; used counters survive a sweep")
    func ledgerCapacity() {
        var ledger = MsgSeqLedger(window: ReplyWindow(), capacity: 100)
        let t = Date(timeIntervalSince1970: 2_000_000)
        // 150 users, one message each, a second apart: the first ones' windows end first.
        for i in 0..<150 { ledger.register(msgID: "U\(i)", conversation: .c2c("U\(i)"), start: t + Double(i), now: t + 150) }
        #expect(ledger.takeSeq("U149", now: t + 150) == 1)
        #expect(ledger.count(now: t + 150) <= 100, "bounded by the capacity")
        #expect(ledger.entry("U0", now: t + 150) == nil, "the oldest window went first")
        #expect(ledger.entry("U149", now: t + 150)?.nextSeq == 2, "the newest stays, with its counter")
        // Every window closed: a sweep leaves nothing, and a reply finds no entry.
        #expect(ledger.count(now: t + 3600 + 150) == 0)
        #expect(!ledger.route(for: .c2c("U149"), preferred: nil, margin: .zero, proactive: false, now: t + 3600 + 150).isPassive)
    }
}

@Suite("Mention stripping")
struct MentionStripperTests {
    @Test("the bot's mention and the blanks around it go", arguments: [
        ("<@!B1> hello", "hello"),
        ("<@B1>hello", "hello"),
        (" \u{00A0}<@!B1>\u{00A0} 你好 ", "你好"),
        ("<@!B1> <@!B1> twice", "twice"),
        ("<qqbot-at-user id=\"B1\" /> 看看这个", "看看这个"),
        (" 123", "123"),
        ("\u{3000}全角空格", "全角空格"),
        ("hello <@!B1>", "hello"),
        ("<@!B1>", ""),
        ("  \u{00A0} ", ""),
    ])
    func strips(input: String, expected: String) {
        #expect(MentionStripper.strip(input, botIDs: ["B1"], atEvent: true) == expected)
    }

    @Test("mentions the platform lists as other members stay")
    func keepsOthers() {
        #expect(MentionStripper.strip("<@!U2> look", botIDs: ["B1"], otherIDs: ["U2"], atEvent: true) == "<@!U2> look")
        #expect(MentionStripper.strip("<@!B1> <@!U2> look", botIDs: ["B1"], otherIDs: ["U2"], atEvent: true) == "<@!U2> look")
        #expect(MentionStripper.strip("ask <@!U2> later", botIDs: ["B1"], atEvent: false) == "ask <@!U2> later")
        #expect(MentionStripper.strip("<@!U2> look", botIDs: ["B1"], atEvent: false) == "<@!U2> look", "not an @-event")
    }

    @Test("in an @-event an unlisted leading mention is the bot (an id format we do not know)")
    func unknownBotID() {
        #expect(MentionStripper.strip("<@!X> hi", botIDs: ["B1"], atEvent: true) == "hi")
        #expect(MentionStripper.strip("<@!X> <@!Y> hi", botIDs: ["B1"], atEvent: true) == "<@!Y> hi", "only the first")
        #expect(MentionStripper.strip("<@!X> hi", botIDs: ["B1"], atEvent: false) == "<@!X> hi")
    }

    @Test("broken tags are left alone")
    func brokenTags() {
        #expect(MentionStripper.strip("<@!B1 hi", botIDs: ["B1"], atEvent: true) == "<@!B1 hi")
        #expect(MentionStripper.strip("<@> hi", botIDs: ["B1"], atEvent: true) == "<@> hi")
    }

    @Test("found by fuzzing: a tag ends at its first >, attribute and element names are whole words, CRLF is a blank")
    func fuzzRegressions() {
        // The tag used to run to the first "/>" anywhere, eating the message up to it.
        #expect(MentionStripper.strip("<qqbot-at-user id=\"B1\"> hello /> world", botIDs: ["B1"], atEvent: true) == "hello /> world")
        #expect(MentionStripper.strip("<qqbot-at-user uid=\"B1\" /> hi", botIDs: ["B1"], atEvent: false) == "<qqbot-at-user uid=\"B1\" /> hi")
        #expect(MentionStripper.strip("<qqbot-at-userx id=\"B1\" /> hi", botIDs: ["B1"], atEvent: false) == "<qqbot-at-userx id=\"B1\" /> hi")
        #expect(MentionStripper.strip("<qqbot-at-user nick=\"a b\" id=\"B1\"/>hi", botIDs: ["B1"], atEvent: false) == "hi")
        #expect(MentionStripper.strip("<@B1<@U2> hi", botIDs: ["B1"], atEvent: true) == "<@B1<@U2> hi")
        #expect(MentionStripper.strip("hi <@B1>\r\n", botIDs: ["B1"], atEvent: false) == "hi")
    }
}

@Suite("Frame and payload decoding")
struct FrameDecodingTests {
    @Test("a message with wrong field types becomes undecodable, keeping its seq")
    func wrongTypes() throws {
        let f = try GatewayFrame.decode(#"{"op":0,"s":5,"t":"C2C_MESSAGE_CREATE","id":"E","d":{"id":12,"content":"x"}}"#)
        #expect(f.s == 5)
        guard case .undecodable = f.payload else { Issue.record("expected undecodable"); return }
    }

    @Test("unknown dispatch types are kept raw")
    func rawDispatch() throws {
        let f = try GatewayFrame.decode(#"{"op":0,"s":6,"t":"MESSAGE_AUDIT_PASS","id":"E","d":{"id":"I1","data":{"x":1}}}"#)
        guard case .raw(let json) = f.payload else { Issue.record("expected raw"); return }
        #expect(json["id"]?.stringValue == "I1")
    }

    @Test("attachment sizes as strings or numbers, s as a string is ignored, not fatal")
    func lenient() throws {
        let f = try GatewayFrame.decode(#"{"op":0,"s":"7","t":"GROUP_AT_MESSAGE_CREATE","d":{"id":"M","content":" hi","group_openid":"G","author":{"member_openid":"A"},"attachments":[{"content_type":"image/png","url":"x/y.png","width":"640","height":480}]}}"#)
        #expect(f.s == nil)
        guard case .message(let m) = f.payload else { Issue.record("expected message"); return }
        #expect(m.attachments.first?.width == 640)
        #expect(m.attachments.first?.height == 480)
    }

    @Test("not JSON, no op, an array: decoding throws (the driver reports it)")
    func garbage() {
        #expect(throws: (any Error).self) { try GatewayFrame.decode("not json") }
        #expect(throws: (any Error).self) { try GatewayFrame.decode(#"{"d":1}"#) }
        #expect(throws: (any Error).self) { try GatewayFrame.decode("[1,2]") }
        #expect(throws: (any Error).self) { try GatewayFrame.decode(#"{"op":"0"}"#) }
    }

    @Test("scheme-less attachment URLs get https://")
    func urls() {
        #expect(AttachmentDownloader.normalizeURL("multimedia.nt.qq.com.cn/download?x=1") == "https://multimedia.nt.qq.com.cn/download?x=1")
        #expect(AttachmentDownloader.normalizeURL("//host/a.png") == "https://host/a.png")
        #expect(AttachmentDownloader.normalizeURL("http://h/a.png") == "http://h/a.png")
        #expect(AttachmentDownloader.normalizeURL(" HTTPS://h/a.png ") == "HTTPS://h/a.png")
    }

    @Test("byte counts read like a person writes them")
    func bytes() {
        #expect(AttachmentDownloader.formatBytes(500) == "500 B")
        #expect(AttachmentDownloader.formatBytes(4096) == "4 KiB")
        #expect(AttachmentDownloader.formatBytes(20 * 1024 * 1024) == "20 MiB")
        #expect(AttachmentDownloader.formatBytes(1536 * 1024) == "1.5 MiB")
    }

    @Test("image dimensions from PNG, GIF and JPEG headers")
    func imageSizes() {
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
        png.append(contentsOf: [0, 0, 2, 128, 0, 0, 1, 224, 8, 2, 0, 0, 0])
        #expect(ImageSize.of(png).map { [$0.width, $0.height] } == [640, 480])
        let gif = Data([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x20, 0x03, 0x58, 0x02])
        #expect(ImageSize.of(gif).map { [$0.width, $0.height] } == [800, 600])
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0x2C, 0x01, 0x90, 0x03])
        #expect(ImageSize.of(jpeg).map { [$0.width, $0.height] } == [400, 300])
        #expect(ImageSize.of(Data("not an image at all".utf8)) == nil)
        #expect(ImageSize.of(Data([0xFF, 0xD8, 0xFF])) == nil)
    }
}

@Suite("Secrets")
struct SecretTests {
    @Test("a secret never prints itself and is scrubbed from error text")
    func redaction() {
        let secret = Secret("s3cr3t-value-for-test")
        #expect("\(secret)" == Redactor.placeholder)
        #expect(String(describing: [secret]).contains("s3cr3t") == false)
        let error = QQError.transport(SomeError(text: "failed with token s3cr3t-value-for-test"), context: "x")
        #expect(!error.description.contains("s3cr3t-value-for-test"))
        #expect(error.description.contains(Redactor.placeholder))
    }

    @Test("every token the process held stays scrubbed, however many came after it; a cut quote keeps no part of one")
    func everyTokenRemembered() {
        let first = Secret("first-token-" + UUID().uuidString)
        for _ in 0..<200 { _ = Secret("later-token-" + UUID().uuidString) }
        #expect(Redactor.shared.redact("old: \(first.exposedValue)") == "old: \(Redactor.placeholder)")
        let quote = String(repeating: "x", count: 150) + first.exposedValue
        let cut = Redactor.shared.redact(quote, clippedTo: 160)
        #expect(!cut.contains("first-token"), "\(cut)")
    }

    struct SomeError: Error, CustomStringConvertible { var text: String; var description: String { text } }
}
