/// One lane per conversation: what is sent to a conversation goes out in the order it was asked
/// for, even when an earlier message is still retrying.
actor OutboundLanes {
    private var tails: [ConversationID: Task<Void, Never>] = [:]

    /// Runs `work` after everything queued before it for `conversation`.
    func run<T: Sendable>(_ conversation: ConversationID, _ work: @escaping @Sendable () async -> T) async -> T {
        let previous = tails[conversation]
        let task = Task<T, Never> {
            await previous?.value
            return await work()
        }
        let tail = Task<Void, Never> { _ = await task.value }
        tails[conversation] = tail
        let result = await task.value
        if tails[conversation] == tail { tails[conversation] = nil }
        return result
    }

    /// Returns once nothing is queued or being sent in any conversation.
    func idle() async {
        while let tail = tails.values.first {
            await tail.value
            if let key = tails.first(where: { $0.value == tail })?.key { tails[key] = nil }
        }
    }
}
