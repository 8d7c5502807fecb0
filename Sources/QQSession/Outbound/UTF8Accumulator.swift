/// Decodes UTF-8 that arrives in arbitrary chunks (an agent's stdout, an HTTP body): a character
/// split across two chunks is held back until it is whole, never turned into two broken halves.
struct UTF8Accumulator: Sendable {
    private var pending: [UInt8] = []

    /// Bytes held back because they end in the middle of a character.
    var pendingCount: Int { pending.count }

    /// The text decodable from what has arrived so far; invalid bytes become U+FFFD.
    mutating func append(_ bytes: some Sequence<UInt8>) -> String {
        pending.append(contentsOf: bytes)
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Whatever is left (an incomplete character at the very end becomes U+FFFD).
    mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that does not end inside a multi-byte sequence.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Look back at most 3 bytes for the start of the last sequence.
        var i = n - 1
        var back = 0
        while i >= 0, back < 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {
                let needed: Int
                if b & 0x80 == 0 { needed = 1 }
                else if b & 0xE0 == 0xC0 { needed = 2 }
                else if b & 0xF0 == 0xE0 { needed = 3 }
                else if b & 0xF8 == 0xF0 { needed = 4 }
                else { return n }                      // invalid lead byte: let the decoder replace it
                return n - i >= needed ? n : i          // whole sequence, or cut before it
            }
            i -= 1
            back += 1
        }
        return n                                        // only continuation bytes: invalid, decode as is
    }
}
