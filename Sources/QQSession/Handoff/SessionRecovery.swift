import Foundation

/// What a start does about what the last run left behind (README, "Recovery after a crash"):
/// C2C streams a crash left open get a valid closing frame while their reply window lasts (else QQ
/// rolls them back to their first chunk), and users who were waiting for the agent get a turn now if
/// their reply window is open, or stay WAITING for the operator. Runs once, beside the gateway.
struct SessionRecovery: Sendable {
    let store: MessageStore
    let sender: OutboundSender
    let router: AgentRouter
    let ledger: LedgerBox
    let clock: SessionClock
    let emit: @Sendable (SessionEvent) -> Void

    func run() async {
        await closeStreams()
        await answerWaiting()
    }

    private func closeStreams() async {
        // A C2C reply window lasts an hour at most: older streams cannot be closed any more.
        guard let streams = try? store.abandonedStreams(since: clock.date.addingTimeInterval(-2 * 3600)), !streams.isEmpty else { return }
        var closed = 0
        for stream in streams {
            if await sender.closeAbandoned(stream) {
                closed += 1
                store.enqueue([.statusDetail(uid: stream.uid, detail: "qqtui stopped before it finished; its QQ stream was closed at the next start")])
            }
        }
        let open = streams.count - closed
        emit(.notice(Notice(level: open == 0 ? .info : .warning, kind: .sendFallback, message:
            "\(streams.count) reply stream(s) were left open when qqtui stopped: \(closed) closed now"
            + (open > 0 ? ", \(open) could not be (reply window over or refused): QQ shows their first part" : ""))))
    }

    private func answerWaiting() async {
        guard let summaries = try? await store.conversations() else { return }
        let waiting = summaries.filter { $0.waitingSince != nil }.map(\.id)
        guard !waiting.isEmpty else { return }
        let (ledger, clock) = (self.ledger, self.clock)
        let (answered, left) = await router.recover(waiting) { ledger.entry($0, now: clock.date) != nil }
        guard !answered.isEmpty || !left.isEmpty else { return }
        var parts: [String] = []
        if !answered.isEmpty { parts.append("\(answered.count) answered by the agent now") }
        if !left.isEmpty { parts.append("\(left.count) left WAITING for you (their reply window is over)") }
        emit(.notice(Notice(level: left.isEmpty ? .info : .warning, kind: .agentError, message:
            "\(answered.count + left.count) user(s) were waiting for the agent when qqtui stopped: " + parts.joined(separator: ", "))))
    }
}
