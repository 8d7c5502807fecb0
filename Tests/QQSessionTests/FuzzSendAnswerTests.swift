import Foundation
import FuzzSupport
@testable import QQSession
import Testing

/// The narrow reading of the platform's answers (JSONScanner.value) against the full one
/// (JSONDecoder into JSONValue), and the REST client's checks on an answer read narrowly against its
/// checks on the raw bytes, on seeded random answers: the same value, the same error, or the narrow
/// reader steps aside. (`QQTUI_FUZZ_SEED`, `QQTUI_FUZZ_ITERATIONS`: see FuzzRun.)
@Suite("Fuzz: the narrow answer reader equals the full one", Fuzz.backstop)
struct FuzzSendAnswerTests {
    /// Checks the property on `bytes`; true when the narrow reader answered.
    @discardableResult
    static func check(_ bytes: [UInt8], _ c: inout FuzzCase) -> Bool {
        let data = Data(bytes)
        let full = try? JSONDecoder().decode(JSONValue.self, from: data)
        guard let fast = JSONScanner.value(data) else { return false }
        c.check(full != nil, "the narrow reader read \(fast) where the full decoder refuses")
        if let full { c.check(fast == full, "different values:\nnarrow \(fast)\nfull \(full)") }
        return true
    }

    /// What the platform answers: a send's acceptance, an error body, or any JSON.
    static func answer(_ rng: inout SplitMix64) -> JSONText {
        switch rng.small(0...3) {
        case 0:
            var members: [(String, JSONText)] = [("id", .string("ROBOT1.0_" + Hostile.string(&rng, maxLength: 24))),
                                                 ("timestamp", rng.chance(0.5) ? .string("2026-12-05T10:00:00+08:00") : .int(1_796_477_680))]
            if rng.chance(0.3) { members.append(("ext_info", .object([("ref_idx", .string("REFIDX_" + Hostile.string(&rng, maxLength: 8)))]))) }
            return .object(members)
        case 1:
            var members: [(String, JSONText)] = [("message", .string(Hostile.string(&rng, maxLength: 30))),
                                                 ("code", rng.chance(0.8) ? .int(rng.pick([0, 11244, 40054005, 22009, -1])) : .raw("1.5")),
                                                 ("trace_id", .string(Hostile.string(&rng, maxLength: 12)))]
            if rng.chance(0.5) { members.append(("err_code", .int(rng.pick([0, 40034012, 304003])))) }
            return .object(members)
        case 2:
            return FuzzGatewayFrameScannerTests.randomValue(&rng, depth: 0)
        default:
            return .object((0..<rng.small(0...4)).map { ("k\($0)", FuzzGatewayFrameScannerTests.randomValue(&rng, depth: 1)) })
        }
    }

    @Test("valid answers with blanks, nested values, escapes and odd numbers: the plain ones are read narrowly, and identically")
    func validAnswers() async {
        var taken = 0
        let report = await Fuzz.run("answer-valid", iterations: 3000) { c in
            let json = FuzzGatewayFrameScannerTests.vary(Self.answer(&c.rng), &c.rng, depth: 1)
            let text = FuzzGatewayFrameScannerTests.write(json, &c.rng)
            c.input = text
            if Self.check(Array(text.utf8), &c) { taken += 1 }
        }
        #expect(report.passed, "\(report)")
        #expect(taken > 3000 / 4, "the narrow reader answered only \(taken) of 3000")
    }

    @Test("mangled answers and random bytes (invalid UTF-8 too): never a different value, never one the full decoder refuses")
    func mangledAnswers() async {
        let report = await Fuzz.run("answer-mangled", iterations: 3000) { c in
            let bytes = c.rng.chance(0.8)
                ? Hostile.mutate(Array(FuzzGatewayFrameScannerTests.write(Self.answer(&c.rng), &c.rng).utf8), &c.rng)
                : Hostile.bytes(&c.rng)
            c.input = String(decoding: bytes.prefix(400), as: UTF8.self)
            Self.check(bytes, &c)
        }
        #expect(report.passed, "\(report)")
    }

    /// What the REST client makes of an answer: the JSON value, or the error's description.
    static func outcome(_ body: () throws -> JSONValue?) -> String {
        do { return "value \(String(describing: try body()))" } catch { return "error \(error)" }
    }

    @Test("the REST client's checks on an answer read once equal its checks on the raw body: status, content type, error codes, the value")
    func validation() async {
        var taken = 0
        let report = await Fuzz.run("answer-validate", iterations: 3000) { c in
            var bytes = Array(FuzzGatewayFrameScannerTests.write(Self.answer(&c.rng), &c.rng).utf8)
            if c.rng.chance(0.2) { bytes = Hostile.mutate(bytes, &c.rng) }
            let result = HTTPResult(status: c.rng.pick([200, 200, 201, 202, 204, 400, 401, 404, 500]),
                                    contentType: c.rng.pick([nil, "application/json", "application/json; charset=utf-8", "text/html"]),
                                    traceID: c.rng.chance(0.5) ? "T-header" : nil, contentLength: nil, body: Data(bytes))
            c.input = "\(result.status) \(result.contentType ?? "-") \(String(decoding: bytes.prefix(300), as: UTF8.self))"
            guard let json = JSONScanner.value(result.body) else { return }
            taken += 1
            let full = Self.outcome {
                let data = try RESTClient.validate(result, context: "fuzz")
                return try? JSONDecoder().decode(JSONValue.self, from: data)
            }
            let narrow = Self.outcome { try RESTClient.validate(result, json: json, context: "fuzz") }
            c.check(full == narrow, "different outcomes:\nfull   \(full)\nnarrow \(narrow)")
        }
        #expect(report.passed, "\(report)")
        #expect(taken > 3000 / 2, "the narrow reader answered only \(taken) of 3000")
    }

    @Test("answers it leaves to the full decoder: fractions, exponents, -0, huge numbers, duplicate keys, bad UTF-8, trailing text")
    func refusals() throws {
        let plain = Data(#" {"id":"ROBOT1.0_A\u00e9\ud83d\ude00","timestamp":1796477680,"ext_info":{"ref_idx":"R1"},"ok":true,"none":null,"list":[1,-2,"x"]} "#.utf8)
        let fast = try #require(JSONScanner.value(plain))
        #expect(fast == (try JSONDecoder().decode(JSONValue.self, from: plain)))
        #expect(fast["id"]?.stringValue == "ROBOT1.0_Aé😀" && fast["timestamp"]?.intValue == 1_796_477_680)
        for text in [#"{"code":1.5}"#, #"{"code":1e3}"#, #"{"code":-0}"#, #"{"code":12345678901234567890}"#,
                     #"{"code":9000000000000001}"#, #"{"id":"a","id":"b"}"#, #"{"id":"a"} x"#, #"{"id":"\ud83d"}"#,
                     #"{"id":01}"#, #"{"id":"a",}"#, "", "   "] {
            #expect(JSONScanner.value(Data(text.utf8)) == nil, "\(text)")
        }
        #expect(JSONScanner.value(Data([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D])) == nil, "invalid UTF-8 inside a string")
    }
}
