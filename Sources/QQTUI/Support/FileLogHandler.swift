import Foundation
import Logging
import QQSession
import Synchronization

/// swift-log handler that appends lines to a file (owner-only), secrets scrubbed. The terminal is
/// never written to, so logs cannot corrupt the console.
struct FileLogHandler: LogHandler {
    /// One open file shared by every logger of the process.
    final class Sink: Sendable {
        private let handle: Mutex<FileHandle?>
        let path: String

        init(path: String) {
            self.path = path
            let fm = FileManager.default
            let dir = (path as NSString).deletingLastPathComponent
            try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if !fm.fileExists(atPath: path) {
                _ = fm.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            let h = FileHandle(forWritingAtPath: path)
            _ = try? h?.seekToEnd()
            handle = Mutex(h)
        }

        /// False when the file could not be opened (logging is then off, and the caller says so).
        var isOpen: Bool { handle.withLock { $0 != nil } }

        func write(_ line: String) {
            handle.withLock { h in
                try? h?.write(contentsOf: Data(line.utf8))
            }
        }
    }

    let sink: Sink
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(label: String, sink: Sink, level: Logger.Level) {
        self.label = label
        self.sink = sink
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let meta = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let stamp = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        let text = "\(stamp) \(event.level) \(label): \(event.message)\(meta)"
        sink.write(Redactor.shared.redact(TextSanitizer.line(text)) + "\n")
    }

    /// Bootstraps swift-log once for the process: everything goes to `path` at `level`.
    static func bootstrap(path: String, level: Logger.Level) -> Sink {
        let sink = Sink(path: path)
        LoggingSystem.bootstrap { label in FileLogHandler(label: label, sink: sink, level: level) }
        return sink
    }
}
