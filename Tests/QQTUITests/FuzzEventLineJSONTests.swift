import Foundation
import FuzzSupport
@testable import QQSession
@testable import QQTUI
import Testing

/// `serve --json`'s hand-written lines for `outbound` and `agent` events against what JSONEncoder
/// writes for the same event, on seeded random values of every case: byte for byte, whether the fast
/// path wrote the line or left it to the encoder.
@Suite("Fuzz: serve --json outbound and agent lines equal the encoder's", Fuzz.backstop)
struct FuzzEventLineJSONTests {
    typealias Reference = FuzzMessageEventJSONTests

    static func text(_ rng: inout SplitMix64) -> String {
        rng.chance(0.3) ? rng.pick(["a/b", "\"q\"", "back\\slash", "\u{1B}[31m", "\u{7F}\u{80}\u{2028}", "\t\n\r\u{08}\u{0C}\u{00}\u{1F}", "表情😀", ""])
            : Hostile.string(&rng, maxLength: rng.chance(0.05) ? 3000 : 40)
    }

    static func maybe<T>(_ rng: inout SplitMix64, _ make: (inout SplitMix64) -> T) -> T? { rng.chance(0.6) ? make(&rng) : nil }

    static func int(_ rng: inout SplitMix64) -> Int {
        rng.chance(0.1) ? rng.pick([Int.min, Int.max, 0, -1]) : rng.small(-5...1_000_000)
    }

    static func conversation(_ rng: inout SplitMix64) -> ConversationID {
        rng.chance(0.5) ? .c2c(text(&rng)) : .group(text(&rng))
    }

    static func route(_ rng: inout SplitMix64) -> ReplyRoute {
        switch rng.small(0...3) {
        case 0: return .passive(msgID: text(&rng), windowEnds: Reference.date(&rng), repliesLeft: int(&rng))
        case 1: return .passiveEvent(eventID: text(&rng), windowEnds: Reference.date(&rng), repliesLeft: int(&rng))
        case 2: return .proactive
        default: return .refused(reason: text(&rng))
        }
    }

    static func part(_ rng: inout SplitMix64) -> OutboundMessage.Part {
        let status: OutboundMessage.Part.Status = rng.pick([.pending, .sending, .sent, .failed(reason: text(&rng)), .skipped])
        return .init(index: int(&rng), text: text(&rng), route: maybe(&rng, route), msgSeq: maybe(&rng, int), qqMessageID: maybe(&rng, text),
                     status: status, attempts: int(&rng), uploaded: maybe(&rng, int), size: maybe(&rng, int))
    }

    static func outbound(_ rng: inout SplitMix64) -> OutboundMessage {
        let status: OutboundMessage.Status = rng.pick([.sending, .sent, .failed(reason: text(&rng)), .refused(reason: text(&rng)), .cancelled])
        let kind = rng.pick([OutboundMessage.Kind.text, .image, .video, .voice, .file, .reply])
        var m = OutboundMessage(id: text(&rng), conversation: conversation(&rng), kind: kind, origin: text(&rng),
                                operatorName: maybe(&rng, text), text: text(&rng), replyTo: maybe(&rng, text), status: status,
                                parts: (0..<rng.small(0...4)).map { _ in part(&rng) }, error: nil,
                                createdAt: Reference.date(&rng), updatedAt: Reference.date(&rng))
        if rng.chance(0.1) { m.error = QQError(kind: .platform, message: text(&rng), code: maybe(&rng, int)) }
        if rng.chance(0.1) { m.keyboard = Keyboard(rows: [[.init(id: "1", label: text(&rng), data: text(&rng))]]) }
        return m
    }

    static func activity(_ rng: inout SplitMix64) -> AgentActivity {
        let kind: AgentActivity.Kind
        switch rng.small(0...4) {
        case 0:
            kind = .started(mode: rng.pick(Owner.allCases), backend: text(&rng), outboundID: maybe(&rng, text), messages: int(&rng))
        case 1:
            kind = .event(rng.chance(0.8) ? .textDelta(text(&rng))
                : rng.pick([.segmentBreak, .thought(text(&rng)), .note(text(&rng)), .usage(used: maybe(&rng, int), size: nil)]))
        case 2:
            kind = .queued(messageID: text(&rng), waiting: int(&rng))
        default:
            let outcome: AgentActivity.Outcome = rng.pick([.completed(cut: rng.chance(0.5)), .cancelled(reason: text(&rng)),
                                                          .failed(reason: text(&rng)), .refused])
            kind = .finished(outcome, text: text(&rng))
        }
        var a = AgentActivity(conversation: conversation(&rng), turnID: UUID(), kind: kind, at: Reference.date(&rng),
                              replyTo: maybe(&rng, text))
        a.member = maybe(&rng, text)
        return a
    }

    /// Prints `iterations` random events: every line must equal the encoder's, and the fast path may
    /// leave only what `mayFallBack` allows to the encoder. How many lines it wrote itself, and the report.
    static func compare<T>(_ name: String, _ make: (inout SplitMix64) -> T, event: (T) -> SessionEvent, fast: (T) -> String?,
                           mayFallBack: (T) -> Bool) async -> (report: FuzzReport, fast: Int) {
        var written = 0
        let report = await Fuzz.run(name, iterations: 3000) { c in
            let value = make(&c.rng)
            let line = EventPrinter.jsonLine(event(value))
            c.input = line
            if fast(value) != nil { written += 1 } else { c.check(mayFallBack(value), "the fast path was not taken") }
            let reference = Reference.reference(event(value))
            c.check(line == reference, "differs from the encoder:\nfast \(line)\nref  \(reference)")
        }
        return (report, written)
    }

    @Test("an outbound event's line is the encoder's, whatever its parts, routes, statuses, strings and dates")
    func outboundLines() async {
        let (report, fast) = await Self.compare("outbound-event-json", Self.outbound, event: { .outbound($0) }, fast: ReplyEventJSON.line,
                                                mayFallBack: { $0.keyboard != nil || $0.error != nil })
        #expect(report.passed, "\(report)")
        #expect(fast * 2 > report.iterations, "the fast path wrote \(fast) of \(report.iterations) lines")
    }

    @Test("an agent event's line is the encoder's for every kind of turn event")
    func agentLines() async {
        let (report, fast) = await Self.compare("agent-event-json", Self.activity, event: { .agent($0) }, fast: ReplyEventJSON.line) { a in
            // Only turn events other than text are left to the encoder.
            guard case .event(let e) = a.kind else { return false }
            if case .textDelta = e { return false }
            return true
        }
        #expect(report.passed, "\(report)")
        #expect(fast * 3 > report.iterations * 2, "the fast path wrote \(fast) of \(report.iterations) lines")
    }
}
