import Foundation

extension Session {
    /// Recalls a sent message from the user's chat: `id` is its local `out-…` id or a platform message
    /// id. QQ allows it within 2 minutes of sending; after that, or when QQ refuses, the error says
    /// why with the code. A recalled message stays in the store, marked, and every screen is told
    /// (`SessionEvent.recall`).
    /// With `conversation`, a message sent elsewhere is refused (an operator's id from another chat).
    public func recall(_ id: String, in conversation: ConversationID? = nil, by operatorName: String? = nil) async throws(QQError) -> Recall {
        let found = try await findRecallable { try await $0.recallable(id: id) }
        guard let message = found, conversation == nil || message.conversation == conversation else {
            throw QQError(kind: .configuration, message: "no message sent with id \(id)" + (conversation.map { " to \($0)" } ?? "") + " in the store")
        }
        return try await recall(message, by: operatorName)
    }

    /// Recalls the newest message sent to `conversation` that QQ delivered and nobody recalled yet.
    public func recallLast(in conversation: ConversationID, by operatorName: String? = nil) async throws(QQError) -> Recall {
        guard let message = try await findRecallable({ try await $0.lastRecallable(in: conversation) }) else {
            throw QQError(kind: .configuration, message: "nothing sent to \(conversation) can be recalled")
        }
        return try await recall(message, by: operatorName)
    }

    /// Reads the store for a recall, after a flush (what was just sent may still be on its way to the file).
    private func findRecallable(_ read: (MessageStore) async throws -> RecallableMessage?) async throws(QQError) -> RecallableMessage? {
        guard let store else {
            throw QQError(kind: .configuration, message: "recall needs the store (it finds the message's QQ ids there)")
        }
        try? await store.flush()
        do { return try await read(store) } catch {
            throw QQError(kind: .store, message: "cannot read the store: \(error)")
        }
    }

    private func recall(_ message: RecallableMessage, by operatorName: String?) async throws(QQError) -> Recall {
        if let at = message.recalledAt {
            throw QQError(kind: .configuration, message: "\(message.uid) was recalled already, at \(ISO8601DateFormatter().string(from: at))")
        }
        guard !message.qqMessageIDs.isEmpty else {
            throw QQError(kind: .configuration, message: "\(message.uid) never reached QQ (\(message.status)): there is nothing to recall")
        }
        let (recalled, error) = await sender.recall(message.qqMessageIDs, in: message.conversation)
        if !recalled.isEmpty {
            let event = Recall(conversation: message.conversation, outboundID: message.uid, qqMessageIDs: recalled,
                               operatorName: operatorName, at: clock.date)
            try? await store?.write([.recalled(uid: message.uid, at: event.at)])
            continuation.yield(.recall(event))
            if error == nil { return event }
        }
        throw error ?? QQError(kind: .platform, message: "nothing was recalled")
    }
}
