import Foundation

/// Strict JSON reading over UTF-8 bytes, for the narrow decoders of hot shapes (a gateway message
/// frame, a send's answer): each reader gives up (nil or false) on anything unusual, and the caller
/// then uses Foundation's full decoder, which decides. Fuzzed against the full decoders in the suite.
struct JSONScanner: ~Copyable {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    /// Nesting allowed in skipped values before giving up.
    static let maxDepth = 64

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    // MARK: - Whole values

    /// `data` as one JSON value (blanks around it allowed), or nil when the full decoder must decide:
    /// invalid JSON or UTF-8, a duplicate key, a number that is not a plain integer below 9e15 or is
    /// `-0`, nesting deeper than ``maxDepth``. Equal to what `JSONDecoder` makes of it otherwise.
    static func value(_ data: Data) -> JSONValue? {
        data.withUnsafeBytes { raw -> JSONValue? in
            let bytes = raw.bindMemory(to: UInt8.self)
            // Strings are cut from the bytes as they are: anything beyond ASCII must be valid UTF-8.
            if bytes.contains(where: { $0 >= 0x80 }), String(validating: bytes, as: UTF8.self) == nil { return nil }
            var scanner = JSONScanner(bytes)
            scanner.skipSpace()
            guard let value = scanner.value(depth: 0) else { return nil }
            scanner.skipSpace()
            return scanner.i == bytes.count ? value : nil
        }
    }

    /// The value at the cursor, as ``value(_:)`` reads it.
    mutating func value(depth: Int) -> JSONValue? {
        guard depth < Self.maxDepth, let c = peek() else { return nil }
        switch c {
        case UInt8(ascii: "\""):
            return string().map(JSONValue.string)
        case UInt8(ascii: "{"):
            var object: [String: JSONValue] = [:]
            let read = members { s, key in
                guard let v = s.value(depth: depth + 1) else { return false }
                object[key] = v
                return true
            }
            return read ? .object(object) : nil
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            if consume(UInt8(ascii: "]")) { return .array([]) }
            var array: [JSONValue] = []
            while true {
                skipSpace()
                guard let v = value(depth: depth + 1) else { return nil }
                array.append(v)
                skipSpace()
                if consume(UInt8(ascii: "]")) { return .array(array) }
                guard consume(UInt8(ascii: ",")) else { return nil }
            }
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            return boolean().map(JSONValue.bool)
        case UInt8(ascii: "n"):
            return literal("null") ? .null : nil
        default:
            let negative = c == UInt8(ascii: "-")
            guard let n = integer(), n.magnitude < 9_000_000_000_000_000, !(negative && n == 0) else { return nil }
            return .number(Double(n))
        }
    }

    // MARK: - Values

    /// An object at the cursor: `value` reads each member's value (the cursor on it) and says whether
    /// it was fine. False for a broken object, a duplicate key or a value `value` refused.
    mutating func members(_ value: (inout JSONScanner, String) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        var seen = Set<String>()
        var first = true
        while true {
            skipSpace()
            if consume(UInt8(ascii: "}")) { return true }
            if !first { guard consume(UInt8(ascii: ",")) else { return false }; skipSpace() }
            first = false
            guard let key = string(), begin(UInt8(ascii: ":")), seen.insert(key).inserted else { return false }
            skipSpace()
            guard value(&self, key) else { return false }
        }
    }

    /// `null` (→ .some(nil)) or what `parse` reads (→ .some(value)); nil when neither.
    mutating func optional<T>(_ parse: (inout JSONScanner) -> T?) -> T?? {
        if peek() == UInt8(ascii: "n") { return literal("null") ? .some(nil) : nil }
        guard let v = parse(&self) else { return nil }
        return .some(v)
    }

    mutating func emptyArrayOrNull() -> Bool {
        if peek() == UInt8(ascii: "n") { return literal("null") }
        guard consume(UInt8(ascii: "[")) else { return false }
        skipSpace()
        return consume(UInt8(ascii: "]"))
    }

