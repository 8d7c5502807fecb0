import Foundation
import FuzzSupport
@testable import QQSession
import Testing

/// The narrow decoder of message frames (GatewayFrameScanner) against the full one (JSONDecoder), on
/// seeded random frames: whenever the narrow one answers, the full one gives exactly the same frame;
/// when the full one refuses a text, the narrow one never answers. (`QQTUI_FUZZ_SEED`,
/// `QQTUI_FUZZ_ITERATIONS`: see FuzzRun.)
@Suite("Fuzz: the narrow frame decoder equals the full one", Fuzz.backstop)
struct FuzzGatewayFrameScannerTests {
    /// Every field of a frame, nested, as text.
    static func describe(_ frame: GatewayFrame) -> String {
        var out = ""
        dump(frame, to: &out)
        return out
    }

    /// Checks the property on `text`; true when the narrow decoder answered.
    @discardableResult
    static func check(_ text: String, _ c: inout FuzzCase) -> Bool {
        let fast = GatewayFrameScanner.decode(text)
        let full = try? GatewayFrame.decode(Data(text.utf8))
        guard let fast else { return false }
        guard let full else {
            c.check(false, "the narrow decoder read a frame the full decoder refuses: \(describe(fast))")
            return true
        }
        c.check(describe(fast) == describe(full), "different frames:\nnarrow \(describe(fast))\nfull \(describe(full))")
        return true
    }

    @Test("valid message frames in any key order, with blanks, nulls and unknown fields: the plain ones are read narrowly, and identically")
    func validFrames() async {
        var taken = 0
        let report = await Fuzz.run("scanner-valid", iterations: 3000) { c in
            var model = MessageFrameModel.random(&c.rng)
            if c.rng.chance(0.7) {
                model.attachments = []
                model.mentions = []
                model.referencedID = nil
            }
            let json = Self.vary(model.json, &c.rng, depth: 0)
            let text = Self.write(json, &c.rng)
            c.input = text
            if Self.check(text, &c) { taken += 1 }
        }
        #expect(report.passed, "\(report)")
        // The property means something only if the narrow path is taken: most plain frames are.
        #expect(taken > 3000 / 4, "the narrow decoder answered only \(taken) of 3000")
    }

    @Test("mangled frames: the narrow decoder never answers differently, and never where the full one refuses")
    func mangledFrames() async {
        let report = await Fuzz.run("scanner-mangled", iterations: 3000) { c in
            let bytes: [UInt8]
            if c.rng.chance(0.5) {
                var model = MessageFrameModel.random(&c.rng)
                model.attachments = []
                model.mentions = []
                model.referencedID = nil
                bytes = Hostile.mutate(Array(model.json.text.utf8), &c.rng)
            } else {
                bytes = FuzzGatewayFrameTests.mangledFrame(&c.rng)
            }
            let text = String(decoding: bytes, as: UTF8.self)
            c.input = String(text.prefix(2000))
            Self.check(text, &c)
        }
        #expect(report.passed, "\(report)")
    }

