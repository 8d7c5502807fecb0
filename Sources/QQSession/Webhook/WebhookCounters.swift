import Foundation
import Synchronization

/// What the webhook listener has seen: the last callback accepted, and refusals (the session's status).
public final class WebhookCounters: Sendable {
    public struct Snapshot: Sendable, Hashable, Codable {
        public var listening: String?
        /// Built-in TLS.
        public var secure = false
        public var accepted = 0
        public var refused = 0
        public var lastCallback: Date?
        public var lastRefusal: String?
    }

    private let state = Mutex(Snapshot())
    /// Told of every change (the session turns it into the status the screens show).
    private let observer = Mutex<(@Sendable (Snapshot) -> Void)?>(nil)

    func observe(_ body: @escaping @Sendable (Snapshot) -> Void) { observer.withLock { $0 = body } }

    func listening(on address: String, secure: Bool = false) { change { $0.listening = address; $0.secure = secure } }
    func noteAccepted(_ at: Date) { change { $0.accepted += 1; $0.lastCallback = at } }
    func noteRefused(_ why: String) { change { $0.refused += 1; $0.lastRefusal = why } }

    private func change(_ body: (inout Snapshot) -> Void) {
        let now = state.withLock { s -> Snapshot in body(&s); return s }
        observer.withLock { $0 }?(now)
    }

    /// The counters now.
    public var snapshot: Snapshot { state.withLock { $0 } }
}
