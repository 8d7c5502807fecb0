import Foundation
@testable import QQSession
import Testing

@Suite("Text splitting")
struct TextSplitterTests {
    @Test("short text is one part; blank text is none")
    func short() {
        #expect(TextSplitter.split("hello") == ["hello"])
        #expect(TextSplitter.split(" \n ") == [])
    }

    @Test("long text splits at line boundaries into parts within the limit, losing nothing")
    func lines() {
        let lines = (1...300).map { "第\($0)行：这是一段用来测试拆分的中文文本。" }
        let text = lines.joined(separator: "\n")
        let parts = TextSplitter.split(text, limit: 2000)
        #expect(parts.count > 1)
        #expect(parts.allSatisfy { $0.utf16.count <= 2000 })
        #expect(parts.joined(separator: "\n") == text)
        #expect(parts.allSatisfy { !$0.hasPrefix("\n") && $0.first != " " })
    }

    @Test("a fenced code block is never cut; one too long for a part is closed and reopened")
    func fences() {
        let prose = String(repeating: "Some prose before the code.\n", count: 60)
        let code = "```swift\n" + (1...40).map { "let value\($0) = \($0) // comment" }.joined(separator: "\n") + "\n```\n"
        let parts = TextSplitter.split(prose + code + "After.", limit: 2000)
        let withFence = parts.filter { $0.contains("```swift") }
        #expect(withFence.count == 1)
        #expect(withFence[0].components(separatedBy: "```").count == 3, "opened and closed in the same part")

        let huge = "```python\n" + (1...400).map { "print(\($0))  # line \($0)" }.joined(separator: "\n") + "\n```"
        let hugeParts = TextSplitter.split(huge, limit: 2000)
        #expect(hugeParts.count > 2)
        for part in hugeParts {
            #expect(part.hasPrefix("```python\n"))
            #expect(part.hasSuffix("```"))
            #expect(part.utf16.count <= 2000)
        }
        let body = hugeParts.map { $0.dropFirst("```python\n".count).dropLast(3) }.joined()
        #expect(body == (1...400).map { "print(\($0))  # line \($0)" }.joined(separator: "\n") + "\n")
    }

    @Test("a single huge line is cut between characters (CJK, emoji), never inside one")
    func longLine() {
        let line = String(repeating: "汉字😀e\u{301}", count: 900)
        let parts = TextSplitter.split(line, limit: 2000)
        #expect(parts.joined() == line)
        #expect(parts.allSatisfy { $0.utf16.count <= 2000 })
        #expect(parts.allSatisfy { $0.unicodeScalars.first != "\u{301}" }, "a combining mark was separated from its letter")
    }

    @Test("an unclosed fence is closed in every part")
    func unclosed() {
        let text = "```\n" + String(repeating: "x = 1\n", count: 500)
        let parts = TextSplitter.split(text, limit: 1000)
        #expect(parts.allSatisfy { $0.hasPrefix("```\n") && $0.hasSuffix("```") })
    }
}

@Suite("UTF-8 accumulator")
struct UTF8AccumulatorTests {
    @Test("a character split across chunks is held back until whole")
    func split() {
        var acc = UTF8Accumulator()
        let bytes = Array("你好😀".utf8)
        var out = ""
        for b in bytes { out += acc.append([b]) }
        #expect(out == "你好😀")
        #expect(acc.append(Array("a".utf8)) == "a")
        #expect(acc.append([0xE4, 0xBD]) == "")
        #expect(acc.pendingCount == 2)
        #expect(acc.append([0xA0, 0x21]) == "你!")
    }

    @Test("invalid bytes become U+FFFD instead of blocking")
    func invalid() {
        var acc = UTF8Accumulator()
        #expect(acc.append([0xFF, 0x41]) == "\u{FFFD}A")
        #expect(acc.append([0xE4]) == "")
        #expect(acc.finish() == "\u{FFFD}")
    }
}

@Suite("Reply planner")
struct ReplyPlannerTests {
    let t = Date(timeIntervalSince1970: 3_000_000)

