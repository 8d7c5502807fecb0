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
        let summary = latencies.summary
        add("\(key) p50", summary.p50, "ms")
        add("\(key) p99", summary.p99, "ms", target: p99Target)
        add("\(key) max", summary.max, "ms")
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

    init(reservingCapacity n: Int = 0) { values.reserveCapacity(n) }

    init(_ values: [Double]) { self.values = values }

    mutating func append(_ ms: Double) { values.append(ms) }

    var count: Int { values.count }

    /// The order statistics a table shows, from one sort (zeros when empty).
    struct Summary: Sendable {
        var p50 = 0.0, p99 = 0.0, min = 0.0, max = 0.0
    }

    var summary: Summary {
        let ordered = values.sorted()
        guard let first = ordered.first, let last = ordered.last else { return Summary() }
        // Nearest rank.
        func rank(_ p: Double) -> Double {
            ordered[Swift.max(0, Swift.min(ordered.count - 1, Int((p / 100 * Double(ordered.count)).rounded(.up)) - 1))]
        }
        return Summary(p50: rank(50), p99: rank(99), min: first, max: last)
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
