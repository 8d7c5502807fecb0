import Foundation

extension OutboundSender {
    /// How long one typing notice shows (the platform allows up to 60 s).
    static let typingSeconds = 60

    /// Sends "typing…" (`msg_type 6`, `input_notify`) as a passive reply to `replyTo`, only while more
    /// than two replies of its window are left (one for the answer, one for the operator). Not
    /// stored and not shown: it is gone in a minute. False when it was not sent.
    func sendTyping(to conversation: ConversationID, replyTo: String?) async -> Bool {
        guard !conversation.isGroup else { return false }
        switch route(for: conversation, replyingTo: replyTo) {
        case .passive(let id, _, let left) where left > 2 && (replyTo == nil || id == replyTo): break
        default: return false
        }
        let reservation = reserve(for: conversation, replyingTo: replyTo)
        guard case .passive = reservation.route else { return false }
        var body: [String: JSONValue] = ["msg_type": .number(6), "content": .string(""),
                                         "input_notify": .object(["input_type": .number(1), "input_second": .number(Double(Self.typingSeconds))])]
        body.merge(Self.routing(reservation)) { $1 }
        switch await post(Self.base(conversation) + "/messages", body: body, context: "typing notice to \(conversation)") {
        case .accepted, .alreadyDelivered:
            return true
        case .failed(let error, let ambiguous):
            if !ambiguous, let key = reservation.key { ledger.refundReply(key, now: clock.date) }
            logger.info("typing notice not sent", metadata: ["conversation": "\(conversation)", "error": "\(error)"])
            return false
        }
    }
}