    @Test("passive while the window and the budget last, then proactive, then refused")
    func routes() {
        var ledger = MsgSeqLedger(window: ReplyWindow())
        ledger.register(msgID: "M1", conversation: .c2c("U"), start: t, now: t)
        let passive = ledger.reserve(for: .c2c("U"), preferred: nil, margin: .seconds(10), proactive: true, now: t)
        #expect(passive.route.isPassive)
        #expect(passive.seq == 1)
        // A C2C message has 4 passive replies (the 2026 budget).
        for _ in 0..<3 { _ = ledger.reserve(for: .c2c("U"), preferred: nil, margin: .seconds(10), proactive: true, now: t) }
        #expect(ledger.route(for: .c2c("U"), preferred: nil, margin: .seconds(10), proactive: true, now: t) == .proactive)
        if case .refused = ledger.route(for: .c2c("U"), preferred: nil, margin: .seconds(10), proactive: false, now: t) {} else {
            Issue.record("expected a refusal")
        }
        ledger.refundReply("M1", now: t)
        #expect(ledger.reserve(for: .c2c("U"), preferred: nil, margin: .seconds(10), proactive: true, now: t).seq == 5,
                "a refund gives the budget back, never the msg_seq")
    }

    @Test("the newest open message is chosen; the margin closes a window early; other conversations never")
    func candidates() {
        var window = ReplyWindow()
        window.group = .seconds(300)
        var ledger = MsgSeqLedger(window: window)
        ledger.register(msgID: "OLD", conversation: .group("G"), start: t - 250, now: t)
        ledger.register(msgID: "NEW", conversation: .group("G"), start: t - 10, now: t)
        ledger.register(msgID: "OTHER", conversation: .group("H"), start: t, now: t)
        guard case .passive(let id, _, _) = ledger.route(for: .group("G"), preferred: nil, margin: .seconds(10), proactive: true, now: t) else {
            Issue.record("not passive"); return
        }
        #expect(id == "NEW")
        guard case .passive(let preferred, _, _) = ledger.route(for: .group("G"), preferred: "OLD", margin: .seconds(10), proactive: true, now: t) else {
            Issue.record("not passive"); return
        }
        #expect(preferred == "OLD")
        // OLD closes at t+50: with a 60 s margin it is already closed, so NEW is used.
        guard case .passive(let fallback, _, _) = ledger.route(for: .group("G"), preferred: "OLD", margin: .seconds(60), proactive: true, now: t) else {
            Issue.record("not passive"); return
        }
        #expect(fallback == "NEW")
        guard case .passive(let wrong, _, _) = ledger.route(for: .group("G"), preferred: "OTHER", margin: .seconds(10), proactive: true, now: t) else {
            Issue.record("not passive"); return
        }
        #expect(wrong == "NEW", "a message of another conversation is never replied to")
    }

    @Test("event entries give event_id routes")
    func events() {
        var ledger = MsgSeqLedger(window: ReplyWindow())
        ledger.register(msgID: "FRIEND_ADD:abc", conversation: .c2c("U"), start: t, now: t, isEvent: true)
        guard case .passiveEvent(let id, _, _) = ledger.route(for: .c2c("U"), preferred: nil, margin: .zero, proactive: true, now: t) else {
            Issue.record("not an event route"); return
        }
        #expect(id == "FRIEND_ADD:abc")
    }
}

@Suite("C2C stream machine")
struct C2CStreamMachineTests {
    typealias Machine = C2CStreamMachine<ContinuousClock.Instant>
    let t0 = ContinuousClock.now

    /// Runs the machine like the driver does: every send answered at once with `id` (nil: no id).
    func drain(_ m: inout Machine, at now: ContinuousClock.Instant, id: String? = "S1", frames: inout [Machine.Frame],
               fallbacks: inout [String]) {
        while true {
            switch m.next(now: now) {
            case .send(let f):
                frames.append(f)
                m.frameSucceeded(streamID: id, now: now)
            case .fallback(let text, _): fallbacks.append(text)
            default: return
            }
        }
    }

