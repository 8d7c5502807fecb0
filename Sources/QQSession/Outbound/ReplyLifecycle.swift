/// The life of a reply writer as a pure state machine: whether it takes text, what it still waits
/// for, and how it ends. Each state carries what it owns; each event returns what the writer must do
/// (NIO's `NIOAsyncWriter` state machine is the model). `Waiter` is whatever the writer resumes with
/// the outcome (a continuation in the product, a plain value in tests).
///
/// ```
/// open ──finish──▶ finishing ──text done, no helper──▶ completed(.delivered or .undelivered)
///   │                  │ cancel (unless the final accumulated text is on its way)
///   └──cancel──────────┴──▶ cancelling(failure) ──text done, no helper──▶ completed(.cancelled)
/// ```
struct ReplyLifecycle<Waiter: Sendable>: Sendable {
    /// What a reply that has not ended yet keeps track of.
    struct Work: Sendable {
        /// Helper sends (fallback text, images) under way: the reply completes after them.
        var helpers = 0
        /// A helper's message failed or was refused: the reply ends failed.
        var undelivered = false
        /// Callers waiting for the outcome.
        var waiters: [Waiter] = []
    }

    /// How a reply ended.
    enum Ending: Sendable, Equatable {
        /// Everything went out (a stream frame that failed was made good by a normal message).
        case delivered
        /// A helper's message could not be delivered.
        case undelivered
        /// Taken back; `failure` is why the agent stopped (nil: the operator took it back).
        case cancelled(failure: String?)
    }

    /// Where the reply stands.
    enum State: Sendable {
        /// Taking the agent's text.
        case open(Work)
        /// The agent is done. `textDone`: the stream is closed (or the final text sent); the reply
        /// completes once the helpers are done too. `finalSend`: the accumulated text is on its way,
        /// so a take-back can no longer stop it.
        case finishing(Work, textDone: Bool, finalSend: Bool)
        /// Taken back: nothing more goes out but a closing frame. `textDone` as in `finishing`.
        case cancelling(Work, textDone: Bool, failure: String?)
        /// The outcome is out.
        case completed(Ending)
    }

    /// What the writer does after ``finish(streaming:)``.
    enum FinishAction: Sendable, Equatable {
        /// Already closed: only wait for the outcome.
        case none
        /// Close the stream (the pump reports ``textDone()`` when it is).
        case closeStream
        /// Send the accumulated text, then report ``textDone()``.
        case sendFinalText
    }

    /// What the writer does after ``cancel(failure:streaming:)``.
    enum CancelAction: Sendable {
        /// Completed already, or the final text is on its way: only wait for the outcome.
        case none
        /// Stop the stream (it closes validly; the pump reports ``textDone()``).
        case stopStream
        /// Drop the accumulated text; then complete if `completion` says so.
        case dropText(Completion?)
    }

    /// The reply is over: set its final status from `ending` and resume `waiters` with it.
    struct Completion: Sendable {
        /// How the reply ended.
        var ending: Ending
        /// Everyone who waited for the outcome, in the order they came.
        var waiters: [Waiter]
    }

    /// Where the reply stands now.
    private(set) var state: State = .open(Work())

    /// A new reply, open for text.
    init() {}

    /// True while the agent's text is taken (before finish or take-back).
    var isOpen: Bool {
        if case .open = state { return true }
        return false
    }

    /// True once the outcome is out.
    var isCompleted: Bool {
        if case .completed = state { return true }
        return false
    }

    /// True after a take-back (before or after completing).
    var isCancelled: Bool {
        switch state {
        case .cancelling: return true
        case .completed(.cancelled): return true
        default: return false
        }
    }

    /// Helper sends under way (zero once completed).
    var helpers: Int { work?.helpers ?? 0 }

    // MARK: - Events

    /// The agent is done.
    mutating func finish(streaming: Bool) -> FinishAction {
        guard case .open(let work) = state else { return .none }
        state = .finishing(work, textDone: false, finalSend: !streaming)
        return streaming ? .closeStream : .sendFinalText
    }

    /// Take-back, or the agent failed (`failure`). A final accumulated send cannot be stopped.
    mutating func cancel(failure: String?, streaming: Bool) -> CancelAction {
        let work: Work, textDone: Bool
        switch state {
        case .open(let w): (work, textDone) = (w, false)
        case .finishing(let w, let done, let finalSend):
            guard !finalSend else { return .none }
            (work, textDone) = (w, done)
        case .cancelling, .completed: return .none
        }
        // Accumulated text has nothing in flight to close: its side is done at once.
        state = .cancelling(work, textDone: textDone || !streaming, failure: failure)
        return streaming ? .stopStream : .dropText(completeIfIdle())
    }

    /// The text side is over: the stream is closed, or the final text went out.
    mutating func textDone() -> Completion? {
        switch state {
        case .finishing(let work, _, let finalSend): state = .finishing(work, textDone: true, finalSend: finalSend)
        case .cancelling(let work, _, let failure): state = .cancelling(work, textDone: true, failure: failure)
        case .open, .completed: return nil
        }
        return completeIfIdle()
    }

    /// A helper send starts; false (and nothing counted) once the reply has completed.
    mutating func helperStarted() -> Bool {
        guard var work else { return false }
        work.helpers += 1
        self.work = work
        return true
    }

    /// A helper send ended; the reply completes now if it was the last thing it waited for.
    mutating func helperFinished() -> Completion? {
        guard var work else { return nil }
        work.helpers = max(0, work.helpers - 1)
        self.work = work
        return completeIfIdle()
    }

    /// A message sent for the reply (a helper, or the final text) was not delivered.
    mutating func noteUndelivered() {
        guard var work else { return }
        work.undelivered = true
        self.work = work
    }

    /// Someone waits for the outcome; false once completed (the caller has it already).
    mutating func addWaiter(_ waiter: Waiter) -> Bool {
        guard var work else { return false }
        work.waiters.append(waiter)
        self.work = work
        return true
    }

    // MARK: - Internals

    /// The work of a reply that has not ended; setting it keeps the state's other fields.
    private var work: Work? {
        get {
            switch state {
            case .open(let w), .finishing(let w, _, _), .cancelling(let w, _, _): return w
            case .completed: return nil
            }
        }
        set {
            guard let newValue else { return }
            switch state {
            case .open: state = .open(newValue)
            case .finishing(_, let done, let finalSend): state = .finishing(newValue, textDone: done, finalSend: finalSend)
            case .cancelling(_, let done, let failure): state = .cancelling(newValue, textDone: done, failure: failure)
            case .completed: break
            }
        }
    }

    /// Completes when the text side is done and no helper is under way.
    private mutating func completeIfIdle() -> Completion? {
        let ending: Ending
        let work: Work
        switch state {
        case .finishing(let w, true, _):
            (work, ending) = (w, w.undelivered ? .undelivered : .delivered)
        case .cancelling(let w, true, let failure):
            (work, ending) = (w, .cancelled(failure: failure))
        default:
            return nil
        }
        guard work.helpers == 0 else { return nil }
        state = .completed(ending)
        return Completion(ending: ending, waiters: work.waiters)
    }
}

/// Comparable in tests, where waiters are plain values.
extension ReplyLifecycle.Completion: Equatable where Waiter: Equatable {}
/// Comparable in tests, where waiters are plain values.
extension ReplyLifecycle.CancelAction: Equatable where Waiter: Equatable {}