    mutating func boolean() -> Bool? {
        if peek() == UInt8(ascii: "t") { return literal("true") ? true : nil }
        if peek() == UInt8(ascii: "f") { return literal("false") ? false : nil }
        return nil
    }

    /// A plain JSON integer (`-?(0|[1-9][0-9]*)`, no fraction or exponent) that fits an Int.
    mutating func integer() -> Int? {
        let negative = consume(UInt8(ascii: "-"))
        guard let d0 = digit() else { return nil }
        if d0 == 0, digit(peekOnly: true) != nil { return nil }
        // Accumulated below zero, so Int.min fits.
        var value = -d0
        while let d = digit() {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.subtractingReportingOverflow(d)
            guard !o1, !o2 else { return nil }
            value = a
        }
        if let c = peek(), c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { return nil }
        if negative { return value }
        return value == Int.min ? nil : -value
    }

    mutating func digit(peekOnly: Bool = false) -> Int? {
        guard let c = peek(), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
        if !peekOnly { i += 1 }
        return Int(c - UInt8(ascii: "0"))
    }

    /// A JSON string: escapes decoded, surrogate pairs joined; nil for a raw control character, a bad
    /// escape or a lone surrogate.
    mutating func string() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = i
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") { return escapedString(from: start) }
            if c < 0x20 { return nil }
            i += 1
        }
        return nil
    }

    mutating func escapedString(from start: Int) -> String? {
        var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; return String(decoding: out, as: UTF8.self) }
            if c < 0x20 { return nil }
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            i += 1
            guard let e = peek() else { return nil }
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard let unit = hex4() else { return nil }
                var scalar = UInt32(unit)
                if (0xD800...0xDBFF).contains(unit) {
                    guard consume(UInt8(ascii: "\\")), consume(UInt8(ascii: "u")), let low = hex4(),
                          (0xDC00...0xDFFF).contains(low) else { return nil }
                    scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(unit) {
                    return nil
                }
                guard let s = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: UTF8.encode(s).map { Array($0) } ?? [])
            default: return nil
            }
        }
        return nil
    }

    mutating func hex4() -> UInt16? {
        guard i + 4 <= bytes.count else { return nil }
        var v: UInt16 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt16(d)
            i += 1
        }
        return v
    }

    /// Any JSON value, checked strictly (the full decoder refuses the whole frame for a bad one).
    mutating func skipValue(depth: Int) -> Bool {
        guard depth < Self.maxDepth, let c = peek() else { return false }
        switch c {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "{"):
            i += 1
            skipSpace()
            if consume(UInt8(ascii: "}")) { return true }
            while true {
                skipSpace()
                guard string() != nil, begin(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
                if consume(UInt8(ascii: "}")) { return true }
                guard consume(UInt8(ascii: ",")) else { return false }
            }
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            if consume(UInt8(ascii: "]")) { return true }
            while true {
                skipSpace()
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
                if consume(UInt8(ascii: "]")) { return true }
                guard consume(UInt8(ascii: ",")) else { return false }
            }
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    /// A JSON number (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`).
    mutating func number() -> Bool {
        if peek() == UInt8(ascii: "-") { i += 1 }
        guard let d0 = digit() else { return false }
        if d0 != 0 { while digit() != nil {} }
        if peek() == UInt8(ascii: ".") {
            i += 1
            guard digit() != nil else { return false }
            while digit() != nil {}
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            i += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { i += 1 }
            guard digit() != nil else { return false }
            while digit() != nil {}
        }
        return true
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard i + count <= bytes.count else { return false }
        let p = word.utf8Start
        for k in 0..<count where bytes[i + k] != p[k] { return false }
        i += count
        return true
    }

    // MARK: - Bytes

    func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    mutating func consume(_ c: UInt8) -> Bool {
        guard peek() == c else { return false }
        i += 1
        return true
    }

    /// Skips blanks, then consumes `c`.
    mutating func begin(_ c: UInt8) -> Bool {
        skipSpace()
        return consume(c)
    }

    mutating func skipSpace() {
        while let c = peek(), c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 }
    }
}
