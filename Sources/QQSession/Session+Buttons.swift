import Foundation

extension Session {
    /// The agent side's short message (the human button, its answer), in the conversation's lane.
    /// Skipped (false) when it would spend the last passive reply of the window (that one is the
    /// operator's) or go proactively.
    static func sendLine(_ text: String, keyboard: Keyboard?, to conversation: ConversationID, replyTo: String?,
                         sender: OutboundSender, lanes: OutboundLanes) async -> Bool {
        switch sender.route(for: conversation, replyingTo: replyTo) {
        case .passive(_, _, let left) where left >= 2, .passiveEvent(_, _, let left) where left >= 2: break
        default: return false
        }
        // `auto`: said by qqtui on the agent's side; it answers nobody (the user still waits).
        var message = OutboundMessage.new(.text, to: conversation, text: text, replyTo: replyTo, origin: "auto", createdAt: sender.clock.date)
        message.keyboard = keyboard
        let place = lanes.reserve(conversation)
        sender.emit(.outbound(message))
        return await inLane(message, place: place, sender: sender, lanes: lanes) { await sender.sendText(&$0) }.status == .sent
    }

    /// Acknowledges a button press (`PUT /interactions/{id}`, `{"code": 0}`); a failure is a notice
    /// (the user's button shows an error), never a lost press.
    static func acknowledge(_ press: Interaction, rest: RESTClient, emit: @Sendable (SessionEvent) -> Void) async {
        let path = "/interactions/" + OutboundSender.pathComponent(press.id)
        do {
            _ = try await rest.requestData(.PUT, path, body: Data(#"{"code":0}"#.utf8), context: "acknowledge \(press.summary)")
        } catch let error as QQError where error.kind == .malformedResponse && (200..<300).contains(error.httpStatus ?? 0) {
            return
        } catch {
            emit(.notice(Notice(level: .warning, kind: .interactionError, message:
                "the press of “\(press.label ?? press.buttonData)” in \(press.conversation) was not acknowledged (the user sees an error on the button): \(QQError.transport(error, context: nil).description)",
                subject: press.id)))
        }
    }
}
