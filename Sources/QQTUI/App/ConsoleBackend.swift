import Foundation
import QQSession
import Synchronization

/// What a console runs against: its own session (``LocalBackend``) or a serve it attached to
/// (``RemoteBackend``). The screen, keys and reducer are the same either way.
protocol ConsoleBackend: Sendable {
    /// Starts feeding `inbox`: the session's events and what the console starts with.
    func start(inbox: UIInbox) async
    /// Runs an effect the UI thread does not handle (sends, owner changes, page loads, …).
    func perform(_ effect: Effect)
    /// The route a reply to `conversation` would take now (asked on the UI thread at every frame).
    func route(for conversation: ConversationID) -> ReplyRoute?
    /// Stops, once the terminal is restored.
    func stop() async
}

/// The console's own session: the store read at start, effects run in this process.
final class LocalBackend: ConsoleBackend {
    let session: Session
    let operatorName: String?
    private let runner = Mutex<EffectRunner?>(nil)
    private let forward = Mutex<Task<Void, Never>?>(nil)

    init(session: Session, operatorName: String?) {
        self.session = session
        self.operatorName = operatorName
    }

    func start(inbox: UIInbox) async {
        let session = self.session
        runner.withLock {
            $0 = EffectRunner(session: session, store: session.store, inbox: inbox, notifier: nil, operatorName: operatorName, onQuit: {})
        }
        forward.withLock { $0 = Task.detached { for await event in session.events { inbox.post(.session(event)) } } }
        if let store = session.store {
            Task.detached {
                do {
                    async let list = store.conversations(limit: 5000)
                    async let names = store.aliases()
                    inbox.post(.conversationsLoaded(try await list, aliases: try await names))
                } catch {
                    inbox.post(.storeFailed((error as? QQError)?.message ?? "\(error)"))
                }
            }
        }
        await session.start()
    }

    func perform(_ effect: Effect) { runner.withLock { $0 }?.perform(effect) }

    func route(for conversation: ConversationID) -> ReplyRoute? { session.route(for: conversation) }

    func stop() async {
        await session.shutdown()
        await forward.withLock { $0 }?.value
    }
}
