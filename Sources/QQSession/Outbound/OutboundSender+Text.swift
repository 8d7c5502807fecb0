import Foundation

extension OutboundSender {
    /// Sends `message.text` as one or more parts (split at 2000 characters), each routed on its own.
    func sendText(_ message: inout OutboundMessage) async {
        let pieces = TextSplitter.split(message.text, limit: policy.maxLength)
        guard !pieces.isEmpty else {
            update(&message) { $0.status = .refused(reason: "nothing to send: the text is empty") }
            await persist(message)
            return
        }
        let first = message.parts.count
        update(&message) { m in
            m.status = .sending
            m.parts += pieces.enumerated().map { .init(index: first + $0, text: $1, status: .pending, attempts: 0) }
        }
        for i in first..<message.parts.count {
            let ok = await sendPart(&message, at: i)
            if !ok {
                update(&message) { m in
                    for j in (i + 1)..<m.parts.count { m.parts[j].status = .skipped }
                }
                await persist(message)
                return
            }
        }
        update(&message) { $0.status = $0.parts.allSatisfy { $0.status == .sent || $0.status == .skipped } ? .sent : $0.status }
        await persist(message)
    }

    /// One text part: plan, POST, and the platform's corrections (markdown, dedup, window/budget).
    /// Returns false when the message cannot go on (the message's status says why).
    func sendPart(_ message: inout OutboundMessage, at i: Int) async -> Bool {
        let path = Self.base(message.conversation) + "/messages"
        var replanned = false, bumped = false, textRetried = false
        var reservation = reserve(for: message.conversation, replyingTo: message.replyTo)
        while true {
            if case .refused(let reason) = reservation.route {
                update(&message) { m in
                    m.parts[i].status = .failed(reason: reason)
                    m.parts[i].route = reservation.route
                    m.status = i == 0 ? .refused(reason: reason) : .failed(reason: reason)
                }
                return false
            }
            // Buttons ride on the last part, which then goes as markdown (keyboards need it).
            let keyboard = i == message.parts.count - 1 && !markdownRefused.isOn ? message.keyboard : nil
            let markdown = useMarkdown(origin: message.origin) || keyboard != nil
            var body = textBody(message.parts[i].text, markdown: markdown)
            if let keyboard { body["keyboard"] = keyboard.json }
            body.merge(Self.routing(reservation)) { $1 }
            update(&message) { m in
                m.parts[i].status = .sending
                m.parts[i].route = reservation.route
                m.parts[i].msgSeq = reservation.seq
                m.parts[i].attempts += 1
            }
            await persist(message)
            let result = await post(path, body: body, context: "send to \(message.conversation)")
            switch result {
            case .accepted(let id, _):
                update(&message) { m in
                    m.parts[i].status = .sent
                    m.parts[i].qqMessageID = id
                }
                return true
            case .alreadyDelivered:
                update(&message) { $0.parts[i].status = .sent }
                return true
            case .failed(let error, let ambiguous):
                let key = reservation.key
                if !ambiguous, let key { ledger.refundReply(key, now: clock.date) }
                if markdown, SendCodes.isMarkdownRefusal(error), !textRetried {
                    // Not approved for markdown: plain text from now on.
                    markdownRefused.turnOn()
                    textRetried = true
                    logger.notice("markdown refused by the platform (40034012): sending text for the rest of the run")
                    emit(.notice(Notice(level: .warning, kind: .sendFallback,
                                        message: "markdown is not allowed for this bot (40034012): sending plain text from now on"
                                            + (keyboard != nil ? " (without its buttons)" : ""))))
                    reservation = reserve(for: message.conversation, replyingTo: message.replyTo)
                    continue
                }
                if SendCodes.isDedup(error), !bumped {
                    // That msg_seq was used before (an earlier run): take the next one and try once more.
                    bumped = true
                    resyncLedger(key)
                    reservation = reserve(for: message.conversation, replyingTo: message.replyTo)
                    continue
                }
                if let key, !replanned, error.qqCode.map({ SendCodes.windowOrBudget.contains($0) || $0 == SendCodes.msgIDInvalid }) == true {
                    // Our idea of the window or budget was wrong: close that entry and plan again.
                    replanned = true
                    ledger.exhaust(key, now: clock.date)
                    reservation = reserve(for: message.conversation, replyingTo: message.replyTo)
                    continue
                }
                fail(&message, part: i, error)
                return false
            }
        }
    }
}
