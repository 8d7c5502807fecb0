import Foundation

/// Where and when a benchmark ran: printed above the table and included in the JSON.
struct BenchMachine: Codable, Sendable {
    var cpu: String
    var cores: Int
    var memoryGB: Double
    var os: String
    var build: String
    var date: String

    static func current() -> BenchMachine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let release = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("PRETTY_NAME=") }
            .map { $0.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "Linux"
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return BenchMachine(cpu: model, cores: ProcessInfo.processInfo.activeProcessorCount,
                            memoryGB: (Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824 * 10).rounded() / 10,
                            os: release, build: build, date: formatter.string(from: Date()))
    }

    var line: String { "\(cpu), \(cores) cores, \(BenchFormat.number(memoryGB)) GB, \(os), \(build) build, \(date)" }
}

/// The resident set size of this process now and at its peak, in MB (from /proc/self/status).
enum ProcessMemory {
    static func residentMB() -> Double { field("VmRSS:") ?? 0 }
    static func peakMB() -> Double { field("VmHWM:") ?? 0 }
    /// Peak RSS of another process (a benchmark's child), while it runs.
    static func peakMB(pid: Int32) -> Double? { field("VmHWM:", process: String(pid)) }

    private static func field(_ name: String, process: String = "self") -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(process)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return nil }
        let kb = Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty }.map(String.init) ?? "") ?? 0
        return kb / 1024
    }
}
