import Foundation

extension AgentRouter {
    /// Lets go of idle conversations' states once there are more than about twice
    /// ``HandoffPolicy/keptConversations``, the least recently used first, down to that many. Runs
    /// when a new state would pass the mark, and after every `keptConversations` finished turns (a
    /// burst's conversations are busy when they arrive, idle once answered).
    ///
    /// A state is let go only when the store gives it back as it is (``state(_:)`` reads the owner
    /// and the recent messages): no turn runs or is waiting, no reply is still being sent, no draft
    /// waits for the operator, nobody waits for the agent's answer (without an agent, nobody does), and
    /// its last ownership change is committed
    /// (while the store fails, nothing is let go). Without a store nothing is let go at all.
    func sweepIfNeeded() {
        let keep = max(1, policy.keptConversations)
        guard conversations.count >= 2 * keep, conversations.count >= sweepAt || turnsSinceSweep >= keep, let store else { return }
        turnsSinceSweep = 0
        let sending = Set(delivering.values.map(\.conversation))
        var idle: [(use: Int, conversation: ConversationID)] = []
        // Each state read where it lies (a state is large: copying every one was most of a sweep).
        // Without an agent no turn ever reads `answerDue`: a conversation waiting for the operator
        // holds nothing the store does not have (100,000 users waiting took serve's peak from 94.5 to 146 MB).
        let states = conversations.values, agentless = backend == nil
        for index in conversations.indices
        where states[index].turn == nil && states[index].drafts.isEmpty && (agentless || !states[index].answerDue) {
            let conversation = conversations.keys[index]
            if sending.contains(conversation) { continue }
            if let ticket = states[index].ownershipTicket, !store.isSaved(ticket) { continue }
            idle.append((states[index].lastUse, conversation))
        }
        idle.sort { $0.use < $1.use }
        for (_, conversation) in idle.prefix(max(0, conversations.count - keep)) { conversations[conversation] = nil }
        // A dictionary keeps the room it once needed: after a burst of 20,000 users, megabytes.
        if conversations.capacity > 4 * max(conversations.count, keep) {
            var fresh = [ConversationID: ConversationState](minimumCapacity: conversations.count)
            for (conversation, s) in conversations { fresh[conversation] = s }
            conversations = fresh
        }
        // When few could go (many busy), the next sweep waits for `keep` more new states, or half as
        // many as are held: a sweep reads every state, so its cost per new state stays constant.
        sweepAt = conversations.count + max(keep, conversations.count / 2)
    }

    /// States held in memory now (tests).
    var heldConversations: Int { conversations.count }

    /// Whether the state of `conversation` is in memory (tests).
    func holds(_ conversation: ConversationID) -> Bool { conversations[conversation] != nil }
}
