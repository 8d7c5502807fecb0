import ArgumentParser
import Foundation
import QQSession

/// `qqtui alias`: names for openids (QQ gives none).
struct AliasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias", abstract: "List, set or remove the names you give to openids.")

    @Option(help: ArgumentHelp("Config file.", valueName: "file"))
    var config: String?

    @Flag(help: "Remove the alias of OPENID.")
    var remove = false

    @Argument(help: "An openid (user, member or group).")
    var openid: String?

    @Argument(help: "The name to show for it.")
    var name: [String] = []

    func run() async throws {
        let appConfig = try CLI.loadConfig(config, needsSecrets: false)
        let store = try CLI.openStore(appConfig.storePath, mode: .shared)
        if let openid, remove || !name.isEmpty {
            try await CLI.storeCall { try await store.setAlias(remove ? nil : name.joined(separator: " "), for: openid) }
        }
        for (openid, name) in try await CLI.storeCall({ try await store.aliases() }).sorted(by: { $0.value < $1.value }) {
            StandardOutput.write(TextSanitizer.line("\(name)\t\(openid)"))
        }
    }
}

/// `qqtui search`: full-text search across every conversation.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Search stored messages (Chinese works; 3+ characters use the index).")

    @Option(help: ArgumentHelp("Config file.", valueName: "file"))
    var config: String?

    @Option(help: "Most results.")
    var limit = 50

    @Argument(help: "What to look for.")
    var query: [String]

    func run() async throws {
        let appConfig = try CLI.loadConfig(config, needsSecrets: false)
        let store = try CLI.openStore(appConfig.storePath, mode: .shared)
        let aliases = (try? await store.aliases()) ?? [:]
        let result = try await CLI.storeCall { try await store.search(query.joined(separator: " "), limit: limit) }
        for c in result.conversations { StandardOutput.write(TextSanitizer.line("conversation \(c) (\(aliases[c.openID] ?? "-"))")) }
        for m in result.messages { StandardOutput.write(ExportCommand.line(m, aliases: aliases)) }
        if result.messages.isEmpty && result.conversations.isEmpty { StandardOutput.error("qqtui search: nothing found") }
    }
}
