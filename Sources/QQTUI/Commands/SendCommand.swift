import ArgumentParser
import Foundation
import Logging
import QQSession

/// `qqtui send`: send a message (or an image, or a stream read from stdin) from the command line.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a message to a conversation (a reply while its window is open, else proactive).",
        discussion: """
            With --stream, standard input is sent as it arrives, like an agent's reply: a C2C stream \
            (or, in a group, one message at the end). A line holding only a form feed (\\f) closes the \
            stream and starts a new one. The route is chosen from the store's ledger, so a reply uses \
            the next msg_seq of the conversation's newest open message.
            """)

    @Option(help: ArgumentHelp("Config file.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("c2c:<openid> or group:<group_openid>.", valueName: "id"))
    var to: String

    @Option(help: ArgumentHelp("The inbound message to answer (default: the newest open one); refused unless it is a message of --to whose reply window is open.", valueName: "msg-id"))
    var replyTo: String?

    @Option(help: ArgumentHelp("Send this image file.", valueName: "path"))
    var image: String?

    @Option(help: ArgumentHelp("Send this file: a picture, a video, SILK voice or any file (the kind from its name, or --as). Files over [replies] max_upload_mb go up in parts.", valueName: "path"))
    var file: String?

    @Option(name: .customLong("as"), help: ArgumentHelp("What --file is sent as: image, video, voice or file.", valueName: "kind"))
    var kind: String?

    @Option(help: ArgumentHelp("Buttons under the text: rows split by ';', buttons by ',', each LABEL, LABEL=DATA (a callback) or LABEL=https://… (a link). Sent as markdown.", valueName: "spec"))
    var buttons: String?

    @Flag(help: "Stream standard input as an agent reply.")
    var stream = false

    @Argument(help: "The text (or, with --image, a caption).")
    var text: [String] = []

    func validate() throws {
        guard ConversationID(operatorTarget: to) != nil else { throw ValidationError(ConversationID.targetProblem("--to", to)) }
        if stream, image != nil || file != nil || !text.isEmpty { throw ValidationError("--stream reads standard input; give no text, --image or --file") }
        if image != nil, file != nil { throw ValidationError("give --image or --file, not both") }
        if !stream, image == nil, file == nil, text.isEmpty { throw ValidationError("nothing to send: give a text, --image, --file or --stream") }
        if let kind, MediaKind(rawValue: kind) == nil { throw ValidationError("--as \(kind): one of image, video, voice, file") }
        if kind != nil, file == nil { throw ValidationError("--as goes with --file") }
        if let buttons {
            if stream || image != nil || file != nil { throw ValidationError("--buttons go under a text: not with --stream, --image or --file") }
            do { _ = try Keyboard.parse(buttons) } catch { throw ValidationError(error.message) }
        }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let appConfig = try CLI.loadConfig(config)
        _ = FileLogHandler.bootstrap(path: appConfig.logFile, level: appConfig.logLevel)
        let store = try CLI.openStore(appConfig.storePath, mode: .shared, logger: Logger(label: "qqtui.store"))
        let session = Session(configuration: appConfig.session, store: store, logger: Logger(label: "qqtui.send"))
        await session.restoreFromStore()
        guard let conversation = ConversationID(operatorTarget: to) else { throw ExitCode(64) }
        if let replyTo, let problem = await Self.replyProblem(replyTo, in: conversation, session: session, store: store) {
            StandardOutput.error(TextSanitizer.line("qqtui send: --reply-to \(replyTo): \(problem); nothing was sent"))
            await session.shutdown()
            await CLI.closeStore(store)
            throw ExitCode(1)
        }
        StandardOutput.error(TextSanitizer.line("qqtui send: route \(session.route(for: conversation, replyingTo: replyTo).summary())"))
        let result: OutboundMessage
        if stream {
            result = await Self.streamStdin(session: session, to: conversation, replyTo: replyTo)
        } else if let file {
            result = await session.sendFile(path: AppConfig.expand(file), as: kind.flatMap(MediaKind.init(rawValue:)),
                                            caption: text.joined(separator: " "), to: conversation, replyingTo: replyTo)
        } else if let image {
            result = await session.sendImage(path: AppConfig.expand(image), caption: text.joined(separator: " "), to: conversation,
                                             replyingTo: replyTo)
        } else {
            result = await session.send(text.joined(separator: " "), to: conversation, replyingTo: replyTo,
                                        keyboard: try buttons.map { try Keyboard.parse($0) })
        }
        await session.shutdown()
        let saved = await CLI.closeStore(store)
        StandardOutput.write(TextSanitizer.line(EventPrinter.describe(result)))
        guard case .sent = result.status else { throw ExitCode(1) }
        if !saved { throw ExitCode(74) }
    }

    /// Why `--reply-to msgID` cannot be answered as asked (nil: it can, passively). Answering another
    /// message instead, or sending proactively, would not be what the operator asked for.
    static func replyProblem(_ msgID: String, in conversation: ConversationID, session: Session,
                             store: MessageStore) async -> String? {
        switch session.route(for: conversation, replyingTo: msgID) {
        case .passive(let id, _, _) where id == msgID, .passiveEvent(let id, _, _) where id == msgID: return nil
        default: break
        }
        let stored = try? await store.message(uid: msgID)
        let received = stored.flatMap { $0.direction == "in" ? $0.conversation : nil } ?? session.ledgerEntry(for: msgID)?.conversation
        guard let received else { return "the store holds no message received with this id" }
        guard received == conversation else { return "that message is in \(received), not \(conversation)" }
        return "its reply window has closed or its replies are used up (leave out --reply-to to send anyway)"
    }

    /// Reads stdin in chunks into a reply writer; a form-feed line is a segment break.
    static func streamStdin(session: Session, to conversation: ConversationID, replyTo: String?) async -> OutboundMessage {
        let writer = await session.openReply(to: conversation, replyingTo: replyTo, origin: "agent")
        // Blocking reads belong on their own thread, not on the async pool.
        let (chunks, continuation) = AsyncStream.makeStream(of: Data.self)
        Thread {
            while true {
                let data = FileHandle.standardInput.availableData
                if data.isEmpty { break }
                continuation.yield(data)
            }
            continuation.finish()
        }.start()
        var splitter = SegmentSplitter()
        func forward(_ pieces: [SegmentSplitter.Piece]) async {
            for piece in pieces {
                switch piece {
                case .text(let bytes): await writer.append(bytes: bytes)
                case .segmentBreak: await writer.segmentBreak()
                }
            }
        }
        for await chunk in chunks { await forward(splitter.feed(chunk)) }
        await forward(splitter.finish())
        return await writer.finish()
    }
}
