/// A narrow decoder for the one frame shape that arrives by the thousand: a message dispatch
/// (`C2C_MESSAGE_CREATE`, `GROUP_AT_MESSAGE_CREATE`, `GROUP_MESSAGE_CREATE`) with plain fields, no
/// attachments, mentions or quote. It reads the UTF-8 bytes once, builds the same ``GatewayFrame``
/// the full decoder would, and gives up (nil) on anything else or anything unusual: another frame, a
/// field of an unexpected type, a duplicate key, a number that is not a plain integer, a lone
/// surrogate, invalid JSON anywhere. The caller then uses the full decoder, which decides.
/// GatewayFrameScannerTests fuzz it against the full decoder.
struct GatewayFrameScanner: ~Copyable {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    /// Nesting allowed in skipped values before giving up.
    private static let maxDepth = 64

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The frame, or nil when the full decoder must decide.
    static func decode(_ text: String) -> GatewayFrame? {
        var text = text
        return text.withUTF8 { buffer in
            var scanner = GatewayFrameScanner(buffer)
            return scanner.frame()
        }
    }

    // MARK: - The envelope

    private mutating func frame() -> GatewayFrame? {
        var op: Int?, seq: Int??, t: String??, id: String??, dStart: Int?
        skipSpace()
        let read = members { s, key in
            switch key {
            case "op":
                guard let v = s.integer() else { return false }
                op = v
            case "s":
                guard let v = s.optional({ $0.integer() }) else { return false }
                seq = .some(v)
            case "t":
                guard let v = s.optional({ $0.string() }) else { return false }
                t = .some(v)
            case "id":
                guard let v = s.optional({ $0.string() }) else { return false }
                id = .some(v)
            case "d":
                dStart = s.i
                return s.skipValue(depth: 0)
            default:
                return s.skipValue(depth: 0)
            }
            return true
        }
        guard read else { return nil }
        skipSpace()
        guard i == bytes.count, op == GatewayOpcode.dispatch, let type = t ?? nil,
              GatewayFrame.messageTypes.contains(type), let dStart else { return nil }
        i = dStart
        guard let payload = message() else { return nil }
        return GatewayFrame(op: GatewayOpcode.dispatch, s: seq ?? nil, t: type, id: id ?? nil, payload: .message(payload))
    }

    // MARK: - A message's `d`

    private mutating func message() -> MessagePayload? {
        var id: String?, content: String??, timestamp: String??, author: MessagePayload.Author??
        var groupOpenID: String??, groupID: String??, messageType: Int??
        let read = members { s, key in
            switch key {
            case "id": guard let v = s.string() else { return false }; id = v
            case "content": guard let v = s.optional({ $0.string() }) else { return false }; content = .some(v)
            case "timestamp": guard let v = s.optional({ $0.string() }) else { return false }; timestamp = .some(v)
            case "author": guard let v = s.optional({ $0.author() }) else { return false }; author = .some(v)
            case "group_openid": guard let v = s.optional({ $0.string() }) else { return false }; groupOpenID = .some(v)
            case "group_id": guard let v = s.optional({ $0.string() }) else { return false }; groupID = .some(v)
            case "message_type": guard let v = s.optional({ $0.integer() }) else { return false }; messageType = .some(v)
            // Only none at all: anything in them goes to the full decoder.
            case "attachments", "mentions": return s.emptyArrayOrNull()
            case "message_reference": return s.literal("null")
            default: return s.skipValue(depth: 1)
            }
            return true
        }
        guard read else { return nil }
        guard let id else { return nil }
        let noAuthor = MessagePayload.Author(id: nil, userOpenID: nil, memberOpenID: nil, unionOpenID: nil, username: nil, bot: nil, memberRole: nil)
        return MessagePayload(id: id, content: (content ?? nil) ?? "", timestamp: timestamp ?? nil, author: (author ?? nil) ?? noAuthor,
                              attachments: [], groupOpenID: groupOpenID ?? nil, groupID: groupID ?? nil,
                              messageType: messageType ?? nil, mentions: [], referencedMessageID: nil)
    }

    private mutating func author() -> MessagePayload.Author? {
        var a = MessagePayload.Author(id: nil, userOpenID: nil, memberOpenID: nil, unionOpenID: nil, username: nil, bot: nil, memberRole: nil)
        let read = members { s, key in
            switch key {
            case "id": guard let v = s.optional({ $0.string() }) else { return false }; a.id = v
            case "user_openid": guard let v = s.optional({ $0.string() }) else { return false }; a.userOpenID = v
            case "member_openid": guard let v = s.optional({ $0.string() }) else { return false }; a.memberOpenID = v
            case "union_openid": guard let v = s.optional({ $0.string() }) else { return false }; a.unionOpenID = v
            case "username": guard let v = s.optional({ $0.string() }) else { return false }; a.username = v
            case "member_role": guard let v = s.optional({ $0.string() }) else { return false }; a.memberRole = v
            case "bot": guard let v = s.optional({ $0.boolean() }) else { return false }; a.bot = v
            default: return s.skipValue(depth: 2)
            }
            return true
        }
        guard read else { return nil }
        return a
    }

    // MARK: - Values

    /// An object at the cursor: `value` reads each member's value (the cursor on it) and says whether
    /// it was fine. False for a broken object, a duplicate key or a value `value` refused.
    private mutating func members(_ value: (inout GatewayFrameScanner, String) -> Bool) -> Bool {
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
    private mutating func optional<T>(_ parse: (inout GatewayFrameScanner) -> T?) -> T?? {
        if peek() == UInt8(ascii: "n") { return literal("null") ? .some(nil) : nil }
        guard let v = parse(&self) else { return nil }
        return .some(v)
    }

    private mutating func emptyArrayOrNull() -> Bool {
        if peek() == UInt8(ascii: "n") { return literal("null") }
        guard consume(UInt8(ascii: "[")) else { return false }
        skipSpace()
        return consume(UInt8(ascii: "]"))
    }

    private mutating func boolean() -> Bool? {
        if peek() == UInt8(ascii: "t") { return literal("true") ? true : nil }
        if peek() == UInt8(ascii: "f") { return literal("false") ? false : nil }
        return nil
    }

    /// A plain JSON integer (`-?(0|[1-9][0-9]*)`, no fraction or exponent) that fits an Int.
    private mutating func integer() -> Int? {
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

    private mutating func digit(peekOnly: Bool = false) -> Int? {
        guard let c = peek(), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
        if !peekOnly { i += 1 }
        return Int(c - UInt8(ascii: "0"))
    }

    /// A JSON string: escapes decoded, surrogate pairs joined; nil for a raw control character, a bad
    /// escape or a lone surrogate.
    private mutating func string() -> String? {
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

    private mutating func escapedString(from start: Int) -> String? {
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

    private mutating func hex4() -> UInt16? {
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
    private mutating func skipValue(depth: Int) -> Bool {
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
    private mutating func number() -> Bool {
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

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard i + count <= bytes.count else { return false }
        let p = word.utf8Start
        for k in 0..<count where bytes[i + k] != p[k] { return false }
        i += count
        return true
    }

    // MARK: - Bytes

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func consume(_ c: UInt8) -> Bool {
        guard peek() == c else { return false }
        i += 1
        return true
    }

    /// Skips blanks, then consumes `c`.
    private mutating func begin(_ c: UInt8) -> Bool {
        skipSpace()
        return consume(c)
    }

    private mutating func skipSpace() {
        while let c = peek(), c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 }
    }
}