    @Test("one delta: a first frame without id, then a closing frame of just a newline")
    func oneDelta() {
        var m = Machine(interval: .seconds(1), maxFrame: 1800)
        var frames: [Machine.Frame] = [], fb: [String] = []
        m.append("你好")
        drain(&m, at: t0, frames: &frames, fallbacks: &fb)
        m.finish()
        drain(&m, at: t0 + .milliseconds(10), frames: &frames, fallbacks: &fb)
        #expect(frames == [
            .init(segment: 0, index: 0, state: 1, text: "你好", streamID: nil),
            .init(segment: 0, index: 1, state: 10, text: "\n", streamID: "S1"),
        ])
        #expect(m.next(now: t0 + .seconds(5)) == .done)
    }

    @Test("only the closing frame left: once every word is out or in the closing frame on its way; not while text waits, a paced rest remains, or after a cancel")
    func onlyClosingLeft() {
        var m = Machine(interval: .seconds(1), maxFrame: 4)
        var frames: [Machine.Frame] = [], fb: [String] = []
        m.append("第一句")
        drain(&m, at: t0, frames: &frames, fallbacks: &fb)
        #expect(!m.onlyClosingLeft, "the agent is still writing")
        m.append(String(repeating: "第二句话很长", count: 5))
        m.finish()
        #expect(!m.onlyClosingLeft, "text is still waiting for its frames")
        guard case .send(let paced) = m.next(now: t0 + .seconds(1)) else { Issue.record("no text frame"); return }
        #expect(paced.state == 1, "a rest longer than a frame goes out paced")
        #expect(!m.onlyClosingLeft, "a text frame is on its way and more waits")
        m.frameSucceeded(streamID: "S1", now: t0 + .seconds(1))
        #expect(!m.onlyClosingLeft, "part of the answer has not gone out yet")
        guard case .send(let close) = m.next(now: t0 + .seconds(2)) else { Issue.record("no closing frame"); return }
        #expect(close.state == 10 && !close.text.isEmpty, "the last words ride on the closing frame")
        #expect(m.onlyClosingLeft, "every word is in the closing frame on its way: stopping now changes nothing QQ shows")
        m.cancel()
        #expect(!m.onlyClosingLeft)
    }

    @Test("500 deltas over 5 s: about one frame a second, only new text each time, nothing lost or repeated")
    func manyDeltas() {
        var m = Machine(interval: .seconds(1), maxFrame: 1800)
        var frames: [Machine.Frame] = [], fb: [String] = []
        var input = ""
        for i in 0..<500 {
            let delta = "词\(i) "
            input += delta
            m.append(delta)
            drain(&m, at: t0 + .milliseconds(i * 10), frames: &frames, fallbacks: &fb)
        }
        m.finish()
        drain(&m, at: t0 + .milliseconds(5000), frames: &frames, fallbacks: &fb)
        #expect((5...7).contains(frames.count), "\(frames.count) frames")
        #expect(frames.map(\.text).joined() == input + "\n")
        #expect(frames.map(\.index) == Array(0..<frames.count))
        #expect(frames.dropFirst().allSatisfy { $0.streamID == "S1" })
        #expect(frames.last?.state == 10)
        #expect(frames.dropLast().allSatisfy { $0.state == 1 && !$0.text.isEmpty })
    }

    @Test("a throttled buffer says when to come back")
    func throttle() {
        var m = Machine(interval: .seconds(1), maxFrame: 1800)
        var frames: [Machine.Frame] = [], fb: [String] = []
        m.append("a")
        drain(&m, at: t0, frames: &frames, fallbacks: &fb)
        m.append("b")
        #expect(m.next(now: t0 + .milliseconds(300)) == .wait(until: t0 + .seconds(1)))
    }

    @Test("a segment break closes the stream; the next text opens a new one; nothing is sent twice")
    func segmentBreak() {
        var m = Machine(interval: .seconds(1), maxFrame: 1800)
        var frames: [Machine.Frame] = [], fb: [String] = []
        m.append("让我查一下")
        drain(&m, at: t0, frames: &frames, fallbacks: &fb)
        m.append("……")
        m.segmentBreak()
        m.append("查到了：晴。")
        drain(&m, at: t0 + .milliseconds(100), frames: &frames, fallbacks: &fb)
        m.finish()
        drain(&m, at: t0 + .milliseconds(200), frames: &frames, fallbacks: &fb)
        #expect(frames == [
            .init(segment: 0, index: 0, state: 1, text: "让我查一下", streamID: nil),
            .init(segment: 0, index: 1, state: 10, text: "……\n", streamID: "S1"),
            .init(segment: 1, index: 0, state: 1, text: "查到了：晴。", streamID: nil),
            .init(segment: 1, index: 1, state: 10, text: "\n", streamID: "S1"),
        ])
    }

    @Test("a first answer without id: the rest goes out as a normal message")
    func noID() {
        var m = Machine(interval: .seconds(1), maxFrame: 1800)
        var frames: [Machine.Frame] = [], fb: [String] = []
        m.append("first ")
        drain(&m, at: t0, id: nil, frames: &frames, fallbacks: &fb)
        m.append("second")
        m.finish()
        drain(&m, at: t0 + .seconds(2), id: nil, frames: &frames, fallbacks: &fb)
        #expect(frames.count == 1)
        #expect(fb == ["second"])
        #expect(m.next(now: t0 + .seconds(3)) == .done)
    }

    @Test("a frame that fails for good: the stream is closed, its text and the rest go as a normal message")
    func failedFrame() {
        var m = Machine(interval: .seconds(1), maxFrame: 1800)
        var frames: [Machine.Frame] = [], fb: [String] = []
        m.append("ok ")
        drain(&m, at: t0, frames: &frames, fallbacks: &fb)
        m.append("lost? ")
        guard case .send(let f) = m.next(now: t0 + .seconds(1)) else { Issue.record("no frame"); return }
        #expect(f.text == "lost? ")
        m.frameFailed(now: t0 + .seconds(1))
        m.append("more")
        m.finish()
        drain(&m, at: t0 + .seconds(2), frames: &frames, fallbacks: &fb)
        #expect(frames.last == .init(segment: 0, index: 1, state: 10, text: "\n", streamID: "S1"))
        #expect(fb == ["lost? more"])
    }

    @Test("cancel: pending text is never sent; an open stream gets a valid closing frame")
    func cancel() {
        var m = Machine(interval: .seconds(1), maxFrame: 1800)
        var frames: [Machine.Frame] = [], fb: [String] = []
        m.append("partial ")
        drain(&m, at: t0, frames: &frames, fallbacks: &fb)
        m.append("never sent")
        m.cancel()
        m.append("late delta")
        drain(&m, at: t0 + .milliseconds(100), frames: &frames, fallbacks: &fb)
        #expect(frames.map(\.text) == ["partial ", "\n"])
        #expect(frames.last?.state == 10)
        #expect(fb.isEmpty)
        #expect(m.next(now: t0 + .seconds(1)) == .done)
    }

    @Test("a buffer longer than a frame goes out one frame per interval, also after the agent finished; the closing frame at once")
    func bigBuffer() {
        var m = Machine(interval: .seconds(1), maxFrame: 100)
        var frames: [Machine.Frame] = [], fb: [String] = []
        let text = String(repeating: "abcdefghij", count: 35)
        m.append(text)
        m.finish()
        drain(&m, at: t0, frames: &frames, fallbacks: &fb)
        #expect(frames.count == 1, "one frame now, the rest paced")
        #expect(m.next(now: t0 + .milliseconds(999)) == .wait(until: t0 + .seconds(1)))
        drain(&m, at: t0 + .seconds(1), frames: &frames, fallbacks: &fb)
        #expect(frames.count == 2)
        drain(&m, at: t0 + .seconds(2), frames: &frames, fallbacks: &fb)
        // The third frame leaves a rest that fits: the closing frame follows it at once.
        #expect(frames.count == 4)
        #expect(frames.last?.state == 10)
        #expect(frames.allSatisfy { $0.text.utf16.count <= 101 })
        #expect(frames.map(\.text).joined() == text + "\n")
    }

    @Test("a frame looks only at what it sends: pieces of a long pending text are cut as the whole-text splitter cuts them")
    func firstPieceMatchesSplitter() {
        let samples = [String(repeating: "长文本 with words ", count: 400), String(repeating: "😀", count: 3000),
                       String(repeating: "x", count: 5000), "short"]
        for sample in samples {
            for limit in [16, 100, 1300] {
                #expect(TextSplitter.firstPiece(of: sample, limit: limit) == TextSplitter.pieces(of: sample, limit: limit).first)
                #expect(TextSplitter.fits(sample, limit: limit) == (TextSplitter.length(sample) <= limit))
            }
        }
    }
}
