import Foundation

extension AgentRouter {
    /// Starts a turn with everything the agent has not seen, unless one runs already.
    func startTurnIfIdle(_ conversation: ConversationID) {
        guard let backend, !stopping else { return }
        var s = state(conversation)
        guard s.turn == nil, s.owner != .human, s.answerDue else { return }
        guard runningTurns < max(1, policy.maxConcurrentTurns) else {
            waitingForTurn.append(conversation)
            return
        }
        runningTurns += 1
        // Member sessions: the member whose question has waited longest, and only their part.
        let member = memberSessions(conversation) ? s.nextMember : nil
        let newMessages = s.unseen(for: member)
        let replyTo = member.flatMap { s.lastByMember[$0] } ?? s.lastUserMessage?.id
        let request = TurnRequest(conversation: conversation, newMessages: newMessages,
                                  history: s.history(limit: policy.historyMessages, for: member),
                                  user: member ?? s.lastUserMessage?.author, member: member)
        let writer = s.owner == .agent ? makeWriter(conversation, replyTo) : nil
        let marked = s.markSeen(for: member)
        let turn = RunningTurn(id: request.turnID, mode: s.owner, writer: writer, seenSeqs: marked.seqs, seenUpTo: marked.last,
                               member: member, replyTo: replyTo, startedAt: clock.now)
        // Another member's question still waits: it gets the next turn.
        s.answerDue = member != nil && s.hasUnseenAddressed
        s.turn = turn
        conversations[conversation] = s
        var started = AgentActivity(conversation: conversation, turnID: turn.id,
                                    kind: .started(mode: turn.mode, backend: backend.name, outboundID: writer?.id,
                                                   messages: newMessages.count), replyTo: replyTo)
        started.member = member
        emit(.agent(started))
        turn.task = Task { await self.run(turn, request, backend) }
        turn.watchdog = Task { await self.watch(turn, conversation) }
        if policy.typing, !conversation.isGroup, turn.mode == .agent {
            turn.typing = Task { await self.showTyping(turn, conversation) }
        }
    }

    /// The turn's current record, if it is still the conversation's running turn.
    private func current(_ conversation: ConversationID, _ id: UUID) -> RunningTurn? {
        guard let t = conversations[conversation]?.turn, t.id == id else { return nil }
        return t
    }

    private func run(_ turn: RunningTurn, _ request: TurnRequest, _ backend: any AgentBackend) async {
        let conversation = request.conversation
        let agentTurn: any AgentTurn
        do {
            agentTurn = try await backend.startTurn(request)
        } catch {
            await fail(turn, conversation, Self.describe(error))
            return
        }
        guard current(conversation, turn.id) != nil else {
            await agentTurn.cancel()     // taken back while it was starting
            return
        }
        turn.agentTurn = agentTurn
        do {
            for try await event in agentTurn.events {
                // Late events of a stopped turn are never forwarded.
                guard current(conversation, turn.id) != nil else { continue }
                turn.lastEventAt = clock.now
                await apply(event, turn, conversation)
                if turn.capped {
                    // Cut at the cap: the agent stops; what it wrote up to the cap is delivered as usual.
                    await agentTurn.cancel()
                    break
                }
            }
            guard current(conversation, turn.id) != nil else { return }
            await complete(turn, conversation)
        } catch {
            guard current(conversation, turn.id) != nil else { return }
            await fail(turn, conversation, Self.describe(error))
        }
    }

    private func apply(_ event: AgentEvent, _ turn: RunningTurn, _ conversation: ConversationID) async {
        func activity(_ kind: AgentActivity.Kind) {
            emit(.agent(AgentActivity(conversation: conversation, turnID: turn.id, kind: kind)))
        }
        switch event {
        case .textDelta(var text):
            guard !text.isEmpty, !turn.capped else { return }
            turn.typing?.cancel()   // the words themselves are on their way
            let room = policy.maxReplyLength - turn.length
            let count = text.count
            if count > room {
                text = String(text.prefix(max(0, room)))
                turn.capped = true
            }
            turn.length += min(count, max(0, room))
            if !text.isEmpty {
                turn.text += text
                activity(.event(.textDelta(text)))
                await turn.writer?.append(text)
            }
            if turn.capped {
                await turn.writer?.append(policy.cutNotice)
                emit(.notice(Notice(level: .warning, kind: .agentError, message:
                    "the agent's reply passed \(policy.maxReplyLength) characters ([handoff] max_reply_length): cut there, the agent was stopped",
                    subject: conversation.description)))
            }
        case .segmentBreak:
            activity(.event(event))
            await turn.writer?.segmentBreak()
        case .finished(let reason):
            turn.stopReason = reason
        case .thought, .tool, .permission, .usage, .note:
            activity(.event(event))
        }
    }

