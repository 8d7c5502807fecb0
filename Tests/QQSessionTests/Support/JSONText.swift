import FuzzSupport

/// JSON written by hand for fuzzing: exact integers of any size, raw (even invalid) tokens, keys in
/// a chosen order and possibly repeated — what a JSON encoder would never produce.
enum JSONText: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    /// Written as is: odd numbers, cut escapes, anything.
    case raw(String)
    case array([JSONText])
    case object([(String, JSONText)])

    /// The JSON text.
    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let n): out += String(n)
        case .string(let s): Self.quote(s, into: &out)
        case .raw(let r): out += r
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// A JSON string literal: `"` and `\` escaped, controls as `\u00XX`, everything else as UTF-8.
    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Valid JSON numbers that do not fit an Int or a Double exactly (or at all).
    static let numbers = ["-0", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
                          "1e308", "1e309", "-1e400", "1.5", "1E2", "0.0000000001", "123456789012345678901234567890", "4.0"]

    /// A field of an object, if present (the last one wins, like the decoder).
    subscript(key: String) -> JSONText? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }

    /// Any JSON value up to `depth` levels deep, strings and numbers hostile.
    static func random<R: RandomNumberGenerator>(_ rng: inout R, depth: Int = 3) -> JSONText {
        switch Int.random(in: 0..<(depth > 0 ? 9 : 6), using: &rng) {
        case 0: return .null
        case 1: return .bool(rng.chance(0.5))
        case 2: return .int(rng.chance(0.5) ? rng.small(-5...100_000) : Int.random(in: .min ... .max, using: &rng))
        case 3: return .raw(rng.pick(numbers))
        case 4: return .string(Hostile.string(&rng))
        case 5: return .raw("\"" + rng.pick(Hostile.jsonEscapes) + "\"")
        case 6, 7:
            return .array((0..<rng.small(0...4)).map { _ in random(&rng, depth: depth - 1) })
        default:
            return .object((0..<rng.small(0...4)).map { _ in (Hostile.string(&rng, maxLength: 8), random(&rng, depth: depth - 1)) })
        }
    }

    /// `levels` arrays or objects inside each other around `inner`.
    static func nested(_ levels: Int, objects: Bool, around inner: String = "1") -> String {
        let open = objects ? #"{"a":"# : "["
        let close = objects ? "}" : "]"
        return String(repeating: open, count: levels) + inner + String(repeating: close, count: levels)
    }
}
