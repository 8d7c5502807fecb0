/// Where a request goes: scheme, host and port. Connections are kept per origin.
struct HTTPOrigin: Hashable, Sendable {
    var secure: Bool
    var host: String
    var port: Int

    /// The `Host` header: the port only when it is not the scheme's own.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// Whether `host` is an IP address (TLS then sends no server name).
    var hostIsAddress: Bool {
        host.contains(":") || (!host.isEmpty && host.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber })
    }

    /// The origin and request target (path and query, at least "/") of an absolute `http` or `https`
    /// URL; nil for anything else: another scheme, no host, a bad port, user info, a fragment, a
    /// blank, a control, a non-ASCII character or one RFC 3986 leaves out (a URL carries those
    /// percent-encoded).
    static func split(_ url: String) -> (origin: HTTPOrigin, target: String)? {
        let utf8 = url.utf8
        let secure: Bool
        let schemeLength: Int
        if startsWithoutCase(utf8, "https://") { (secure, schemeLength) = (true, 8) }
        else if startsWithoutCase(utf8, "http://") { (secure, schemeLength) = (false, 7) }
        else { return nil }
        guard !utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) else { return nil }
        let start = utf8.index(utf8.startIndex, offsetBy: schemeLength)
        // "/", "?" or "#" ends the authority.
        let end = utf8[start...].firstIndex { $0 == 0x2F || $0 == 0x3F || $0 == 0x23 } ?? utf8.endIndex
        let authority = url[start..<end]
        let rest = url[end...]
        guard !authority.isEmpty, !authority.utf8.contains(0x40), !rest.utf8.contains(where: Self.notInTarget),
              Self.escapesAreWhole(url.utf8[start...]) else { return nil }
        var host = authority
        var port = secure ? 443 : 80
        if authority.utf8.first == 0x5B {
            // An IPv6 literal: [::1] or [::1]:8080.
            guard let close = authority.utf8.firstIndex(of: 0x5D) else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.utf8.first == 0x3A, let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            }
        } else if let colon = authority.utf8.lastIndex(of: 0x3A) {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
        }
        // A name (letters, digits, ".-_~", percent escapes) or, in brackets, an IPv6 address.
        let bracketed = authority.utf8.first == 0x5B
        guard !host.isEmpty, host.utf8.allSatisfy({ byte in
            switch byte {
            case 0x30...0x39, 0x41...0x46, 0x61...0x66, 0x2E: true
            case 0x3A: bracketed
            case 0x47...0x5A, 0x67...0x7A, 0x2D, 0x5F, 0x7E, 0x25: !bracketed
            default: false
            }
        }) else { return nil }
        let target = rest.isEmpty ? "/" : rest.utf8.first == 0x3F ? "/" + rest : String(rest)
        let name = host.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? host.lowercased() : String(host)
        return (HTTPOrigin(secure: secure, host: name, port: port), target)
    }

    /// `#` and what RFC 3986 leaves out of a path and a query (`"<>[\]^`{|}`): a URL carries them
    /// percent-encoded.
    private static func notInTarget(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x22, 0x23, 0x3C, 0x3E, 0x5B, 0x5C, 0x5D, 0x5E, 0x60, 0x7B, 0x7C, 0x7D: true
        default: false
        }
    }

    /// Whether every `%` is followed by two hex digits.
    private static func escapesAreWhole(_ bytes: Substring.UTF8View) -> Bool {
        var index = bytes.startIndex
        while let percent = bytes[index...].firstIndex(of: 0x25) {
            let digits = bytes[bytes.index(after: percent)...].prefix(2)
            guard digits.count == 2, digits.allSatisfy({ ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x66 || $0 >= 0x30 && $0 <= 0x39 }) else { return false }
            index = digits.endIndex
        }
        return true
    }

    /// Whether `bytes` starts with `prefix` (lowercase ASCII), in any case.
    private static func startsWithoutCase(_ bytes: String.UTF8View, _ prefix: StaticString) -> Bool {
        var index = bytes.startIndex
        for i in 0..<prefix.utf8CodeUnitCount {
            guard index != bytes.endIndex else { return false }
            let byte = bytes[index]
            guard byte | (byte >= 0x41 && byte <= 0x5A ? 0x20 : 0) == prefix.utf8Start[i] else { return false }
            index = bytes.index(after: index)
        }
        return true
    }
}
