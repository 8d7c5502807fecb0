import Foundation
import FuzzSupport
@testable import QQSession
@testable import QQTUI
import Testing

/// `serve --json`'s hand-written line for message events against what JSONEncoder writes for the same
/// event (sorted keys, no escaped slashes, `.iso8601` dates), on seeded random messages: byte for byte.
@Suite("Fuzz: serve --json message lines equal the encoder's", Fuzz.backstop)
struct FuzzMessageEventJSONTests {
    /// The encoder `serve --json` used for every line before the fast path.
    static func reference(_ event: SessionEvent) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: (try? encoder.encode(event)) ?? Data(), as: UTF8.self)
    }

    static func date(_ rng: inout SplitMix64) -> Date {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return Date(timeIntervalSince1970: Double(Int.random(in: 1_700_000_000...1_900_000_000, using: &rng)))
        case 1: return Date(timeIntervalSince1970: Double.random(in: 1_700_000_000...1_900_000_000, using: &rng))
        case 2: return Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...4_000_000_000, using: &rng))
        default: return Date(timeIntervalSince1970: Double(Int.random(in: 0...3, using: &rng)) - 0.5)
        }
    }

    static func message(_ rng: inout SplitMix64) -> InboundMessage {
        func text(_ rng: inout SplitMix64) -> String {
            rng.chance(0.3) ? rng.pick(["a/b", "\"q\"", "back\\slash", "\u{1B}[31m", "\u{7F}\u{80}\u{2028}", "\t\n\r\u{08}\u{0C}\u{00}\u{1F}", "表情😀"])
                : Hostile.string(&rng, maxLength: rng.chance(0.05) ? 3000 : 40)
        }
        func maybe<T>(_ rng: inout SplitMix64, _ make: (inout SplitMix64) -> T) -> T? { rng.chance(0.6) ? make(&rng) : nil }
        let source = rng.pick([InboundMessage.Source.c2c, .groupAt, .group])
        let owner = text(&rng)
        return InboundMessage(
            id: text(&rng), eventID: maybe(&rng, text), conversation: source == .c2c ? .c2c(owner) : .group(text(&rng)), source: source,
            author: .init(openID: owner, role: maybe(&rng, text), isBot: rng.chance(0.2), username: maybe(&rng, text)),
            text: text(&rng), rawContent: text(&rng), timestamp: date(&rng), receivedAt: date(&rng), attachments: [],
            messageType: maybe(&rng) { Int.random(in: Int.min...Int.max, using: &$0) }, referencedMessageID: maybe(&rng, text),
            seq: maybe(&rng) { $0.small(-5...1_000_000) }, replyWindowEnds: date(&rng))
    }

    @Test("a message event's line is the encoder's, whatever its strings, numbers and dates")
    func messageLines() async {
        let report = await Fuzz.run("message-event-json", iterations: 3000) { c in
            let event = SessionEvent.message(Self.message(&c.rng))
            let fast = EventPrinter.jsonLine(event)
            c.input = fast
            c.check(MessageEventJSON.line({ if case .message(let m) = event { return m }; fatalError() }()) != nil, "the fast path was not taken")
            c.check(fast == Self.reference(event), "differs from the encoder:\nfast \(fast)\nref  \(Self.reference(event))")
        }
        #expect(report.passed, "\(report)")
    }

    @Test("other events keep the encoder's dates: ISO 8601 in UTC to the second, before 1970 and with fractions too")
    func dates() async {
        let report = await Fuzz.run("event-json-dates", iterations: 2000) { c in
            let notice = Notice(level: .info, kind: .duplicate, message: Hostile.string(&c.rng, maxLength: 20), at: Self.date(&c.rng))
            let line = EventPrinter.jsonLine(.notice(notice))
            c.input = line
            c.check(line == Self.reference(.notice(notice)), "differs from the encoder:\nfast \(line)\nref  \(Self.reference(.notice(notice)))")
        }
        #expect(report.passed, "\(report)")
    }
}
