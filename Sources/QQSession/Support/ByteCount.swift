import Foundation

/// Sizes as people read them.
public enum ByteCount {
    /// `512 B`, `4 KiB`, `20 MiB`, `1.5 MiB`.
    public static func text(_ n: Int) -> String {
        if n < 1024 { return "\(n) B" }
        let units = ["KiB", "MiB", "GiB"]
        var value = Double(n) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        let text = value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
        return text + " " + units[unit]
    }
}
