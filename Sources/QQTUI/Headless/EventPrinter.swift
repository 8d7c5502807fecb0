import Foundation
import QQSession

/// Prints session events one per line: readable text, or JSON lines (`--json`) for scripts.
/// Text from QQ is sanitised: no escape sequence a user sends can reach the terminal.
struct EventPrinter: Sendable {
    let json: Bool
    /// Clip lines to this many cells (when stdout is a terminal).
    let width: Int?
    /// Show debug-level notices (skipped empty, duplicates).
    let verbose: Bool

    /// The line for `event`, or nil when it is not shown.
    func line(for event: SessionEvent, now: Date = Date()) -> String? {
        if json { return Self.jsonLine(event) }
        let time = Self.clock(now)
        let text: String
        switch event {
        case .gateway(let status):
            text = "gateway  " + status.summary + (status.lastError.map { status.isReady ? "" : " · \($0)" } ?? "")
        case .message(let m):
            text = Self.describe(m)
        case .conversation(let c):
            text = "event    \(c.kind.rawValue) \(c.conversation)" + (c.operatorOpenID.map { " by \($0)" } ?? "")
        case .raw(let r):
            text = "raw      \(r.type)" + (r.seq.map { " s=\($0)" } ?? "") + " " + r.payload.description
        case .notice(let n):
            if n.level == .debug && !verbose { return nil }
            text = "notice   \(n.level.rawValue) \(n.kind.rawValue): \(n.message)"
        }
        let safe = TextSanitizer.line(time + " " + text)
        guard let width else { return safe }
        return TextWidth.clip(safe, to: width)
    }

    static func describe(_ m: InboundMessage) -> String {
        let who: String
        switch m.source {
        case .c2c: who = m.author.openID
        case .groupAt: who = m.author.openID + (m.author.role.map { " (\($0))" } ?? "") + " @bot"
        case .group: who = m.author.openID + (m.author.role.map { " (\($0))" } ?? "")
        }
        var text = "\(m.conversation) \(who): \(m.text)"
        for a in m.attachments {
            text += " " + a.placeholder + (a.localPath.map { " → \($0)" } ?? "")
        }
        return text
    }

    static func jsonLine(_ event: SessionEvent) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(event) else { return #"{"type":"error","error":"unencodable event"}"# }
        return String(decoding: data, as: UTF8.self)
    }

    static func clock(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "HH:mm:ss"
        return f.string(from: date)
    }
}

/// Unbuffered writes to stdout (a pipe to a script sees each line at once). A closed pipe is ignored.
enum StandardOutput {
    static func write(_ line: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
    }
    static func error(_ line: String) {
        try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
    }
}
