/// Keeps the agent from answering a message that is shown but not yet stored. A batch whose commit
/// outlasted the processor's patience (another process holds the file's lock, or a burst keeps the
/// writer busy) is shown at once, but the router takes it, and everything after it, only once the
/// commit is in: a crash meanwhile leaves nothing answered that the platform will replay (no second
/// answer, no msg_seq used twice). Messages the commit finds already stored are not routed at all.
actor CommitFence {
    private var held = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var alreadyStored: Set<String> = []

    /// Routers waiting at the fence now (tests watch the router reach it).
    var waiting: Int { waiters.count }

    /// A batch is shown before its commit.
    func hold() { held += 1 }

    /// Its commit is in (or failed: the store keeps and retries it, and the session answers anyway);
    /// `duplicates` are messages an earlier run had stored.
    func release(duplicates: [String]) {
        alreadyStored.formUnion(duplicates)
        held = max(0, held - 1)
        guard held == 0 else { return }
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    /// Waits until no shown batch waits for its commit; false for a message found already stored.
    func pass(_ id: String) async -> Bool {
        if held > 0 { await withCheckedContinuation { waiters.append($0) } }
        return alreadyStored.remove(id) == nil
    }
}
