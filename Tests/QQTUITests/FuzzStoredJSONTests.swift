import Foundation
import FuzzSupport
@testable import QQSession
import Testing

/// The JSON QQSession writes directly on every reply, against what JSONEncoder writes for the same
/// value: a reply's parts as the store keeps them (byte for byte), and request bodies (the same JSON
/// once read back; byte for byte where the keys are plain names).
@Suite("Fuzz: stored parts and request bodies written directly equal the encoder's", Fuzz.backstop)
struct FuzzStoredJSONTests {
    typealias Values = FuzzEventLineJSONTests

    @Test("a reply's parts are stored exactly as the store's encoder writes them")
    func storedParts() async {
        let report = await Fuzz.run("stored-parts-json", iterations: 3000) { c in
            let parts = (0..<c.rng.small(0...4)).map { _ in Values.part(&c.rng) }
            let fast = DirectJSON.parts(parts)
            c.input = fast
            let reference = StoreOp.json(parts) ?? "(the encoder failed)"
            c.check(fast == reference, "differs from the encoder:\nfast \(fast)\nref  \(reference)")
            let back = try? StoredMessage.decoder.decode([OutboundMessage.Part].self, from: Data(fast.utf8))
            c.check(back?.count == parts.count, "does not read back as \(parts.count) parts")
        }
        #expect(report.passed, "\(report)")
    }

    static let names = ["content", "msg_type", "msg_id", "msg_seq", "event_id", "markdown", "keyboard", "media", "file_info",
                        "srv_send_msg", "a", "b", "ab", "a_b", "b1", "b10", "b2"]

    static func value(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        switch rng.small(0...(depth > 2 ? 3 : 5)) {
        case 0: return .null
        case 1: return .bool(rng.chance(0.5))
        case 2:
            // Whole numbers the fast path writes, and the rest (fractions, 10^15 and up, NaN) that it leaves.
            if rng.chance(0.85) { return .number(Double(rng.pick([0, 1, -1, 1001, 999_999_999_999_999, -999_999_999_999_999, rng.small(-10...100_000)]))) }
            return .number(rng.pick([0.5, -0.25, 1e15, -1e15, 1e300, 3.14159, Double.nan, -0.0, .infinity]))
        case 3: return .string(Values.text(&rng))
        case 4: return .array((0..<rng.small(0...3)).map { _ in value(&rng, depth: depth + 1) })
        default: return .object(object(&rng, depth: depth + 1, plain: rng.chance(0.7)))
        }
    }

    static func object(_ rng: inout SplitMix64, depth: Int, plain: Bool) -> [String: JSONValue] {
        var o: [String: JSONValue] = [:]
        for _ in 0..<rng.small(0...5) { o[plain ? rng.pick(names) : Values.text(&rng)] = value(&rng, depth: depth) }
        return o
    }

    static func plainKeys(_ v: JSONValue) -> Bool {
        switch v {
        case .object(let o): return o.keys.allSatisfy { names.contains($0) } && o.values.allSatisfy(plainKeys)
        case .array(let a): return a.allSatisfy(plainKeys)
        default: return true
        }
    }

    @Test("a request body written directly is the encoder's JSON; it leaves only odd numbers to the encoder")
    func requestBodies() async {
        var written = 0
        let report = await Fuzz.run("request-body-json", iterations: 3000) { c in
            let body = Self.object(&c.rng, depth: 0, plain: c.rng.chance(0.7))
            let encoded = try? OutboundSender.encode(body)
            let reference = try? { () throws -> Data in
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                return try encoder.encode(body)
            }()
            guard let fast = DirectJSON.object(body) else {
                c.input = "\(body)"
                c.check(encoded == reference, "the encoder's fallback differs")
                return
            }
            written += 1
            c.input = fast
            c.check(encoded == Data(fast.utf8), "the body sent is not the one written")
            guard let reference else { return c.check(false, "written, but the encoder fails on it") }
            let decoder = JSONDecoder()
            c.check((try? decoder.decode(JSONValue.self, from: Data(fast.utf8))) == (try? decoder.decode(JSONValue.self, from: reference)),
                    "reads back differently:\nfast \(fast)\nref  \(String(decoding: reference, as: UTF8.self))")
            if Self.plainKeys(.object(body)) {
                c.check(fast == String(decoding: reference, as: UTF8.self),
                        "differs from the encoder:\nfast \(fast)\nref  \(String(decoding: reference, as: UTF8.self))")
            }
        }
        #expect(report.passed, "\(report)")
        #expect(written * 2 > report.iterations, "the fast path wrote \(written) of \(report.iterations) bodies")
    }
}
