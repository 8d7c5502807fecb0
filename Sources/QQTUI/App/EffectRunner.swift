import Foundation
import QQSession

/// Performs the console's effects off the UI thread, against the session and the store, and posts
/// what came of them back through the inbox.
struct EffectRunner: Sendable {
    let session: Session
    let store: MessageStore?
    let inbox: any AppEventSink
    let notifier: Notifier?
    /// The operator whose console asked (recorded on what it sends and in the ownership log).
    var operatorName: String?
    /// Called once for `.quit`.
    let onQuit: @Sendable () -> Void

    /// Messages per page read from the store when the operator scrolls.
    static let pageSize = 60

    func perform(_ effect: Effect) {
        switch effect {
        case .quit:
            onQuit()
            return
        case .bell, .redraw, .presence:
            return   // the UI thread does these; presence only matters to serve
        case .notify(let title, let body):
            notifier?.notify(title: title, body: body, inbox: inbox)
            return
        case .reconnect:
            let session = self.session
            Task { await session.reconnect() }
            return
        default:
            break
        }
        let (session, store, inbox, who) = (self.session, self.store, self.inbox, self.operatorName)
        // What goes to QQ takes its place in the conversation's lane here, in the order the operator
        // sent it: the tasks below may start in any order.
        let place = effect.sendsTo.map { session.holdPlace(in: $0) }
        Task.detached {
            switch effect {
            case .send(let text, let id):
                _ = await session.send(text, to: id, by: who, place: place)
            case .resend(let text, let replyTo, let id):
                _ = await session.send(text, to: id, replyingTo: replyTo, by: who, place: place)
            case .sendFile(let path, let kind, let id):
                _ = await session.sendFile(path: path, as: kind, to: id, by: who, place: place)
            case .sendFileData(let data, let filename, let kind, let id):
                _ = await session.sendFile(data, filename: filename, as: kind, to: id, by: who, place: place)
            case .sendDraft(let draft, let text, let replyTo, let id):
                // A draft the session no longer holds (taken back meanwhile) still answers its own message.
                if await session.sendDraft(draft, for: id, text: text, by: who, place: place) == nil {
                    _ = await session.send(text, to: id, replyingTo: replyTo, by: who, place: place)
                }
            case .discardDraft(let draft, let id):
                await session.discardDraft(draft, for: id)
            case .setOwner(let owner, let id):
                await session.setOwner(owner, for: id, by: who ?? "operator",
                                       reason: owner == .human ? "taken back" : "handed over")
            case .answerPermission(let request, let option, let id):
                await session.answerPermission(request, optionID: option, in: id)
            case .recall(let uid, let id):
                do {
                    let done = if let uid { try await session.recall(uid, in: id, by: who) }
                               else { try await session.recallLast(in: id, by: who) }
                    let parts = done.qqMessageIDs.count
                    inbox.post(.status("recalled from \(id)" + (parts > 1 ? " (\(parts) QQ messages)" : ""), .info))
                } catch {
                    inbox.post(.status("not recalled: " + Self.describeFully(error), .error))
                }
            case .loadPage(let id, let before):
                guard let store else { inbox.post(.pageLoaded(id, [], complete: true)); return }
                do {
                    guard let start = try await Self.pageStart(before, in: store) else { inbox.post(.pageLoaded(id, [], complete: true)); return }
                    let page = try await store.messages(in: id, before: start.row, limit: Self.pageSize)
                    inbox.post(.pageLoaded(id, page, complete: page.count < Self.pageSize))
                } catch {
                    inbox.post(.storeFailed(Self.describe(error)))
                }
            case .loadThrough(let id, let uid, let before):
                guard let store else { inbox.post(.pageLoaded(id, [], complete: true)); return }
                do {
                    guard let start = try await Self.pageStart(before, in: store) else { inbox.post(.jumpLoaded(id, [], complete: true)); return }
                    var cursor = start.row
                    // Pages back to the message, at most the console's memory limit of them.
                    var pages: [StoredMessage] = []
                    var complete = false
                    while pages.count < ConversationModel.memoryLimit {
                        let page = try await store.messages(in: id, before: cursor, limit: Self.pageSize * 4)
                        pages += page
                        if page.count < Self.pageSize * 4 { complete = true; break }
                        if page.contains(where: { $0.uid == uid }) { break }
                        cursor = page.last?.rowID
                    }
                    inbox.post(.jumpLoaded(id, pages, complete: complete))
                } catch {
                    inbox.post(.storeFailed(Self.describe(error)))
                }
            case .markRead(let id):
                try? await store?.markRead(id)
            case .setAlias(let openID, let name):
                guard let store else { inbox.post(.storeFailed("no store: names cannot be saved")); return }
                do {
                    try await store.setAlias(name, for: openID)
                    inbox.post(.aliasSet(openID: openID, name: name))
                } catch {
                    inbox.post(.storeFailed(Self.describe(error)))
                }
            case .search(let query, let conversation):
                guard let store else { inbox.post(.searchResults(query: query, [])); return }
                do {
                    let result = try await store.search(query, in: conversation, limit: 200)
                    inbox.post(.searchResults(query: query, result.messages))
                } catch {
                    inbox.post(.storeFailed(Self.describe(error)))
                }
            default:
                break
            }
        }
    }

    /// Where reading older pages starts: before the store row of `row` (nil: from the newest).
    private struct PageStart { var row: Int64? }

    /// The start for pages older than the message `before`; nil when that message is not in the
    /// store (nothing older can be read before it).
    private static func pageStart(_ before: String?, in store: MessageStore) async throws -> PageStart? {
        guard let before else { return PageStart(row: nil) }
        return try await store.message(uid: before).map { PageStart(row: $0.rowID) }
    }

    /// An error with its QQ codes (a refusal names the code the operator looks up).
    private static func describeFully(_ error: any Error) -> String {
        guard var qq = error as? QQError else { return "\(error)" }
        qq.context = nil
        return qq.description
    }

    private static func describe(_ error: any Error) -> String {
        (error as? QQError)?.message ?? "\(error)"
    }
}