    /// The agent finished: the reply is closed (or becomes the draft), the transcript gets it, and
    /// messages that arrived meanwhile start the next turn.
    private func complete(_ turn: RunningTurn, _ conversation: ConversationID) async {
        var s = state(conversation)
        s.turn = nil
        turn.watchdog?.cancel()
        turn.typing?.cancel()
        var outcome: AgentActivity.Outcome
        switch turn.stopReason ?? .endTurn {
        case .endTurn, .other: outcome = .completed(cut: false)
        case .maxTokens: outcome = .completed(cut: true)
        case .refusal: outcome = .refused
        case .cancelled: outcome = .cancelled(reason: "the agent stopped the turn")
        }
        if turn.capped { outcome = .completed(cut: true) }   // cut by qqtui at max_reply_length
        keep(turn, in: &s, conversation)
        conversations[conversation] = s
        if case .refused = outcome {
            emit(.notice(Notice(level: .warning, kind: .agentError, message: "the agent refused to answer", subject: conversation.description)))
        }
        if case .completed(cut: true) = outcome, !turn.capped {
            emit(.notice(Notice(level: .warning, kind: .agentError, message: "the agent's answer was cut at its length limit",
                                subject: conversation.description)))
        }
        // The reply is delivered (or has failed) before the turn is reported finished, within the
        // turn's time: a reply still streaming at the deadline is closed validly and marked failed.
        if let writer = turn.writer {
            let limit = policy.turnTimeout
            let deadline = turn.startedAt + limit
            @Sendable func reason() -> String {
                "the reply was still being sent when the turn reached \(limit.shortDescription) (turn_timeout_s)"
            }
            let timer = Task { [clock, emit] in
                guard (try? await clock.sleep(until: deadline)) != nil else { return false }
                let reason = reason()
                emit(.notice(Notice(level: .error, kind: .agentError, message: "agent reply stopped: \(reason)",
                                    subject: conversation.description)))
                _ = await writer.cancel(failure: "agent: \(reason)")
                return true
            }
            delivering[turn.id] = writer
            let delivered = await writer.finish()
            delivering[turn.id] = nil
            timer.cancel()
            if await timer.value { outcome = .failed(reason: reason()) }
            if delivered.status == .sent, case .completed = outcome { await offerHumanButton(conversation, replyTo: turn.replyTo) }
        }
        emit(.agent(AgentActivity(conversation: conversation, turnID: turn.id, kind: .finished(outcome, text: turn.text))))
        releaseTurn()
        startTurnIfIdle(conversation)
        sweepIfNeeded()
    }

    /// A turn ended: conversations waiting for one start, the longest waiting first.
    func releaseTurn() {
        runningTurns = max(0, runningTurns - 1)
        turnsSinceSweep += 1
        while runningTurns < max(1, policy.maxConcurrentTurns), let next = waitingForTurn.popFirst() {
            startTurnIfIdle(next)
        }
    }

    /// The agent failed (or timed out): the reply stops with a valid closing frame and is marked
    /// failed; the operator is told; the conversation stays usable.
    private func fail(_ turn: RunningTurn, _ conversation: ConversationID, _ reason: String) async {
        emit(.notice(Notice(level: .error, kind: .agentError, message: "agent turn failed: \(reason)", subject: conversation.description)))
        logger.error("agent turn failed", metadata: ["conversation": "\(conversation)", "reason": "\(reason)"])
        if let task = stopTurn(conversation, outcome: .failed(reason: reason)) { await task.value }
        startTurnIfIdle(conversation)
    }

