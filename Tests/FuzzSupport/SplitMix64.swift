/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seedable generator. The same seed gives the same
/// sequence on every machine and toolchain, which is what makes a fuzz failure reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state.
    public private(set) var state: UInt64

    /// A generator that starts at `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// SplitMix64's output function: spreads any 64-bit value over all bits (also used to derive seeds).
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A stable 64-bit hash of `text` (FNV-1a), for a default seed per test name.
    public static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return h
    }
}

extension RandomNumberGenerator {
    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }

    /// A uniformly chosen element (`items` must not be empty).
    public mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &self)] }

    /// An integer in `range`, small values much more likely (lengths, depths, counts).
    public mutating func small(_ range: ClosedRange<Int>) -> Int {
        let span = range.upperBound - range.lowerBound
        guard span > 0 else { return range.lowerBound }
        // Pick a magnitude first, then a value below it: 1, 10 and 1000 are about equally likely.
        let bits = Int.random(in: 0...(Int.bitWidth - span.leadingZeroBitCount), using: &self)
        let limit = bits >= Int.bitWidth - 1 ? span : min(span, (1 << bits) - 1)
        return range.lowerBound + Int.random(in: 0...max(0, limit), using: &self)
    }
}
