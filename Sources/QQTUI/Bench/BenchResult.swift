import Foundation

/// One benchmark's numbers, printed as a table or as JSON.
struct BenchResult: Codable, Sendable {
    /// `ingest`, `replies`, `stream`, `render`, `memory`.
    var name: String
    /// What was run, e.g. "100000 events, 1000 users, mixed C2C/group".
    var setup: String
    var metrics: [BenchMetric] = []
    /// Anything a reader must know to trust the numbers.
    var notes: [String] = []

    mutating func add(_ key: String, _ value: Double, _ unit: String, target: BenchTarget? = nil) {
        metrics.append(BenchMetric(key: key, value: value, unit: unit, target: target?.text,
                                   met: target.map { $0.isMet(by: value) }))
    }

    /// p50/p99/max of `latencies` (milliseconds) as three metrics named `<key> p50` etc.
    mutating func addLatency(_ key: String, _ latencies: LatencySample, p99Target: BenchTarget? = nil) {
        add("\(key) p50", latencies.percentile(50), "ms")
        add("\(key) p99", latencies.percentile(99), "ms", target: p99Target)
        add("\(key) max", latencies.max, "ms")
    }
}

/// A measured value.
struct BenchMetric: Codable, Sendable {
    var key: String
    var value: Double
    var unit: String
    /// The target, e.g. "≥ 100000".
    var target: String?
    /// Whether the value meets it.
    var met: Bool?
}

/// A goal a metric is compared with.
enum BenchTarget {
    case atLeast(Double)
    case atMost(Double)

    var text: String {
        switch self {
        case .atLeast(let v): return "≥ \(BenchFormat.number(v))"
        case .atMost(let v): return "≤ \(BenchFormat.number(v))"
        }
    }

    func isMet(by value: Double) -> Bool {
        switch self {
        case .atLeast(let v): return value >= v
        case .atMost(let v): return value <= v
        }
    }
}

/// Latencies in milliseconds.
struct LatencySample: Sendable {
    private(set) var values: [Double] = []
    private var sorted = true

    init(reservingCapacity n: Int = 0) { values.reserveCapacity(n) }

    mutating func append(_ ms: Double) {
        if let last = values.last, ms < last { sorted = false }
        values.append(ms)
    }

    var count: Int { values.count }
    var max: Double { values.max() ?? 0 }

    /// Nearest-rank percentile (0 when empty).
    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let ordered = sorted ? values : values.sorted()
        let rank = Int((p / 100 * Double(ordered.count)).rounded(.up))
        return ordered[Swift.max(0, Swift.min(ordered.count - 1, rank - 1))]
    }
}

/// Number formatting shared by the table.
enum BenchFormat {
    static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        if abs(v) >= 100 { return String(format: "%.0f", v) }
        if abs(v) >= 10 { return String(format: "%.1f", v) }
        return String(format: "%.2f", v)
    }
}

/// CLOCK_REALTIME in nanoseconds (the simulator stamps its messages with the same clock).
func wallNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
