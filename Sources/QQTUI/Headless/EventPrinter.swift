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
        case .outbound(let m):
            guard m.isFinal || verbose else { return nil }
            text = Self.describe(m)
        case .streamFrame(let f):
            guard verbose else { return nil }
            text = "frame    \(f.conversation) #\(f.segment).\(f.index) state \(f.state) \(f.error.map { "FAILED \($0)" } ?? "ok")"
                + (f.latencyMs.map { " \($0)ms" } ?? "") + ": " + f.text
        case .ownership(let c):
            text = Self.describe(c)
        case .agent(let a):
            guard let line = Self.describe(a, verbose: verbose) else { return nil }
            text = line
        case .interaction(let i):
            text = "button   \(i.conversation) \(i.userOpenID) \(i.summary)"
        case .recall(let r):
            text = "recalled \(r.conversation) \(r.outboundID)" + (r.operatorName.map { " by \($0)" } ?? "")
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

    static func describe(_ m: OutboundMessage) -> String {
        let status: String
        switch m.status {
        case .sending: status = "sending"
        case .sent: status = "sent"
        case .failed(let reason): status = "FAILED (\(reason))"
        case .refused(let reason): status = "REFUSED (\(reason))"
        case .cancelled: status = "cancelled"
        }
        let route = m.parts.first?.route.map { " via " + $0.summary() } ?? ""
        let count = m.parts.count > 1 ? " in \(m.parts.count) parts" : ""
        return "\(m.origin == "agent" ? "agent" : "you")   → \(m.conversation) \(status)\(route)\(count): \(m.text)"
    }

    static func jsonLine(_ event: SessionEvent) -> String {
        switch event {
        case .message(let m): if let line = MessageEventJSON.line(m) { return line }
        case .outbound(let m): if let line = ReplyEventJSON.line(m) { return line }
        case .agent(let a): if let line = ReplyEventJSON.line(a) { return line }
        default: break
        }
        guard let data = try? jsonEncoder.encode(event) else { return #"{"type":"error","error":"unencodable event"}"# }
        return String(decoding: data, as: UTF8.self)
    }

    /// One encoder for every line (sorted keys, dates as ISO 8601 in UTC to the second).
    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(ISO8601Seconds.string(date))
        }
        return encoder
    }()

    /// `HH:mm:ss` in local time (no formatter made per line: serve prints one per event).
    static func clock(_ date: Date) -> String {
        let c = Calendar.current.dateComponents([.hour, .minute, .second], from: date)
        return String(format: "%02d:%02d:%02d", c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
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
