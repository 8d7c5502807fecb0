import Foundation
import Synchronization

/// `2026-12-05T01:53:00Z`: what `JSONEncoder.DateEncodingStrategy.iso8601` writes (UTC, whole seconds,
/// fractions dropped), made without a format style and remembered for the last few seconds asked
/// (events come many to a second, and a message line holds three dates: when it was sent, when it
/// arrived and when its reply window closes, an hour later).
public enum ISO8601Seconds {
    private static let recent = Mutex<(slots: [(second: Int64, text: String)], next: Int)>(
        (Array(repeating: (Int64.min, ""), count: 4), 0))

    public static func string(_ date: Date) -> String {
        let second = Int64(date.timeIntervalSince1970.rounded(.down))
        if let hit = recent.withLock({ r in r.slots.first { $0.second == second }?.text }) { return hit }
        var t = time_t(second)
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil, parts.tm_year + 1900 >= 0, parts.tm_year + 1900 <= 9999 else {
            return date.formatted(.iso8601)
        }
        let text = pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2) + "Z"
        recent.withLock { r in
            r.slots[r.next] = (second, text)
            r.next = (r.next + 1) % r.slots.count
        }
        return text
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
