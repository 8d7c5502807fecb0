import Foundation
import NIOCore
import QQSession

/// Serve's side of one console's commands: each line becomes the effect the console would have run
/// in-process, performed against the session and the store for that console's operator.
struct ConsoleCommands: Sendable {
    let hub: ServeHub
    let console: Int
    let operatorName: String
    let queue: ConsoleQueue

    /// Performs one line; the problem when it is malformed (the connection is then closed).
    func handle(_ raw: ByteBuffer) -> String? {
        let line: ClientLine
        do {
            line = try ControlProtocol.decoder.decode(ClientLine.self, from: Data(buffer: raw))
        } catch {
            return "not a command (\(Self.describe(error)))"
        }
        if line.t == "presence" {
            hub.setPresence(console, open: line.conversation, typing: line.typing ?? false)
            return nil
        }
        let effect: Effect
        switch Self.effect(from: line) {
        case .problem(let problem): return problem
        case .effect(let e): effect = e
        }
        switch effect {
        case .sendDraft(let id, _, _, let conversation), .discardDraft(let id, let conversation):
            if let who = hub.claimDraft(id, in: conversation, by: operatorName, console: console) {
                var answer = ServerLine(t: "status_note")
                answer.message = "\(who) already answered with this draft: nothing was sent"
                answer.level = .warning
                queue.pushDirect(ControlProtocol.line(answer))
                return nil
            }
        default:
            break
        }
        runner.perform(effect)
        return nil
    }

    private var runner: EffectRunner {
        EffectRunner(session: hub.session, store: hub.session.store, inbox: ConsoleReplies(queue: queue, hub: hub), notifier: nil,
                     operatorName: operatorName, onQuit: {})
    }

    /// A line read: the effect it asks for, or what is wrong with it.
    enum Parsed { case effect(Effect), problem(String) }

