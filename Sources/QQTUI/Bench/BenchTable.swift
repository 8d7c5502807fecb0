import Foundation

/// Benchmark results as an aligned text table or as JSON.
enum BenchTable {
    private struct Document: Codable {
        var machine: BenchMachine
        var results: [BenchResult]
    }

    static func text(_ results: [BenchResult], machine: BenchMachine) -> String {
        var lines = ["machine: \(machine.line)"]
        for result in results {
            lines.append("")
            lines.append("\(result.name): \(result.setup)")
            let keyWidth = result.metrics.map(\.key.count).max() ?? 0
            let values = result.metrics.map { BenchFormat.number($0.value) + " " + $0.unit }
            let valueWidth = values.map(\.count).max() ?? 0
            for (metric, value) in zip(result.metrics, values) {
                var line = "  " + metric.key.padding(toLength: keyWidth, withPad: " ", startingAt: 0)
                    + "  " + String(repeating: " ", count: valueWidth - value.count) + value
                if let target = metric.target { line += "   target \(target) " + (metric.met == true ? "✓" : "✗") }
                lines.append(line)
            }
            for note in result.notes { lines.append("  note: \(note)") }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ results: [BenchResult], machine: BenchMachine) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(Document(machine: machine, results: results))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ data: Data) throws -> [BenchResult] {
        try JSONDecoder().decode(Document.self, from: data).results
    }
}
