import Foundation

extension AgentRouter {
    /// A user pressed a button. The human button hands the conversation to a person: owner HUMAN
    /// (audited, actor `user`), the running turn stopped and its stream closed validly, the user told
    /// someone is coming, and the conversation waiting for the operator.
    func interaction(_ press: Interaction) async {
        guard press.buttonData == HandoffPolicy.humanButtonData, policy.humanButton != nil else { return }
        let conversation = press.conversation
        var s = state(conversation)
        // The user waits for a person from now on, whoever owned it.
        s.answerDue = false
        conversations[conversation] = s
        if s.owner != .human {
            setOwner(.human, for: conversation, actor: "user", reason: "the user pressed “\(press.label ?? policy.humanButton ?? "")”")
        }
        // The stopped turn's closing frame goes before the answer (one lane per conversation).
        emit(.notice(Notice(level: .warning, kind: .humanRequested, message: "\(conversation) asks for a person (button pressed)",
                            subject: conversation.description, at: press.receivedAt)))
        // Told in words unless that takes the operator's last passive reply (the pressed button reads
        // "已通知人工客服" anyway).
        let replyTo = memberSessions(conversation) ? s.lastByMember[press.userOpenID] ?? s.lastUserMessage?.id : s.lastUserMessage?.id
        if await !sendLine(conversation, replyTo, policy.humanAnswer, nil) {
            emit(.notice(Notice(level: .info, kind: .humanRequested, message:
                "\(conversation): the user was not answered in words (that would take the last passive reply, kept for you); the button reads “\(policy.humanButtonPressed)”",
                subject: conversation.description)))
        }
    }

    /// After an agent reply: the human button under it, as one more message, when the reply window
    /// has a reply to spare beyond the last one (kept for the operator).
    func offerHumanButton(_ conversation: ConversationID, replyTo: String?) async {
        guard let keyboard = policy.humanButtonKeyboard, state(conversation).owner == .agent else { return }
        _ = await sendLine(conversation, replyTo, policy.humanButtonPrompt, keyboard)
    }
}
