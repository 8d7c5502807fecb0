/// A small deterministic random number generator (SplitMix64): the same seed gives the same numbers
/// on every machine and every run, which is what makes a chaos run replayable. Not for secrets.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator that starts from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `range`, without modulo bias. Computed here rather than with `Int.random(in:using:)`
    /// so that a seed replays the same run whatever the standard library's algorithm becomes.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(bitPattern: Int64(range.upperBound &- range.lowerBound)) &+ 1
        guard width != 0 else { return Int(truncatingIfNeeded: next()) }   // the whole Int range
        // Rejection keeps every value equally likely: drop draws from the incomplete last block.
        let limit = UInt64.max - UInt64.max % width
        var draw = next()
        while draw >= limit { draw = next() }
        return range.lowerBound &+ Int(truncatingIfNeeded: draw % width)
    }

    /// A number in [0, 1).
    public mutating func unit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// One element of a non-empty array.
    public mutating func pick<T>(_ items: [T]) -> T { items[int(in: 0...(items.count - 1))] }
}
