import Foundation

extension Duration {
    /// Seconds as a Double (for arithmetic and JSON).
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    /// Milliseconds, rounded.
    public var milliseconds: Int { Int((seconds * 1000).rounded()) }

    /// `850ms`, `4.2s`, `3m05s`, `1h02m`: short enough for a status bar.
    public var shortDescription: String {
        let total = seconds
        if total < 1 { return "\(Int((total * 1000).rounded()))ms" }
        if total < 60 {
            let tenths = (total * 10).rounded() / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))s" : String(format: "%.1fs", tenths)
        }
        let whole = Int(total.rounded())
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }

    /// A duration from a Double number of seconds (negative values clamp to zero).
    public static func secondsDouble(_ value: Double) -> Duration {
        .milliseconds(Int64(max(0, value) * 1000))
    }
}
