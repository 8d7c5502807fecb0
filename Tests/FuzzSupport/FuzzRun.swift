import Foundation
import TestSupport
import Testing

/// Runs a property over many generated cases, deterministically.
///
/// Each test has its own default seed (from its name), so `swift test` is repeatable. For a longer or a
/// different run set `QQTUI_FUZZ_ITERATIONS` (cases per test) and `QQTUI_FUZZ_SEED` (a number, `0x…`,
/// or `random`). A failure reports the seed of the failing case: run again with that seed and
/// `QQTUI_FUZZ_ITERATIONS=1` to get exactly that case. A trap ends the process before any report:
/// `QQTUI_FUZZ_TRACE=1` prints each case's seed before it runs, so the last one printed is the culprit.
public enum Fuzz {
    /// Settings read from the environment once.
    public struct Settings: Sendable {
        /// The seed given in `QQTUI_FUZZ_SEED`, if any.
        public var seed: UInt64?
        /// The count given in `QQTUI_FUZZ_ITERATIONS`, if any.
        public var iterations: Int?
        /// `QQTUI_FUZZ_TRACE=1`: print every case's seed before running it.
        public var trace = false

        /// Reads `QQTUI_FUZZ_SEED` and `QQTUI_FUZZ_ITERATIONS` from `environment`.
        public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
            if let text = environment["QQTUI_FUZZ_SEED"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                if text == "random" {
                    seed = UInt64.random(in: .min ... .max)
                } else if text.lowercased().hasPrefix("0x") {
                    seed = UInt64(text.dropFirst(2), radix: 16)
                } else {
                    seed = UInt64(text)
                }
            }
            iterations = environment["QQTUI_FUZZ_ITERATIONS"].flatMap { Int($0) }.map { max(1, $0) }
            trace = environment["QQTUI_FUZZ_TRACE"] == "1"
        }
    }

    /// The process's settings.
    public static let settings = Settings()

    /// How long a fuzz test may run once it is its turn at the CPU gate before it counts as hung:
    /// a minute for the default run, an hour for a long one.
    public static var timeLimit: Duration { settings.iterations == nil ? .seconds(60) : .seconds(3600) }

    /// A fuzz suite's Swift Testing limit: the queue at the CPU gate and the run together, only there
    /// to end a run that hung (the test's own limit is ``timeLimit``, counted from its turn).
    public static var backstop: TimeLimitTrait {
        settings.iterations == nil ? CPUGate.backstop : .timeLimit(.minutes(120))
    }

    /// Runs `body` on `iterations` cases (or `QQTUI_FUZZ_ITERATIONS`, at most `cap` for slow bodies)
    /// and reports every failing case. `body` records failures with ``FuzzCase/check(_:_:)``; a thrown
    /// error fails its case too.
    public static func run(_ name: String, iterations: Int, cap: Int = .max,
                           sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: (inout FuzzCase) async throws -> Void) async -> FuzzReport {
        let base = settings.seed ?? SplitMix64.hash(name)
        let count = min(settings.iterations ?? iterations, max(cap, iterations))
        if settings.seed != nil || settings.iterations != nil {
            // Printed before the run, so a trap (which ends the process) still leaves its seed behind.
            print("fuzz \(name): seed \(hex(base)), \(count) case(s)")
        }
        var report = FuzzReport(name: name, seed: base, iterations: count)
        // One CPU-heavy test at a time, its time limit counted from its turn (see CPUGate).
        try? await CPUGate.run(limit: timeLimit, sourceLocation: sourceLocation) {
            for index in 0..<count {
                // CPU-bound: give the cooperative threads back now and then, or every async test running
                // alongside (sockets, timeouts, cancellations) stalls until the fuzzers are done.
                await Task.yield()
                var c = FuzzCase(seed: caseSeed(base: base, index: index), index: index)
                if settings.trace { print("fuzz \(name) case \(index): QQTUI_FUZZ_SEED=\(hex(c.seed))") }
                do { try await body(&c) } catch { c.check(false, "threw \(error)") }
                if !c.failures.isEmpty {
                    report.failures.append(c)
                    if report.failures.count >= 3 { break }   // enough to act on; the rest are usually the same
                }
            }
        }
        return report
    }

    /// Case 0 uses the base seed itself, so a reported case seed reproduces with one iteration.
    static func caseSeed(base: UInt64, index: Int) -> UInt64 {
        index == 0 ? base : SplitMix64.mix(base &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// `0x…` with 16 digits.
    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// One generated case: its random source, what it fed, and what went wrong.
public struct FuzzCase: Sendable {
    /// The case's seed (reported on failure).
    public let seed: UInt64
    /// The case's number in its run.
    public let index: Int
    /// The random source; everything the case generates comes from here.
    public var rng: SplitMix64
    /// A description of the input, shown with a failure (set it to something short).
    public var input = ""
    /// The properties that did not hold.
    public private(set) var failures: [String] = []

    init(seed: UInt64, index: Int) {
        self.seed = seed
        self.index = index
        self.rng = SplitMix64(seed: seed)
    }

    /// Records a failure unless `condition` holds.
    public mutating func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { failures.append(message()) }
    }
}

/// What a fuzz run found.
public struct FuzzReport: Sendable, CustomStringConvertible {
    /// The property's name.
    public let name: String
    /// The run's base seed.
    public let seed: UInt64
    /// Cases run (at most).
    public let iterations: Int
    /// The failing cases (at most three are kept).
    public var failures: [FuzzCase] = []

    /// True when every case held.
    public var passed: Bool { failures.isEmpty }

    public var description: String {
        guard !failures.isEmpty else { return "fuzz \(name): \(iterations) case(s) passed (seed \(Fuzz.hex(seed)))" }
        var lines = ["fuzz \(name): \(failures.count) failing case(s) (run seed \(Fuzz.hex(seed)))"]
        for c in failures {
            lines.append("- case \(c.index): reproduce with QQTUI_FUZZ_SEED=\(Fuzz.hex(c.seed)) QQTUI_FUZZ_ITERATIONS=1")
            lines.append("  input: \(Self.visible(c.input, limit: 600))")
            for f in c.failures.prefix(5) { lines.append("  " + Self.visible(f, limit: 600)) }
        }
        return lines.joined(separator: "\n")
    }

    /// `text` with controls escaped and cut to `limit` characters, safe for a test log.
    public static func visible(_ text: String, limit: Int) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || (0x2028...0x202E).contains(scalar.value)
                || (0x2066...0x2069).contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            if out.count > limit { return out + "… (\(text.unicodeScalars.count) scalars)" }
        }
        return out
    }
}
