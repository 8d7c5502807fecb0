import ArgumentParser
import Foundation
import QQSession

/// `qqtui export`: the store's messages as JSON lines or text, oldest first.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export stored messages (JSON lines or text), oldest first. Reads only; works while qqtui runs.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case jsonl, txt }

    @Option(help: ArgumentHelp("Config file (for [store] path).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("The store file (instead of the config's).", valueName: "path"))
    var store: String?

    @Option(help: ArgumentHelp("Only this conversation: c2c:<openid> or group:<group_openid>.", valueName: "id"))
    var conversation: String?

    @Option(help: ArgumentHelp("Only messages since this date (YYYY-MM-DD or RFC 3339).", valueName: "date"))
    var since: String?

    @Option(help: "Output format.")
    var format: Format = .jsonl

    func validate() throws {
        if let conversation, ConversationID(operatorTarget: conversation) == nil {
            throw ValidationError(ConversationID.targetProblem("--conversation", conversation))
        }
        if let since, Self.parseDate(since) == nil {
            throw ValidationError("--since must be a date like 2026-11-22 or 2026-11-22T10:00:00+08:00")
        }
    }

    static func parseDate(_ text: String) -> Date? {
        if let d = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return d }
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.dateFormat = "yyyy-MM-dd"
        return day.date(from: text)
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let path = try store ?? CLI.loadConfig(config, needsSecrets: false).storePath
        let store = try CLI.openStore(AppConfig.expand(path), mode: .readOnly)
        let aliases = (try? await store.aliases()) ?? [:]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        var count = 0
        try await CLI.storeCall { try store.export(conversation: conversation.flatMap { ConversationID(operatorTarget: $0) }, since: since.flatMap(Self.parseDate)) { m in
            count += 1
            switch format {
            case .jsonl:
                StandardOutput.write(String(decoding: try encoder.encode(m), as: UTF8.self))
            case .txt:
                StandardOutput.write(Self.line(m, aliases: aliases))
            }
        } }
        StandardOutput.error("qqtui export: \(count) message(s) from \(store.path)")
    }

    /// `2026-11-22 10:01:02  c2c:U1  张三 → : text` with the text made safe for a terminal.
    static func line(_ m: StoredMessage, aliases: [String: String]) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        let who: String
        if m.direction == "in" {
            let author = m.author ?? "?"
            who = aliases[author] ?? author
        } else {
            who = m.origin + (m.status == "sent" ? "" : " [\(m.status)\(m.statusDetail.map { ": \($0)" } ?? "")]")
        }
        let conversation = aliases[m.conversation.openID].map { "\(m.conversation) (\($0))" } ?? m.conversation.description
        var text = m.text
        for a in m.attachments { text += " " + a.placeholder + (a.localPath.map { " → \($0)" } ?? "") }
        return TextSanitizer.line("\(f.string(from: m.createdAt))  \(conversation)  \(m.direction == "in" ? "←" : "→") \(who): \(text)")
    }
}
