import Foundation

/// Normal messages sent for a reply: the accumulated text (groups, no passive route), a stream's
/// fallback, and images. Each goes through the conversation's lane, so it keeps its place among the
/// other messages to that conversation.
extension ReplyWriter {
    /// Sends `text` as a normal message and folds its parts into the reply (reported unless
    /// `report` is false: the caller reports the reply's next state itself).
    func sendNormally(_ text: String, report: Bool = true) async {
        // Kept before it waits for its lane, without waiting for the commit: the part's own record
        // before its POST is committed after it (the store keeps call order), and that one is waited for.
        sender.store?.enqueue([.outbound(message)])
        let quiet = sender.quiet
        let snapshot = OutboundMessage.new(.text, to: conversation, text: text, replyTo: message.replyTo, origin: message.origin,
                                           id: message.id, createdAt: message.createdAt)
        let result = await lanes.run(lanes.reserve(conversation)) {
            var m = snapshot
            await quiet.sendText(&m)
            return m
        }
        merge(result, report: report)
    }

    /// Uploads and sends an image, unless the reply is taken back while it waits for the lane.
    func sendImage(_ data: Data, filename: String) async {
        sender.store?.enqueue([.outbound(message)])   // as in sendNormally
        let quiet = sender.quiet
        let snapshot = OutboundMessage.new(.image, to: conversation, text: "", replyTo: message.replyTo, origin: message.origin,
                                           id: message.id, createdAt: message.createdAt)
        let result: OutboundMessage? = await lanes.run(lanes.reserve(conversation)) { [weak self] () async -> OutboundMessage? in
            if await self?.isCancelled ?? true { return nil }
            var m = snapshot
            await quiet.sendMedia(&m, data: data, filename: filename)
            return m
        }
        if let result { merge(result) }
    }

    /// Folds a helper message's parts into the reply's record.
    private func merge(_ other: OutboundMessage, report: Bool = true) {
        for var part in other.parts {
            part.index = message.parts.count
            message.parts.append(part)
        }
        switch other.status {
        case .failed, .refused:
            lifecycle.noteUndelivered()
            message.error = other.error ?? message.error
            if message.error == nil, case .refused(let reason) = other.status {
                message.error = QQError(kind: .platform, message: reason)
            }
        default: break
        }
        message.updatedAt = clock.date
        if report { sender.emit(.outbound(message)) }
    }
}
