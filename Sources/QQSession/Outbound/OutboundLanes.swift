import Synchronization

/// One lane per conversation: what is sent to a conversation goes out in the order it was asked
/// for, even when an earlier message is still retrying.
///
/// A message's order is fixed when its place is taken (``reserve(_:)``, synchronous), not when it
/// starts waiting: what a sender does between the two (keeping the message on disk, telling the
/// router) cannot let a later message pass it.
final class OutboundLanes: Sendable {
    /// Each conversation's last place taken and not yet released.
    private let tails = Mutex<[ConversationID: LaneGate]>([:])
    /// Sends waiting for a place before theirs (what tests wait for).
    private let waiters = Atomic<Int>(0)

    init() {}

    /// Takes the next place in `conversation`'s lane, behind every place taken before.
    func reserve(_ conversation: ConversationID) -> SendPlace {
        let gate = LaneGate()
        let previous = tails.withLock { tails in
            defer { tails[conversation] = gate }
            return tails[conversation]
        }
        return SendPlace(conversation: conversation, after: previous, gate: gate, lanes: self)
    }

    /// Runs `work` in `place`: once every place taken before it is released. Releases it after.
    func run<T: Sendable>(_ place: SendPlace, _ work: @Sendable () async -> T) async -> T {
        if let after = place.after {
            waiters.add(1, ordering: .relaxed)
            await after.wait()
            waiters.subtract(1, ordering: .relaxed)
        }
        let result = await work()
        place.release()
        return result
    }

    /// How many sends wait for a place before theirs right now.
    var waiting: Int { waiters.load(ordering: .relaxed) }

    /// Returns once nothing is queued or being sent in any conversation.
    func idle() async {
        while let gate = tails.withLock({ $0.values.first }) {
            await gate.wait()
        }
    }

    /// Forgets `gate` as its conversation's tail (unless a later place was taken meanwhile).
    fileprivate func released(_ gate: LaneGate, in conversation: ConversationID) {
        tails.withLock { tails in
            if tails[conversation] === gate { tails[conversation] = nil }
        }
    }
}

/// A message's place in its conversation's lane (``Session/holdPlace(in:)``): it goes out after
/// every message whose place was taken before, whenever its own send starts.
///
/// A send given the place uses it and releases it. A place dropped unused releases itself, so the
/// messages behind it are never held up.
public final class SendPlace: Sendable {
    /// The conversation whose lane this is.
    public let conversation: ConversationID
    fileprivate let after: LaneGate?
    private let gate: LaneGate
    private let lanes: OutboundLanes

    fileprivate init(conversation: ConversationID, after: LaneGate?, gate: LaneGate, lanes: OutboundLanes) {
        (self.conversation, self.after, self.gate, self.lanes) = (conversation, after, gate, lanes)
    }

    /// Lets the next place go. Idempotent.
    func release() {
        lanes.released(gate, in: conversation)
        gate.open()
    }

    deinit { release() }
}

/// Opened once; waiters before and after the opening all go on.
final class LaneGate: Sendable {
    private struct State {
        var open = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Opens the gate: every waiter goes on, and later waits return at once. Idempotent.
    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the gate is open.
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isOpen = state.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if isOpen { continuation.resume() }
        }
    }
}
