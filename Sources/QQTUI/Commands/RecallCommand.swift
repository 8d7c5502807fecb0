import ArgumentParser
import Foundation
import Logging
import QQSession

/// `qqtui recall`: take a sent message back from the user's chat (QQ allows 2 minutes).
struct RecallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recall",
        abstract: "Recall a message the bot sent (within 2 minutes of sending).",
        discussion: """
            Give the message's id (the local out-… id `qqtui export` and `serve --json` show, or the \
            id QQ gave it), or --last with a conversation to recall the newest message sent there. \
            Every part of a long message is recalled. The message stays in the store, marked recalled. \
            Exit status: 0 recalled, 1 refused (too late: QQ code 40064004) or not found.
            """)

    @Option(help: ArgumentHelp("Config file.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Recall the newest message sent to c2c:<openid> or group:<group_openid>.", valueName: "id"))
    var last: String?

    @Argument(help: "The message's id (out-… or QQ's).")
    var id: String?

    func validate() throws {
        if let last, ConversationID(operatorTarget: last) == nil { throw ValidationError(ConversationID.targetProblem("--last", last)) }
        if (last == nil) == (id == nil) { throw ValidationError("give a message id or --last CONVERSATION (one of them)") }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let appConfig = try CLI.loadConfig(config)
        _ = FileLogHandler.bootstrap(path: appConfig.logFile, level: appConfig.logLevel)
        let store = try CLI.openStore(appConfig.storePath, mode: .shared, logger: Logger(label: "qqtui.store"))
        let session = Session(configuration: appConfig.session, store: store, logger: Logger(label: "qqtui.recall"))
        let outcome: Result<Recall, QQError>
        do {
            if let last, let conversation = ConversationID(operatorTarget: last) {
                outcome = .success(try await session.recallLast(in: conversation))
            } else {
                outcome = .success(try await session.recall(id ?? ""))
            }
        } catch {
            outcome = .failure(error)
        }
        await session.shutdown()
        _ = await CLI.closeStore(store)
        switch outcome {
        case .success(let recall):
            let parts = recall.qqMessageIDs.count
            StandardOutput.write(TextSanitizer.line("recalled \(recall.outboundID) from \(recall.conversation)"
                + (parts > 1 ? " (\(parts) QQ messages)" : "")))
        case .failure(var error):
            error.context = nil
            StandardOutput.error(TextSanitizer.line("qqtui recall: \(error)"))
            throw ExitCode(1)
        }
    }
}
