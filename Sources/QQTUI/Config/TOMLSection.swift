import TOMLKit

/// Reads one TOML table with typed getters that report the key path on error, and remembers which
/// keys were read so that a typo (`app_scret`) is refused instead of silently ignored.
final class TOMLSection {
    let file: String
    let path: String
    private let table: TOMLTable
    private var used: Set<String> = []

    init(file: String, path: String, table: TOMLTable) {
        self.file = file
        self.path = path
        self.table = table
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func fail(_ key: String?, _ problem: String) -> ConfigError {
        ConfigError(file: file, key: key.map(keyPath), problem: problem)
    }

    private func value(_ key: String) -> (any TOMLValueConvertible)? {
        used.insert(key)
        return table[key]
    }

    private func describe(_ v: any TOMLValueConvertible) -> String {
        switch v.type {
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .bool: return "a boolean"
        case .array: return "a list"
        case .table: return "a table"
        default: return "a date/time"
        }
    }

    func has(_ key: String) -> Bool { table[key] != nil }

    /// The table's keys, sorted.
    var keys: [String] { table.keys.sorted() }

    /// What a `\u0000` escape is read as (the last private-use character, which no config holds): the
    /// parser would cut the string there, so ``TOMLHeaderCheck/markingNULEscapes(in:)`` puts this in
    /// its place first.
    static let nulMark: Unicode.Scalar = "\u{10FFFD}"

    /// `text`, unless it held a `\u0000` (refused by key: a path or argument would be cut short there).
    private func whole(_ text: String, _ key: String) throws -> String {
        guard !text.unicodeScalars.contains(Self.nulMark) else {
            throw fail(key, "holds a NUL character (\\u0000): the system would cut the value short there")
        }
        return text
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.string else { throw fail(key, "expected a string, found \(describe(v))") }
        return try whole(s, key)
    }

    /// A file or folder path, `~` expanded.
    func path(_ key: String) throws -> String? {
        try string(key).map(AppConfig.expand)
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.bool else { throw fail(key, "expected true or false, found \(describe(v))") }
        return b
    }

    func int(_ key: String, in range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.int else { throw fail(key, "expected an integer, found \(describe(v))") }
        if let range, !range.contains(i) {
            throw fail(key, "\(i) is out of range (\(range.lowerBound)…\(range.upperBound))")
        }
        return i
    }

    func double(_ key: String, in range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard let d = v.double ?? v.int.map(Double.init) else { throw fail(key, "expected a number, found \(describe(v))") }
        if let range, !range.contains(d) {
            throw fail(key, "\(d) is out of range (\(range.lowerBound)…\(range.upperBound))")
        }
        return d
    }

    /// A raw value for keys that accept several types.
    func raw(_ key: String) -> (any TOMLValueConvertible)? { value(key) }

    func stringList(_ key: String) throws -> [String]? {
        guard let v = value(key) else { return nil }
        guard let array = v.array else { throw fail(key, "expected a list of strings, found \(describe(v))") }
        var out: [String] = []
        for (i, item) in array.enumerated() {
            guard let s = item.string else { throw fail(key, "item \(i + 1) is \(describe(item)), expected a string") }
            out.append(try whole(s, key))
        }
        return out
    }

    func intList(_ key: String) throws -> [Int]? {
        guard let v = value(key) else { return nil }
        guard let array = v.array else { throw fail(key, "expected a list of integers, found \(describe(v))") }
        var out: [Int] = []
        for (i, item) in array.enumerated() {
            guard let n = item.int else { throw fail(key, "item \(i + 1) is \(describe(item)), expected an integer") }
            out.append(n)
        }
        return out
    }

    /// A table of strings (`env = { KEY = "value" }`).
    func stringTable(_ key: String) throws -> [String: String]? {
        guard let v = value(key) else { return nil }
        guard let t = v.table else { throw fail(key, "expected a table of strings such as { NAME = \"value\" }, found \(describe(v))") }
        var out: [String: String] = [:]
        for k in t.keys {
            guard let s = t[k]?.string else { throw fail(key, "\(k) must be a string") }
            out[try whole(k, key)] = try whole(s, key)
        }
        return out
    }

    func section(_ key: String) throws -> TOMLSection? {
        guard let v = value(key) else { return nil }
        guard let t = v.table else { throw fail(key, "expected a table ([\(keyPath(key))]), found \(describe(v))") }
        return TOMLSection(file: file, path: keyPath(key), table: t)
    }

    /// Refuses keys nobody read, suggesting the closest known one.
    func rejectUnknownKeys(known: [String]) throws {
        for key in table.keys.sorted() where !used.contains(key) {
            var problem = "unknown key"
            if let guess = Self.closest(key, in: known) { problem += " (did you mean \(guess)?)" }
            else if !known.isEmpty { problem += " (known: \(known.joined(separator: ", ")))" }
            throw fail(key, problem)
        }
    }

    static func closest(_ word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(word, $0)) }.filter { $0.1 <= max(2, word.count / 3) }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
