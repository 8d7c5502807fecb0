import Foundation
import Synchronization

/// Everything a run left behind, searched for secrets: captured output, screens and files.
final class LeakScan: Sendable {
    private let items = Mutex<[(place: String, bytes: Data)]>([])

    /// Adds text seen at `place` (a command's stdout, a screen).
    func add(_ place: String, _ text: String) { add(place, Data(text.utf8)) }

    /// Adds raw bytes seen at `place`.
    func add(_ place: String, _ bytes: Data) { items.withLock { $0.append((place, bytes)) } }

    /// Adds every regular file below `dir` (raw bytes: SQLite pages, WAL, logs), except `skipping` names.
    func addFiles(under dir: String, skipping: Set<String>) {
        guard let walker = FileManager.default.enumerator(atPath: dir) else { return }
        for case let relative as String in walker where !skipping.contains((relative as NSString).lastPathComponent) {
            let path = dir + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            add("file " + relative, data)
        }
    }

    /// The places searched.
    var places: [String] { items.withLock { $0.map(\.place) } }

    /// `(place, needle name)` for every needle found; a needle is searched as UTF-8 bytes.
    func findings(_ needles: [(name: String, value: String)]) -> [String] {
        items.withLock { items in
            var found: [String] = []
            for (place, bytes) in items {
                for needle in needles where bytes.range(of: Data(needle.value.utf8)) != nil {
                    found.append("\(needle.name) in \(place)")
                }
            }
            return found
        }
    }

    /// What to look for about `secret` named `name`: the value, and its two halves (a cut-off copy).
    static func needles(_ name: String, _ secret: String) -> [(name: String, value: String)] {
        let half = secret.count / 2
        return [(name, secret), (name + " (first half)", String(secret.prefix(half))),
                (name + " (second half)", String(secret.suffix(secret.count - half)))]
    }
}
