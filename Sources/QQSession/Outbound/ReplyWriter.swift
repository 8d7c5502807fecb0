import Foundation
import Logging

/// Sends an agent's reply while it is being written. In a C2C conversation with a passive route it is
/// a stream (frames, throttled, always closed); in a group, with no passive route, or with streaming
/// off, the text is accumulated and sent once the reply is finished (split if long). Images go out as
/// separate media messages, in order. ``cancel()`` (take-back) stops at once: nothing pending is sent,
/// an open stream gets a valid closing frame.
///
/// The writer is a shell: ``ReplyLifecycle`` says where the reply stands, ``C2CStreamMachine`` which
/// frame goes next, ``StreamFrameRetryPolicy`` what to do with a refused frame; the writer performs
/// what they decide (`ReplyWriter+Stream.swift`, `ReplyWriter+Helpers.swift`).
public actor ReplyWriter {
    /// How the reply goes out, fixed when it opens.
    enum Mode: Sendable, Equatable {
        /// A C2C stream answering `msgID` (passively).
        case stream(msgID: String)
        /// Accumulated, and sent when finished.
        case accumulate
    }

    /// The stream pump: one loop at a time, or a timer until the throttle lets the next frame go.
    enum Pump {
        /// Nothing to do until input (or a frame's answer) arrives.
        case stopped
        /// A loop is asking the machine for frames; new input is seen by it.
        case running
        /// Throttled: the timer starts the loop again when the next frame may go.
        case sleeping(Task<Void, Never>)
    }

    /// The writer's record of one stream of the reply (one segment of the machine).
    struct StreamSegment: Sendable {
        /// Its part in ``OutboundMessage/parts``.
        var part: Int
        /// The msg_seq reserved for its first frame (with stream_messages, for all of its frames
        /// unless configured per frame).
        var seq: Int
        /// The next stream_messages `index`.
        var wireIndex = 0
    }

    /// The outbound message's id.
    public nonisolated let id: String
    /// Where the reply goes.
    public nonisolated let conversation: ConversationID
    /// Posts, routes, records and reports for the session.
    let sender: OutboundSender
    /// Keeps the reply's normal messages in order with the conversation's other sends.
    let lanes: OutboundLanes
    /// Frame pacing, the persistence timer and the record's dates (the sender's clock).
    let clock: SessionClock
    /// Stream or accumulate, fixed when the reply opens.
    let mode: Mode
    /// What to do with a refused frame.
    let retryPolicy: StreamFrameRetryPolicy
    /// The reply's record: text, parts, status.
    var message: OutboundMessage
    /// Where the reply stands, and who waits for its outcome.
    var lifecycle = ReplyLifecycle<CheckedContinuation<OutboundMessage, Never>>()
    /// Which frame goes next (stream mode).
    var machine: C2CStreamMachine<SessionClock.Instant>
    /// Whether the stream pump runs, sleeps or stopped.
    var pump = Pump.stopped
    /// Callers waiting until no stream is open and no frame is in flight (an image waits for the
    /// text before it).
    var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// The writer's record of each stream, by the machine's segment number.
    var streamSegments: [Int: StreamSegment] = [:]
    /// The highest msg_seq this reply used (the next one once the ledger entry expired).
    var lastSeq = 0
    /// Accumulated text not sent yet (accumulate mode).
    var buffer = ""
    private var utf8 = UTF8Accumulator()
    private var persistTimer: Task<Void, Never>?

    /// A writer for a reply to `conversation` (answering `replyTo` when known); it reports itself at once.
    init(sender: OutboundSender, lanes: OutboundLanes, conversation: ConversationID, replyTo: String?, origin: String) {
        self.sender = sender
        self.clock = sender.clock
        self.lanes = lanes
        self.conversation = conversation
        let message = OutboundMessage.new(.reply, to: conversation, text: "", replyTo: replyTo, origin: origin,
                                          createdAt: sender.clock.date)
        self.id = message.id
        self.message = message
        let stream = sender.configuration.stream
        self.machine = C2CStreamMachine(interval: stream.interval, maxFrame: stream.maxFrameLength)
        self.retryPolicy = StreamFrameRetryPolicy(stream)
        if case .c2c = conversation, stream.enabled,
           case .passive(let msg, _, _) = sender.route(for: conversation, replyingTo: replyTo) {
            self.mode = .stream(msgID: msg)
        } else {
            self.mode = .accumulate
        }
        sender.emit(.outbound(message))
    }

    /// True when the reply streams to QQ (else it is sent when finished).
    public nonisolated var streams: Bool { mode != .accumulate }

    /// The message as it stands.
    public var snapshot: OutboundMessage { message }

    /// Helper sends (fallback text, images) under way; tests wait on it instead of sleeping.
    var helpersUnderWay: Int { lifecycle.helpers }

    /// Taken back (an image waiting for its lane is then not sent).
    var isCancelled: Bool { lifecycle.isCancelled }

    // MARK: - Input

    /// More text from the agent.
    public func append(_ text: String) {
        guard lifecycle.isOpen, !text.isEmpty else { return }
        message.text += text
        message.updatedAt = clock.date
        schedulePersist()
        take(text)
    }

    /// More bytes from the agent (UTF-8, possibly cut inside a character).
    public func append(bytes: Data) {
        append(utf8.append(bytes))
    }

    /// The agent started a tool call: the current stream is closed; the next text starts a new one.
    public func segmentBreak() {
        guard lifecycle.isOpen, streams else { return }
        machine.segmentBreak()
        startPump()
    }

    /// An image in the reply: sent as its own media message, after the text before it (in C2C the
    /// open stream is closed first; the text after the image opens a new one).
    public func attachImage(_ data: Data, filename: String) async {
        guard lifecycle.isOpen, lifecycle.helperStarted() else { return }
        defer { helperFinished() }
        switch mode {
        case .accumulate:
            if !buffer.isEmpty {
                let text = buffer
                buffer = ""
                await sendNormally(text)
            }
        case .stream:
            machine.segmentBreak()
            startPump()
            await streamIdle()
        }
        guard !lifecycle.isCancelled else { return }
        await sendImage(data, filename: filename)
    }

    /// The agent is done: close the stream (or send the accumulated text) and wait for the outcome.
    public func finish() async -> OutboundMessage {
        switch lifecycle.finish(streaming: streams) {
        case .none:
            break
        case .closeStream:
            takeRest()
            machine.finish()
            startPump()
        case .sendFinalText:
            takeRest()
            let text = buffer
            buffer = ""
            let sent = !text.trimmingBlankEnds().isEmpty
            if sent { await sendNormally(text, report: false) }
            // Usually the reply is complete now: that one event reports the parts and the outcome.
            if let done = lifecycle.textDone() { complete(done) } else if sent { sender.emit(.outbound(message)) }
        }
        return await outcome()
    }

    /// Take-back: stop sending now. Pending text is dropped; an open stream is closed validly. With a
    /// `failure` (the agent died or timed out) the message ends `failed` with it instead of `cancelled`.
    public func cancel(failure: String? = nil) async -> OutboundMessage {
        // Everything was delivered and the closing frame goes now (or is on its way): let it finish as sent.
        if streams, failure == nil, machine.onlyClosingLeft { return await outcome() }
        switch lifecycle.cancel(failure: failure, streaming: streams) {
        case .none:
            break
        case .stopStream:
            machine.cancel()
            startPump()
        case .dropText(let done):
            buffer = ""
            if let done { complete(done) }
        }
        return await outcome()
    }

    /// Text for the stream or the buffer.
    private func take(_ text: String) {
        if streams {
            machine.append(text)
            startPump()
        } else {
            buffer += text
        }
    }

    /// The bytes of a character the agent never finished (shown as U+FFFD).
    private func takeRest() {
        let rest = utf8.finish()
        guard !rest.isEmpty else { return }
        message.text += rest
        if streams { machine.append(rest) } else { buffer += rest }
    }

    private func outcome() async -> OutboundMessage {
        let result = await withCheckedContinuation { waiter in
            if !lifecycle.addWaiter(waiter) { waiter.resume(returning: message) }
        }
        try? await sender.store?.flush()
        return result
    }

    // MARK: - Completion

    /// A helper send ended: the reply completes if it was the last thing it waited for.
    func helperFinished() {
        if let done = lifecycle.helperFinished() { complete(done) }
    }

    /// Sets the final status, records and reports it, and wakes everyone waiting.
    func complete(_ completion: ReplyLifecycle<CheckedContinuation<OutboundMessage, Never>>.Completion) {
        if case .sleeping(let timer) = pump { timer.cancel() }
        switch completion.ending {
        case .cancelled(let failure):
            message.status = failure.map { .failed(reason: $0) } ?? .cancelled
        case .undelivered:
            message.status = .failed(reason: message.error?.description ?? "part of the reply could not be delivered")
        case .delivered:
            message.status = .sent
        }
        message.updatedAt = clock.date
        persistTimer?.cancel()
        persistTimer = nil
        sender.store?.enqueue([.outbound(message)])
        sender.emit(.outbound(message))
        for waiter in completion.waiters { waiter.resume(returning: message) }
        let idle = idleWaiters
        idleWaiters.removeAll()
        for waiter in idle { waiter.resume() }
    }

    // MARK: - Persistence

    /// The partial text is kept as it grows (a crash mid-reply leaves what was written), at most
    /// every 250 ms.
    func schedulePersist() {
        guard sender.store != nil, persistTimer == nil else { return }
        persistTimer = Task { [clock] in
            guard (try? await clock.sleep(for: .milliseconds(250))) != nil else { return }
            self.persistNow()
        }
    }

    private func persistNow() {
        persistTimer = nil
        sender.store?.enqueue([.outbound(message)])
    }
}
