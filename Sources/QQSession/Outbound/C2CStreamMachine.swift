/// Turns an agent's deltas into C2C stream frames, as a pure state machine (time is passed in).
///
/// The rules (issue 3, from production bug reports): every frame has its own msg_seq (the driver's
/// job); the first frame of a stream is `state 1, index 0` with no `id`; later frames carry the id
/// the first response gave and an index one higher; a frame carries only the text that is new; at
/// most one frame per `interval`, deltas in between coalesced; the last frame is `state 10` and ends
/// with "\n", and it is always sent, even with nothing left to say; a segment break closes the stream
/// and the next text opens a new one; a stream that cannot continue (no id, a frame that failed) is
/// closed if possible and the rest of its text goes out as a normal message. Cancelling drops what
/// was not sent and closes any open stream validly.
struct C2CStreamMachine<Instant: InstantProtocol & Sendable>: Sendable where Instant.Duration == Duration {
    /// One POST of the stream.
    struct Frame: Sendable, Equatable {
        var segment: Int
        var index: Int
        var state: Int
        var text: String
        /// Nil on the first frame: the body then has no `id` key at all.
        var streamID: String?
    }

    enum Action: Sendable, Equatable {
        case send(Frame)
        /// Throttled: call `next` again at this time (or when input arrives).
        case wait(until: Instant)
        /// Nothing to do until input arrives (or a frame's answer).
        case idle
        /// This text could not go through the stream: send it as a normal message.
        case fallback(text: String, segment: Int)
        /// Every stream is closed and everything is handed out.
        case done
    }

    struct Segment: Sendable {
        var number: Int
        var pending = ""
        var fallback = ""
        var delivered = ""
        /// The first frame's text: what QQ keeps showing if the stream is never closed.
        var firstChunk = ""
        var closeRequested = false
        var started = false
        var streamID: String?
        var nextIndex = 0
        var broken = false
        var closeSent = false
    }

    let interval: Duration
    let maxFrame: Int
    private(set) var segments: [Segment] = []
    private(set) var inFlight: Frame?
    private var lastSentAt: Instant?
    private var nextSegment = 0
    private(set) var finishing = false
    private(set) var cancelled = false
    /// Text accepted by QQ, per segment, in order (what the user sees).
    private(set) var deliveredText: [Int: String] = [:]

    init(interval: Duration, maxFrame: Int) {
        self.interval = interval
        self.maxFrame = max(16, maxFrame)
    }

    // MARK: - Input

    mutating func append(_ text: String) {
        guard !text.isEmpty, !cancelled, !finishing else { return }
        if segments.last.map({ $0.closeRequested }) ?? true {
            segments.append(Segment(number: nextSegment))
            nextSegment += 1
        }
        let last = segments.count - 1
        if segments[last].broken { segments[last].fallback += text } else { segments[last].pending += text }
    }

    /// The agent started a tool call: close this stream; the next text opens a new one.
    mutating func segmentBreak() {
        guard !cancelled, let last = segments.indices.last else { return }
        segments[last].closeRequested = true
    }

    /// No more text: close the open stream.
    mutating func finish() {
        guard !cancelled else { return }
        finishing = true
        if let last = segments.indices.last { segments[last].closeRequested = true }
    }

    /// The reply is finished and every word of it went out: only closing frames are left (or one is on
    /// its way). Stopping now would change nothing QQ shows, only call a delivered answer cancelled.
    var onlyClosingLeft: Bool {
        guard finishing, !cancelled, inFlight.map({ $0.state == 10 }) ?? true else { return false }
        return segments.allSatisfy { $0.pending.isEmpty && $0.fallback.isEmpty && !$0.broken }
    }

    /// Stop: nothing more is sent but a valid closing frame for a stream QQ is showing.
    mutating func cancel() {
        cancelled = true
        finishing = true
        for i in segments.indices {
            segments[i].pending = ""
            segments[i].fallback = ""
            segments[i].closeRequested = true
        }
    }

    // MARK: - Output