    /// Ends the running turn now: nothing more is forwarded, the agent is cancelled for real, an open
    /// C2C stream gets its closing frame. Returns the task that finishes the cleanup. With `redo`, the
    /// messages the turn was answering go to the next turn again (its partial answer is dropped).
    @discardableResult
    func stopTurn(_ conversation: ConversationID, outcome: AgentActivity.Outcome, redo: Bool = false) -> Task<Void, Never>? {
        guard var s = conversations[conversation], let turn = s.turn else { return nil }
        s.turn = nil
        defer { releaseTurn() }
        turn.watchdog?.cancel()
        turn.typing?.cancel()
        if redo {
            s.markUnseen(turn.seenSeqs)
            s.answerDue = true
        } else {
            keep(turn, in: &s, conversation)
        }
        conversations[conversation] = s
        emit(.agent(AgentActivity(conversation: conversation, turnID: turn.id, kind: .finished(outcome, text: turn.text))))
        var failure: String?
        if case .failed(let reason) = outcome { failure = "agent: \(reason)" }
        let writer = turn.writer, agentTurn = turn.agentTurn
        // Both at once: the agent stops now, while the closing frame goes to QQ.
        return Task {
            async let agentStopped: Void = agentTurn?.cancel() ?? ()
            if let writer { _ = await writer.cancel(failure: failure) }
            await agentStopped
        }
    }

    /// What the agent wrote joins the transcript right after what it had seen (and, in DRAFT mode,
    /// becomes the draft waiting for the operator).
    private func keep(_ turn: RunningTurn, in s: inout ConversationState, _ conversation: ConversationID) {
        guard !turn.text.isEmpty else { return }
        s.insertReply(ChatMessage(role: .assistant, author: "agent", text: turn.text), after: turn.seenUpTo, member: turn.member,
                      limit: Self.transcriptLimit)
        if turn.mode == .draft {
            s.drafts.append(AgentDraft(id: turn.id, conversation: conversation, replyTo: turn.replyTo, text: turn.text))
        }
    }

    /// The typing notice, once the agent took ``HandoffPolicy/typingDelay`` and again every
    /// ``HandoffPolicy/typingRefresh``, until the agent's first words (or the end of the turn). Each
    /// one is a passive reply to the message the turn answers.
    private func showTyping(_ turn: RunningTurn, _ conversation: ConversationID) async {
        if policy.typingDelay > .zero {
            guard (try? await clock.sleep(for: policy.typingDelay)) != nil else { return }
        }
        while !Task.isCancelled, current(conversation, turn.id) != nil, turn.text.isEmpty {
            // Cancelling stops the next notice, never one already on its way: a request cut mid-body
            // reaches the platform broken (and may still have cost a reply of the budget).
            let send = sendTyping, replyTo = turn.replyTo
            guard await Task(operation: { await send(conversation, replyTo) }).value else { return }
            guard (try? await clock.sleep(for: policy.typingRefresh)) != nil else { return }
        }
    }

    /// Cancels the turn when the agent says nothing for too long (first event, gap, whole turn).
    private func watch(_ turn: RunningTurn, _ conversation: ConversationID) async {
        while !Task.isCancelled {
            let now = clock.now
            let total = turn.startedAt + policy.turnTimeout
            let gap = turn.lastEventAt.map { $0 + policy.idleTimeout } ?? (turn.startedAt + policy.firstEventTimeout)
            let deadline = min(total, gap)
            if now >= deadline {
                guard current(conversation, turn.id) != nil else { return }
                let reason: String
                if now >= total { reason = "the turn took longer than \(policy.turnTimeout.shortDescription)" }
                else if turn.lastEventAt == nil { reason = "no answer from the agent within \(policy.firstEventTimeout.shortDescription)" }
                else { reason = "the agent went quiet for \(policy.idleTimeout.shortDescription)" }
                await fail(turn, conversation, reason)
                return
            }
            try? await clock.sleep(until: deadline)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let qq = error as? QQError { return qq.message }
        return "\(error)"
    }
}

/// Conversations waiting for a free agent turn, oldest first, each once.
struct WaitingLine: Sendable {
    private var order: [ConversationID] = []
    private var head = 0
    private var members: Set<ConversationID> = []

    var count: Int { members.count }

    mutating func append(_ conversation: ConversationID) {
        if members.insert(conversation).inserted { order.append(conversation) }
    }

    mutating func popFirst() -> ConversationID? {
        guard head < order.count else { return nil }
        let next = order[head]
        head += 1
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
        members.remove(next)
        if members.isEmpty { (order, head, members) = ([], 0, []) }   // the room a burst needed goes too
        return next
    }
}
