import Foundation
import QQSession
import Synchronization

/// A console attached to a running `qqtui serve`: events and answers come over the control link,
/// effects go out as commands. When serve goes away the console says "reconnecting to serve",
/// tries again every second, and resyncs from the fresh snapshot; nothing typed meanwhile is sent later.
final class RemoteBackend: ConsoleBackend {
    /// Opens a new link and says hello (the first one was opened before the screen started).
    typealias Connect = @Sendable () throws -> (ControlLink, ServerLine)

    private let connect: Connect
    private let routes = Mutex<[ConversationID: ReplyRoute]>([:])
    private let link: Mutex<ControlLink?>
    private let stopping = Atomic<Bool>(false)
    private let inbox = Mutex<UIInbox?>(nil)
    private let welcome: ServerLine

    /// `link` has said hello and got `welcome`.
    init(link: ControlLink, welcome: ServerLine, connect: @escaping Connect) {
        self.link = Mutex(link)
        self.welcome = welcome
        self.connect = connect
    }

    func start(inbox: UIInbox) async {
        self.inbox.withLock { $0 = inbox }
        guard let link = link.withLock({ $0 }) else { return }
        attached(link, welcome: welcome, inbox: inbox)
    }

    private func attached(_ link: ControlLink, welcome: ServerLine, inbox: UIInbox) {
        inbox.post(.attach(.welcome(pid: welcome.pid ?? 0, console: welcome.console ?? 0)))
        link.startReading(onLine: { [weak self] data in
            self?.received(data, inbox: inbox)
        }, onEnd: { [weak self] reason in
            self?.lost(reason, inbox: inbox)
        })
    }

    private func received(_ data: Data, inbox: UIInbox) {
        guard let line = try? ControlProtocol.decoder.decode(ServerLine.self, from: data) else {
            inbox.post(.status("serve sent a line this console cannot read (a different qqtui version?)", .warning))
            return
        }
        switch line.t {
        case "event":
            if let event = line.event { inbox.post(.session(event)) }
        case "snapshot":
            guard let snapshot = line.snapshot else { return }
            routes.withLock { r in
                r.removeAll()
                for entry in snapshot.routes { r[entry.conversation] = entry.route }
            }
            inbox.post(.attach(.snapshot(snapshot)))
        case "route":
            guard let id = line.conversation else { return }
            routes.withLock { $0[id] = line.route }
            inbox.post(.attach(.routesChanged))
        case "presence":
            inbox.post(.attach(.presence(line.consoles ?? [])))
        case "draft_taken":
            if let id = line.conversation, let draft = line.draft { inbox.post(.attach(.draftTaken(id, draft, by: line.by ?? "another operator"))) }
        case "page":
            if let id = line.conversation { inbox.post(.pageLoaded(id, line.messages ?? [], complete: line.complete ?? true)) }
        case "jump":
            if let id = line.conversation { inbox.post(.jumpLoaded(id, line.messages ?? [], complete: line.complete ?? true)) }
        case "search_results":
            inbox.post(.searchResults(query: line.query ?? "", line.messages ?? []))
        case "alias_set":
            if let openID = line.openID { inbox.post(.aliasSet(openID: openID, name: line.name)) }
        case "store_failed":
            inbox.post(.storeFailed(line.message ?? "serve could not read its store"))
        case "status_note":
            inbox.post(.status(line.message ?? "", line.level ?? .info))
        case "error", "refused":
            inbox.post(.status("serve: " + (line.reason ?? "closed the connection"), .error))
        default:
            break   // a newer serve's line: ignored
        }
    }

    private func lost(_ reason: String, inbox: UIInbox) {
        link.withLock { $0 = nil }
        guard !stopping.load(ordering: .acquiring) else { return }
        inbox.post(.attach(.lost(reason)))
        let connect = self.connect
        Thread.detachNewThread { [weak self] in
            // Every second until serve is back (or the console quits).
            while let self, !self.stopping.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: 1)
                guard !self.stopping.load(ordering: .acquiring) else { return }
                guard let (link, welcome) = try? connect() else { continue }
                if welcome.t != "welcome" {
                    inbox.post(.attach(.lost("serve refused: " + (welcome.reason ?? "no reason given"))))
                    link.close()
                    continue
                }
                self.link.withLock { $0 = link }
                self.attached(link, welcome: welcome, inbox: inbox)
                return
            }
        }
    }

    func perform(_ effect: Effect) {
        var effect = effect
        if case .sendFile(let path, let kind, let id) = effect {
            // The file is on this machine; serve may be on another: its bytes travel with the command.
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int,
                  let data = size <= ControlProtocol.maxImage ? FileManager.default.contents(atPath: path) : nil else {
                let why = FileManager.default.fileExists(atPath: path) ? "larger than \(ControlProtocol.maxImage >> 20) MB or unreadable" : "no such file"
                inbox.withLock { $0 }?.post(.status("not sent: \(path): \(why)", .error))
                return
            }
            let name = (path as NSString).lastPathComponent
            effect = .sendFileData(data, filename: name, kind: kind ?? MediaKind.guess(name), to: id)
        }
        guard let line = ConsoleCommands.line(for: effect) else { return }
        let sent = link.withLock { $0 }?.send(line) ?? false
        if !sent, Self.reachesQQ(effect) {
            inbox.withLock { $0 }?.post(.status("not connected to serve: nothing was sent (it reconnects by itself)", .error))
        }
    }

    private static func reachesQQ(_ effect: Effect) -> Bool {
        switch effect {
        case .send, .resend, .sendFileData, .sendDraft, .setOwner, .answerPermission, .recall: return true
        default: return false
        }
    }

    func route(for conversation: ConversationID) -> ReplyRoute? { routes.withLock { $0[conversation] } }

    func stop() async {
        stopping.store(true, ordering: .releasing)
        link.withLock { $0 }?.close()
    }
}