    /// The effect a line asks for.
    static func effect(from l: ClientLine) -> Parsed {
        func need<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else { throw Missing(field: field) }
            return value
        }
        struct Missing: Error { var field: String }
        do {
            switch l.t {
            case "send": return .effect(.send(try need(l.text, "text"), to: try need(l.conversation, "conversation")))
            case "resend": return .effect(.resend(try need(l.text, "text"), replyTo: l.replyTo, to: try need(l.conversation, "conversation")))
            case "image":
                guard let data = Data(base64Encoded: try need(l.data, "data")) else { return .problem("image: data is not base64") }
                guard data.count <= ControlProtocol.maxImage else { return .problem("image: larger than \(ControlProtocol.maxImage) bytes") }
                guard let kind = MediaKind(rawValue: l.kind ?? "image") else { return .problem("image: kind is not one of image, video, voice, file") }
                return .effect(.sendFileData(data, filename: try need(l.filename, "filename"), kind: kind, to: try need(l.conversation, "conversation")))
            case "send_draft":
                return .effect(.sendDraft(try need(l.draft, "draft"), try need(l.text, "text"), replyTo: l.replyTo,
                                           to: try need(l.conversation, "conversation")))
            case "discard_draft": return .effect(.discardDraft(try need(l.draft, "draft"), try need(l.conversation, "conversation")))
            case "set_owner": return .effect(.setOwner(try need(l.owner, "owner"), try need(l.conversation, "conversation")))
            case "permission":
                return .effect(.answerPermission(requestID: try need(l.request, "request"), optionID: l.option,
                                                  try need(l.conversation, "conversation")))
            case "load_page": return .effect(.loadPage(try need(l.conversation, "conversation"), before: l.before))
            case "load_through":
                return .effect(.loadThrough(try need(l.conversation, "conversation"), uid: try need(l.uid, "uid"), before: l.before))
            case "mark_read": return .effect(.markRead(try need(l.conversation, "conversation")))
            case "alias": return .effect(.setAlias(openID: try need(l.openID, "openid"), name: l.name))
            case "search": return .effect(.search(try need(l.query, "query"), in: l.conversation))
            case "reconnect": return .effect(.reconnect)
            case "recall": return .effect(.recall(l.uid, try need(l.conversation, "conversation")))
            case "hello": return .problem("hello was already said")
            default: return .problem("unknown command \"\(TextSanitizer.line(String(l.t.prefix(40))))\"")
            }
        } catch let missing as Missing {
            return .problem("\(l.t): \(missing.field) is missing")
        } catch {
            return .problem("\(error)")
        }
    }

    /// The line a console sends for an effect (nil: the effect stays in the console).
    static func line(for effect: Effect) -> ClientLine? {
        var l: ClientLine
        switch effect {
        case .send(let text, let id):
            l = ClientLine(t: "send"); l.text = text; l.conversation = id
        case .resend(let text, let replyTo, let id):
            l = ClientLine(t: "resend"); l.text = text; l.replyTo = replyTo; l.conversation = id
        case .sendFileData(let data, let filename, let kind, let id):
            l = ClientLine(t: "image"); l.data = data.base64EncodedString(); l.filename = filename; l.conversation = id
            l.kind = kind.rawValue
        case .sendDraft(let draft, let text, let replyTo, let id):
            l = ClientLine(t: "send_draft"); l.draft = draft; l.text = text; l.replyTo = replyTo; l.conversation = id
        case .discardDraft(let draft, let id):
            l = ClientLine(t: "discard_draft"); l.draft = draft; l.conversation = id
        case .setOwner(let owner, let id):
            l = ClientLine(t: "set_owner"); l.owner = owner; l.conversation = id
        case .answerPermission(let request, let option, let id):
            l = ClientLine(t: "permission"); l.request = request; l.option = option; l.conversation = id
        case .loadPage(let id, let before):
            l = ClientLine(t: "load_page"); l.conversation = id; l.before = before
        case .loadThrough(let id, let uid, let before):
            l = ClientLine(t: "load_through"); l.conversation = id; l.uid = uid; l.before = before
        case .markRead(let id):
            l = ClientLine(t: "mark_read"); l.conversation = id
        case .setAlias(let openID, let name):
            l = ClientLine(t: "alias"); l.openID = openID; l.name = name
        case .search(let query, let id):
            l = ClientLine(t: "search"); l.query = query; l.conversation = id
        case .reconnect:
            l = ClientLine(t: "reconnect")
        case .recall(let uid, let id):
            l = ClientLine(t: "recall"); l.uid = uid; l.conversation = id
        case .presence(let id, let typing):
            l = ClientLine(t: "presence"); l.conversation = id; l.typing = typing
        case .sendFile, .bell, .notify, .redraw, .quit:
            return nil
        }
        return l
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        case DecodingError.keyNotFound(let key, _): return "\(key.stringValue) is missing"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return (c.codingPath.map(\.stringValue).joined(separator: ".") + ": " + c.debugDescription)
        default: return "\(error)"
        }
    }
}

/// Answers to one console's own requests (pages, search, alias), straight into its queue.
struct ConsoleReplies: AppEventSink {
    let queue: ConsoleQueue
    let hub: ServeHub

    func post(_ event: AppEvent) {
        guard let line = Self.line(for: event) else { return }
        if case .aliasSet = event {
            hub.broadcast(line)   // every console shows the new name
        } else {
            queue.pushDirect(ControlProtocol.line(line))
        }
    }

    static func line(for event: AppEvent) -> ServerLine? {
        var l: ServerLine
        switch event {
        case .pageLoaded(let id, let page, let complete):
            l = ServerLine(t: "page"); l.conversation = id; l.messages = page; l.complete = complete
        case .jumpLoaded(let id, let page, let complete):
            l = ServerLine(t: "jump"); l.conversation = id; l.messages = page; l.complete = complete
        case .searchResults(let query, let results):
            l = ServerLine(t: "search_results"); l.query = query; l.messages = results
        case .aliasSet(let openID, let name):
            l = ServerLine(t: "alias_set"); l.openID = openID; l.name = name
        case .storeFailed(let message):
            l = ServerLine(t: "store_failed"); l.message = message
        case .status(let text, let level):
            l = ServerLine(t: "status_note"); l.message = text; l.level = level
        default:
            return nil
        }
        return l
    }
}