    /// What to do now.
    mutating func next(now: Instant) -> Action {
        guard inFlight == nil else { return .idle }
        while let head = segments.first {
            if head.broken {
                if head.started, head.streamID != nil, !head.closeSent, head.closeRequested || cancelled {
                    return send(Frame(segment: head.number, index: head.nextIndex, state: 10, text: "\n", streamID: head.streamID))
                }
                guard head.closeRequested || cancelled else { return .idle }
                segments.removeFirst()
                if !head.fallback.isEmpty, !cancelled { return .fallback(text: head.fallback, segment: head.number) }
                continue
            }
            if !head.started {
                if cancelled || (head.pending.isEmpty && head.closeRequested) {
                    segments.removeFirst()
                    continue
                }
                guard !head.pending.isEmpty else { return .idle }
                return send(Frame(segment: head.number, index: 0, state: 1, text: take(), streamID: nil))
            }
            if cancelled {
                return send(Frame(segment: head.number, index: head.nextIndex, state: 10, text: "\n", streamID: head.streamID))
            }
            // The closing frame goes as soon as the rest fits in it: the reply is over, nothing follows.
            if head.closeRequested, TextSplitter.fits(head.pending, limit: maxFrame) {
                var text = head.pending
                segments[0].pending = ""
                if !text.hasSuffix("\n") { text += "\n" }
                return send(Frame(segment: head.number, index: head.nextIndex, state: 10, text: text, streamID: head.streamID))
            }
            if head.pending.isEmpty { return .idle }
            // Every other frame: one per interval, however much is pending, also once the agent has
            // finished (a long rest goes at the configured pace, not as fast as QQ answers).
            let due = lastSentAt.map { $0.advanced(by: interval) } ?? now
            guard now >= due else { return .wait(until: due) }
            return send(Frame(segment: head.number, index: head.nextIndex, state: 1, text: take(), streamID: head.streamID))
        }
        return finishing ? .done : .idle
    }

    private mutating func send(_ frame: Frame) -> Action {
        inFlight = frame
        if frame.state == 10 { segments[0].closeSent = true }
        return .send(frame)
    }

    /// Takes up to `maxFrame` of the head's pending text (never splitting a character). Looks at the
    /// first `maxFrame` characters only: a frame costs what it sends, not what is still pending.
    private mutating func take() -> String {
        let pending = segments[0].pending
        if TextSplitter.fits(pending, limit: maxFrame) {
            segments[0].pending = ""
            return pending
        }
        let piece = TextSplitter.firstPiece(of: pending, limit: maxFrame)
        segments[0].pending = String(pending.dropFirst(piece.count))
        return piece
    }

    // MARK: - Answers

    /// The in-flight frame was accepted; `streamID` is the id in its answer (if any).
    mutating func frameSucceeded(streamID: String?, now: Instant) {
        guard let frame = inFlight, let i = segments.firstIndex(where: { $0.number == frame.segment }) else { inFlight = nil; return }
        inFlight = nil
        lastSentAt = now
        segments[i].started = true
        segments[i].nextIndex = frame.index + 1
        segments[i].delivered += frame.text
        if frame.index == 0 { segments[i].firstChunk = frame.text }
        deliveredText[frame.segment, default: ""] += frame.text
        if let streamID, !streamID.isEmpty { segments[i].streamID = streamID }
        if frame.index == 0, segments[i].streamID == nil {
            // No id to address the next frames with: this stream cannot continue (nor be closed; QQ
            // will keep its first chunk, which is all it got).
            segments[i].broken = true
            segments[i].fallback += segments[i].pending
            segments[i].pending = ""
        }
        if frame.state == 10, !segments[i].broken { segments.remove(at: i) }
    }

    /// The in-flight frame failed for good (the driver already retried): the stream cannot continue.
    mutating func frameFailed(now: Instant) {
        guard let frame = inFlight, let i = segments.firstIndex(where: { $0.number == frame.segment }) else { inFlight = nil; return }
        inFlight = nil
        lastSentAt = now
        var unsent = frame.text
        if frame.state == 10, unsent == "\n" { unsent = "" }
        if frame.state == 10, unsent.hasSuffix("\n") { unsent.removeLast() }
        segments[i].broken = true
        segments[i].fallback = unsent + segments[i].pending + segments[i].fallback
        segments[i].pending = ""
        if frame.index == 0 { segments[i].started = false }
        if frame.state == 10 {
            // The stream stays open: QQ rolls it back to its first chunk, so what came after that chunk
            // is lost on screen and must go out again.
            segments[i].closeSent = true
            let lost = String(segments[i].delivered.dropFirst(segments[i].firstChunk.count))
            segments[i].fallback = lost + segments[i].fallback
        }
    }

    /// Everything the user was sent in the stream(s), in order.
    var delivered: String {
        deliveredText.keys.sorted().map { deliveredText[$0] ?? "" }.joined()
    }
}
