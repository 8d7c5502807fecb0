import Foundation

extension SimPlatform {
    /// `DELETE /v2/{users|groups}/{id}/messages/{message_id}`: recalls a message the bot sent to that
    /// conversation within the recall window; 40064004 after it. The transcript keeps the message,
    /// marked recalled (what the user sees: "the bot recalled a message").
    func recall(isGroup: Bool, target: String, messageID: String, path: String) -> SendOutcome {
        let now = clock.now()
        let outcome: SendOutcome
        if let sent = sentByID[messageID], sent.isGroup == isGroup, sent.target == target {
            if transcript[sent.record].recalledAt != nil {
                outcome = .refused(40064001, "消息不存在或已撤回")
            } else if now.timeIntervalSince(sent.at) > configuration.recallWindow.seconds {
                outcome = .refused(40064004, "撤回消息超过时间限制")
            } else {
                transcript[sent.record].recalledAt = now
                outcome = SendOutcome(status: 200)
            }
        } else {
            // The platform's code for an unknown id is not documented; the simulator's choice.
            outcome = .refused(40064001, "消息不存在或已撤回")
        }
        record(method: "DELETE", path: path, body: nil, status: outcome.status, code: outcome.code,
               message: outcome.message, id: outcome.status == 200 ? messageID : nil)
        return outcome
    }
}