    @Test("frames it leaves to the full decoder: other shapes, odd numbers and types, duplicate keys, lone surrogates, trailing text")
    func refusals() throws {
        let plain = #"{"op":0,"s":7,"t":"C2C_MESSAGE_CREATE","id":"E1","d":{"id":"M1","content":"你好 \u00e9\n\ud83d\ude00","timestamp":"2026-12-05T10:00:00+08:00","author":{"user_openid":"U1","bot":false},"attachments":[],"message_scene":{"source":"default","ext":[]}}}"#
        let fast = try #require(GatewayFrameScanner.decode(plain))
        guard case .message(let p) = fast.payload else { Issue.record("not a message"); return }
        #expect(p.content == "你好 é\n😀" && p.author.userOpenID == "U1" && fast.s == 7 && fast.id == "E1")
        #expect(Self.describe(fast) == Self.describe(try GatewayFrame.decode(Data(plain.utf8))))
        for text in [
            #"{"op":1.0,"t":"C2C_MESSAGE_CREATE","d":{"id":"M"}}"#,
            #"{"op":0,"s":"7","t":"C2C_MESSAGE_CREATE","d":{"id":"M"}}"#,
            #"{"op":0,"op":0,"t":"C2C_MESSAGE_CREATE","d":{"id":"M"}}"#,
            #"{"op":0,"t":"C2C_MESSAGE_CREATE","d":{"id":"M","id":"N"}}"#,
            #"{"op":0,"t":"C2C_MESSAGE_CREATE","d":{"id":"M","content":"\ud83d"}}"#,
            #"{"op":0,"t":"C2C_MESSAGE_CREATE","d":{"id":"M"}} x"#,
            #"{"op":0,"t":"C2C_MESSAGE_CREATE","d":{"id":"M","attachments":[{"url":"u"}]}}"#,
            #"{"op":0,"t":"GROUP_AT_MESSAGE_CREATE","d":{"id":"M","mentions":[{"is_you":true}]}}"#,
            #"{"op":0,"t":"READY","d":{"session_id":"S"}}"#,
            #"{"op":11}"#,
            #"{"op":0,"t":"C2C_MESSAGE_CREATE","d":{"id":"M","extra":01}}"#,
            #"{"op":0,"t":"C2C_MESSAGE_CREATE"}"#,
        ] {
            #expect(GatewayFrameScanner.decode(text) == nil, "\(text)")
        }
    }

    // MARK: - Variations of a valid frame

    /// Shuffled keys, some fields null, unknown fields with any JSON in them.
    static func vary(_ json: JSONText, _ rng: inout SplitMix64, depth: Int) -> JSONText {
        switch json {
        case .object(var members):
            members = members.map { key, value in
                let nullable = depth > 0 && ["content", "timestamp", "group_openid", "group_id", "message_type", "username",
                                             "member_role", "bot", "user_openid", "member_openid", "id"].contains(key)
                    && !(depth == 1 && key == "id")
                if nullable, rng.chance(0.1) { return (key, .null) }
                return (key, vary(value, &rng, depth: depth + 1))
            }
            if rng.chance(0.3) { members.append(("x_\(rng.small(0...99))", randomValue(&rng, depth: 0))) }
            if rng.chance(0.5) { members.shuffle(using: &rng) }
            return .object(members)
        case .array(let items):
            return .array(items.map { vary($0, &rng, depth: depth + 1) })
        default:
            return json
        }
    }

    static func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONText {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
        case 0: return .null
        case 1: return .bool(rng.chance(0.5))
        case 2: return .int(Int.random(in: -1_000_000...1_000_000, using: &rng))
        case 3: return .raw(rng.pick(["1.5", "-0.25e-3", "1E9", "0", "-0", "3.0"]))
        case 4: return .string(Hostile.string(&rng, maxLength: 20))
        case 5: return .array((0..<rng.small(0...3)).map { _ in randomValue(&rng, depth: depth + 1) })
        default: return .object((0..<rng.small(0...3)).map { ("k\($0)", randomValue(&rng, depth: depth + 1)) })
        }
    }

    /// The JSON text with random blanks between tokens.
    static func write(_ json: JSONText, _ rng: inout SplitMix64) -> String {
        func blank(_ rng: inout SplitMix64) -> String { rng.chance(0.8) ? "" : rng.pick([" ", "\n", "\t", "\r\n  "]) }
        switch json {
        case .object(let members):
            let inner = members.map { key, value in
                blank(&rng) + JSONText.string(key).text + blank(&rng) + ":" + blank(&rng) + write(value, &rng) + blank(&rng)
            }
            return "{" + inner.joined(separator: ",") + blank(&rng) + "}"
        case .array(let items):
            return "[" + items.map { blank(&rng) + write($0, &rng) + blank(&rng) }.joined(separator: ",") + blank(&rng) + "]"
        default:
            return json.text
        }
    }
}
