import Foundation

/// JSON written directly for the few shapes every message and reply writes many times: strings, a
/// reply's parts (stored with each of its states) and request bodies. The same text `JSONEncoder`
/// writes with sorted keys, no escaped slashes and ISO 8601 dates to the second (the fuzz tests hold
/// both side by side); a value it cannot write the same way is left to the encoder.
public enum DirectJSON {
    /// `s` as a JSON string, quotes included: `"`, `\` and control characters escaped as the encoder does.
    public static func string(_ s: String, into out: inout String) {
        out += "\""
        var plain = true
        for b in s.utf8 where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            out += s
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// A date as the encoder's `.iso8601` strategy writes it, quoted.
    public static func date(_ d: Date, into out: inout String) {
        out += "\""; out += ISO8601Seconds.string(d); out += "\""
    }

    /// An enum case as the encoder writes it: `{"name":{}}`, or `{"name":{"reason":"…"}}`.
    public static func tagged(_ name: String, reason: String? = nil, into out: inout String) {
        out += #"{""#; out += name; out += #"":{"#
        if let reason { out += #""reason":"#; string(reason, into: &out) }
        out += "}}"
    }

    /// A reply's parts, as stored in its row and printed in its `outbound` line.
    public static func parts(_ parts: [OutboundMessage.Part]) -> String {
        var out = ""
        out.reserveCapacity(parts.count * 260)
        Self.parts(parts, into: &out)
        return out
    }

    public static func parts(_ parts: [OutboundMessage.Part], into out: inout String) {
        out += "["
        for (i, part) in parts.enumerated() {
            if i > 0 { out += "," }
            self.part(part, into: &out)
        }
        out += "]"
    }

    private static func part(_ p: OutboundMessage.Part, into out: inout String) {
        out += #"{"attempts":"#; out += String(p.attempts)
        out += #","index":"#; out += String(p.index)
        if let seq = p.msgSeq { out += #","msgSeq":"#; out += String(seq) }
        if let id = p.qqMessageID { out += #","qqMessageID":"#; string(id, into: &out) }
        if let route = p.route {
            out += #","route":"#
            switch route {
            case .passive(let id, let ends, let left), .passiveEvent(let id, let ends, let left):
                if case .passive = route { out += #"{"passive":{"msgID":"# } else { out += #"{"passiveEvent":{"eventID":"# }
                string(id, into: &out)
                out += #","repliesLeft":"#; out += String(left)
                out += #","windowEnds":"#; date(ends, into: &out); out += "}}"
            case .proactive: tagged("proactive", into: &out)
            case .refused(let reason): tagged("refused", reason: reason, into: &out)
            }
        }
        if let size = p.size { out += #","size":"#; out += String(size) }
        out += #","status":"#
        switch p.status {
        case .pending: tagged("pending", into: &out)
        case .sending: tagged("sending", into: &out)
        case .sent: tagged("sent", into: &out)
        case .failed(let reason): tagged("failed", reason: reason, into: &out)
        case .skipped: tagged("skipped", into: &out)
        }
        out += #","text":"#; string(p.text, into: &out)
        if let uploaded = p.uploaded { out += #","uploaded":"#; out += String(uploaded) }
        out += "}"
    }

    /// A request body (keys in code-point order), or nil when a number in it is not a whole one
    /// below 10^15 (the encoder formats those).
    public static func object(_ body: [String: JSONValue]) -> String? {
        var out = ""
        out.reserveCapacity(128)
        return value(.object(body), into: &out) ? out : nil
    }

    private static func value(_ v: JSONValue, into out: inout String) -> Bool {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n):
            // JSONValue writes these as Int64 (see its encode(to:)); anything else has the encoder's own format.
            guard n == n.rounded(), abs(n) < 1e15 else { return false }
            out += String(Int64(n))
        case .string(let s): string(s, into: &out)
        case .array(let a):
            out += "["
            for (i, e) in a.enumerated() {
                if i > 0 { out += "," }
                guard value(e, into: &out) else { return false }
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                string(key, into: &out)
                out += ":"
                guard value(o[key]!, into: &out) else { return false }
            }
            out += "}"
        }
        return true
    }
}
