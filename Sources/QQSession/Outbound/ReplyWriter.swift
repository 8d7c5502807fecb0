import Foundation
import Logging

/// Sends an agent's reply while it is being written. In a C2C conversation with a passive route it is
/// a stream (frames, throttled, always closed); in a group, with no passive route, or with streaming
/// off, the text is accumulated and sent once the reply is finished (split if long). Images go out as
/// separate media messages, in order. ``cancel()`` (take-back) stops at once: nothing pending is sent,
/// an open stream gets a valid closing frame.
public actor ReplyWriter {
    enum Mode { case stream, accumulate }

    /// The outbound message's id.
    public nonisolated let id: String
    /// Where the reply goes.
    public nonisolated let conversation: ConversationID
    private let sender: OutboundSender
    private let lanes: OutboundLanes
    private let clock: SessionClock
    private let mode: Mode
    private var message: OutboundMessage
    private var machine: C2CStreamMachine<SessionClock.Instant>
    private var buffer = ""
    private var utf8 = UTF8Accumulator()
    private var msgID: String?
    private var segmentParts: [Int: Int] = [:]
    private var segmentSeq: [Int: Int] = [:]
    private var wireIndex: [Int: Int] = [:]
    private var pumping = false
    private var timer: Task<Void, Never>?
    private var waiters: [CheckedContinuation<OutboundMessage, Never>] = []
    private var closed = false
    private var completed = false
    private var cancelled = false
    private var abortReason: String?
    private var undelivered = false
    /// Helper sends (fallback text, images) under way: the reply completes after them.
    private var helpers = 0
    private var completionWanted = false
    /// Set when the final accumulated text is being sent: a take-back can no longer stop it.
    private var sendingFinal = false
    private var lastSeq = 0
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private var persistTimer: Task<Void, Never>?

    init(sender: OutboundSender, lanes: OutboundLanes, conversation: ConversationID, replyTo: String?, origin: String) {
        self.sender = sender
        self.clock = sender.clock
        self.lanes = lanes
        self.conversation = conversation
        let message = OutboundMessage.new(.reply, to: conversation, text: "", replyTo: replyTo, origin: origin,
                                          createdAt: sender.clock.date)
        self.id = message.id
        self.message = message
        self.machine = C2CStreamMachine(interval: sender.configuration.stream.interval,
                                        maxFrame: sender.configuration.stream.maxFrameLength)
        var streams = false
        if case .c2c = conversation, sender.configuration.stream.enabled,
           case .passive(let msg, _, _) = sender.route(for: conversation, replyingTo: replyTo) {
            streams = true
            msgID = msg
        }
        self.mode = streams ? .stream : .accumulate
        sender.emit(.outbound(message))
    }

    /// True when the reply streams to QQ (else it is sent when finished).
    public nonisolated var streams: Bool { mode == .stream }

    /// The message as it stands.
    public var snapshot: OutboundMessage { message }

    // MARK: - Input

    /// More text from the agent.
    public func append(_ text: String) {
        guard !closed, !text.isEmpty else { return }
        message.text += text
        message.updatedAt = clock.date
        schedulePersist()
        switch mode {
        case .stream:
            machine.append(text)
            pump()
        case .accumulate:
            buffer += text
        }
    }

    /// More bytes from the agent (UTF-8, possibly cut inside a character).
    public func append(bytes: Data) {
        append(utf8.append(bytes))
    }

    /// The agent started a tool call: the current stream is closed; the next text starts a new one.
    public func segmentBreak() {
        guard !closed else { return }
        if mode == .stream {
            machine.segmentBreak()
            pump()
        }
    }

    /// An image in the reply: sent as its own media message, after the text before it (in C2C the
    /// open stream is closed first; the text after the image opens a new one).
    public func attachImage(_ data: Data, filename: String) async {
        guard !closed else { return }
        helpers += 1
        defer { helperDone() }
        switch mode {
        case .accumulate:
            if !buffer.isEmpty {
                let text = buffer
                buffer = ""
                await sendNormally(text)
            }
        case .stream:
            machine.segmentBreak()
            pump()
            await streamIdle()
        }
        guard !cancelled else { return }
        await sendImage(data, filename: filename)
    }

    /// The agent is done: close the stream (or send the accumulated text) and wait for the outcome.
    public func finish() async -> OutboundMessage {
        if !closed {
            closed = true
            let rest = utf8.finish()
            if !rest.isEmpty { message.text += rest; if mode == .stream { machine.append(rest) } else { buffer += rest } }
            switch mode {
            case .stream:
                machine.finish()
                pump()
            case .accumulate:
                let text = buffer
                buffer = ""
                sendingFinal = true
                if !text.trimmingBlankEnds().isEmpty { await sendNormally(text) }
                requestCompletion()
            }
        }
        return await outcome()
    }

    /// Take-back: stop sending now. Pending text is dropped; an open stream is closed validly. With a
    /// `failure` (the agent died or timed out) the message ends `failed` with it instead of `cancelled`.
    public func cancel(failure: String? = nil) async -> OutboundMessage {
        if !completed, !sendingFinal {
            closed = true
            cancelled = true
            abortReason = failure
            buffer = ""
            if mode == .stream {
                machine.cancel()
                pump()
            } else {
                requestCompletion()
            }
        }
        return await outcome()
    }

    private func outcome() async -> OutboundMessage {
        let result = completed ? message : await withCheckedContinuation { waiters.append($0) }
        try? await sender.store?.flush()
        return result
    }

    /// The partial text is kept as it grows (a crash mid-reply leaves what was written), at most
    /// every 250 ms.
    private func schedulePersist() {
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

    /// Completes now, or as soon as the helper sends under way have finished.
    private func requestCompletion() {
        completionWanted = true
        if helpers == 0 { complete() }
    }

    private func helperDone() {
        helpers -= 1
        if helpers == 0, completionWanted { complete() }
    }

    /// Waits until every stream of the machine is closed and no frame is in flight.
    private func streamIdle() async {
        if machine.segments.isEmpty, machine.inFlight == nil { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    private func notifyIdle() {
        guard machine.segments.isEmpty, machine.inFlight == nil, !idleWaiters.isEmpty else { return }
        let waiting = idleWaiters
        idleWaiters.removeAll()
        for w in waiting { w.resume() }
    }

    private func complete() {
        guard !completed else { return }
        completed = true
        timer?.cancel()
        if cancelled {
            message.status = abortReason.map { .failed(reason: $0) } ?? .cancelled
        } else if undelivered {
            message.status = .failed(reason: message.error?.description ?? "part of the reply could not be delivered")
        } else if message.parts.isEmpty && message.text.trimmingBlankEnds().isEmpty {
            message.status = .sent
        } else if case .sending = message.status {
            message.status = .sent
        }
        message.updatedAt = clock.date
        persistTimer?.cancel()
        persistTimer = nil
        sender.store?.enqueue([.outbound(message)])
        sender.emit(.outbound(message))
        for w in waiters { w.resume(returning: message) }
        waiters.removeAll()
        for w in idleWaiters { w.resume() }
        idleWaiters.removeAll()
    }

    // MARK: - The stream pump

    private func pump() {
        guard !pumping, !completed else { return }
        pumping = true
        Task { await self.runPump() }
    }

    private func runPump() async {
        defer { pumping = false }
        while !completed {
            switch machine.next(now: clock.now) {
            case .send(let frame):
                await send(frame)
            case .wait(let until):
                timer?.cancel()
                timer = Task { [clock] in
                    try? await clock.sleep(until: until)
                    if !Task.isCancelled { self.pump() }
                }
                return
            case .idle:
                notifyIdle()
                return
            case .fallback(let text, _):
                helpers += 1
                await sendNormally(text)
                helpers -= 1
            case .done:
                notifyIdle()
                requestCompletion()
                return
            }
        }
    }

    /// POSTs one frame (fixing the newline rule and a markdown refusal once each) and tells the
    /// machine how it went.
    private func send(_ frame: C2CStreamMachine<SessionClock.Instant>.Frame) async {
        guard let msgID else { machine.frameFailed(now: clock.now); return }
        let ledger = sender.ledger
        if frame.index == 0 {
            // A new stream is a new message: it takes one passive reply of the budget.
            let r = sender.reserve(for: conversation, replyingTo: msgID)
            guard case .passive(let id, _, _) = r.route, id == msgID, let seq = r.seq else {
                if let other = r.key { ledger.refundReply(other, now: clock.date) }
                machine.frameFailed(now: clock.now)
                return
            }
            lastSeq = max(lastSeq, seq)
            segmentSeq[frame.segment] = seq
            let index = message.parts.count
            segmentParts[frame.segment] = index
            message.parts.append(.init(index: index, text: "", route: r.route, msgSeq: seq, status: .sending, attempts: 0))
            await sender.persist(message)
        }
        var text = frame.text
        var fixedNewline = false, fixedMarkdown = false, resynced = false
        var useFirstSeq = true
        while true {
            let seq = nextSeq(for: frame, msgID: msgID, first: useFirstSeq)
            useFirstSeq = false
            let started = clock.now
            let result = await post(frame, text: text, seq: seq)
            let latency = (clock.now - started).milliseconds
            switch result {
            case .accepted(let streamID, _):
                delivered(frame, text: text, streamID: streamID, seq: seq, latency: latency, note: nil)
                return
            case .alreadyDelivered:
                delivered(frame, text: text, streamID: nil, seq: seq, latency: latency, note: "delivered (its answer was lost)")
                return
            case .failed(let error, let ambiguous):
                if !fixedNewline, SendCodes.isNewlineError(error) {
                    // The platform wants the text to end with a newline: fix it and try once more.
                    fixedNewline = true
                    if !text.hasSuffix("\n") { text += "\n" }
                    record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: error.description)
                    continue
                }
                if !fixedMarkdown, sender.useMarkdown, SendCodes.isMarkdownRefusal(error) {
                    // Not approved for markdown: this frame and everything after it go as text.
                    fixedMarkdown = true
                    sender.markdownRefused.turnOn()
                    sender.emit(.notice(Notice(level: .warning, kind: .sendFallback,
                        message: "markdown is not allowed for this bot (40034012): sending plain text from now on")))
                    record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: error.description)
                    continue
                }
                if !resynced, !ambiguous, SendCodes.isDedup(error) {
                    // That msg_seq was used by another process on the same store (`qqtui send`):
                    // catch up with the store's counter and try once more with a fresh one.
                    resynced = true
                    record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: error.description)
                    sender.resyncLedger(msgID)
                    let config = sender.configuration.stream
                    if frame.index == 0 || (config.api == .streamMessages && !config.seqPerFrame),
                       let fresh = ledger.takeSeq(msgID, now: clock.date) {
                        segmentSeq[frame.segment] = fresh
                        lastSeq = max(lastSeq, fresh)
                        if let part = segmentParts[frame.segment] { message.parts[part].msgSeq = fresh }
                        useFirstSeq = true
                    }
                    if frame.index == 0 { wireIndex[frame.segment] = 0 }   // no stream was opened
                    continue
                }
                if ambiguous, let status = error.httpStatus, (400..<500).contains(status), !SendCodes.isTransient(error) {
                    // An earlier attempt's answer was lost and the platform now refuses the same frame:
                    // it already has it. Counting it as delivered avoids sending its text twice. A rate
                    // limit (429, 22009) is no such sign: it says nothing of the earlier attempt.
                    delivered(frame, text: text, streamID: nil, seq: seq, latency: latency,
                              note: "delivered (refused when resent: \(error.qqCode.map(String.init) ?? "\(status)"))")
                    return
                }
                record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: error.description)
                if frame.index == 0, !ambiguous {
                    // The stream never opened: the reply it took is given back (and its entry closed if
                    // the platform says the window or budget is over); the text goes as a normal message.
                    ledger.refundReply(msgID, now: clock.date)
                    if let code = error.qqCode, SendCodes.windowOrBudget.contains(code) || code == SendCodes.msgIDInvalid {
                        ledger.exhaust(msgID, now: clock.date)
                    }
                }
                if let part = segmentParts[frame.segment] {
                    message.parts[part].status = .failed(reason: error.description)
                }
                message.error = error
                machine.frameFailed(now: clock.now)
                return
            }
        }
    }

    /// The msg_seq of a frame's POST: the reserved one for a stream's first frame (and, with
    /// stream_messages, for all its frames unless configured per frame), else the next from the ledger
    /// (or, once its entry expired, the next after the last one used).
    private func nextSeq(for frame: C2CStreamMachine<SessionClock.Instant>.Frame, msgID: String, first: Bool) -> Int? {
        let config = sender.configuration.stream
        if config.api == .streamMessages, !config.seqPerFrame { return segmentSeq[frame.segment] }
        if frame.index == 0, first { return segmentSeq[frame.segment] }
        let seq = sender.ledger.takeSeq(msgID, now: clock.date) ?? (lastSeq + 1)
        lastSeq = max(lastSeq, seq)
        return seq
    }

    private func delivered(_ frame: C2CStreamMachine<SessionClock.Instant>.Frame, text: String, streamID: String?,
                           seq: Int?, latency: Int, note: String?) {
        record(frame, text: text, streamID: streamID, seq: seq, latency: latency, error: nil)
        if frame.index == 0, (streamID ?? "").isEmpty {
            sender.emit(.notice(Notice(level: .warning, kind: .sendFallback,
                message: "a C2C stream opened without an id: QQ keeps its first part; the rest goes as a normal message",
                subject: message.id)))
        }
        machine.frameSucceeded(streamID: streamID, now: clock.now)
        if frame.state == 10, let part = segmentParts[frame.segment] { message.parts[part].status = .sent }
        message.updatedAt = clock.date
        schedulePersist()
        sender.emit(.outbound(message))
        _ = note
    }

    private func post(_ frame: C2CStreamMachine<SessionClock.Instant>.Frame, text: String, seq: Int?) async -> PostResult {
        guard let msgID else { return .failed(QQError(kind: .platform, message: "no msg_id to stream to"), ambiguous: false) }
        let base = OutboundSender.base(conversation)
        let markdown = sender.useMarkdown
        var body: [String: JSONValue]
        let path: String
        if sender.configuration.stream.api == .streamMessages {
            let index = wireIndex[frame.segment, default: 0]
            wireIndex[frame.segment] = index + 1                 // consumed even if this POST fails
            path = base + "/stream_messages"
            body = ["input_mode": .string("append"), "input_state": .number(Double(frame.state)),
                    "index": .number(Double(index)), "content_type": .string(markdown ? "markdown" : "text"),
                    "content_raw": .string(text), "msg_id": .string(msgID)]
            if let id = frame.streamID { body["stream_msg_id"] = .string(id) }
        } else {
            path = base + "/messages"
            body = sender.textBody(text, markdown: markdown)
            body["msg_id"] = .string(msgID)
            var stream: [String: JSONValue] = ["state": .number(Double(frame.state)), "index": .number(Double(frame.index)),
                                               "reset": .bool(false)]
            if let id = frame.streamID { stream["id"] = .string(id) }   // the first frame has no id key at all
            body["stream"] = .object(stream)
        }
        if let seq { body["msg_seq"] = .number(Double(seq)) }
        return await sender.post(path, body: body, context: "stream frame to \(conversation)")
    }

    private func record(_ frame: C2CStreamMachine<SessionClock.Instant>.Frame, text: String, streamID: String?, seq: Int?,
                        latency: Int, error: String?) {
        if error == nil, let part = segmentParts[frame.segment] {
            message.parts[part].text += text
            message.parts[part].attempts += 1
            if let streamID { message.parts[part].qqMessageID = streamID }
        }
        sender.emit(.streamFrame(StreamFrameEvent(
            outboundID: id, conversation: conversation, segment: frame.segment, index: frame.index, state: frame.state,
            text: text, streamID: streamID ?? frame.streamID, msgSeq: seq, latencyMs: latency, error: error, at: clock.date)))
    }

    // MARK: - Normal messages (fallback, groups, images)

    private func sendNormally(_ text: String) async {
        await sender.persist(message)
        let quiet = sender.quiet
        let snapshot = OutboundMessage.new(.text, to: conversation, text: text, replyTo: message.replyTo, origin: message.origin,
                                           id: message.id, createdAt: message.createdAt)
        let result = await lanes.run(conversation) {
            var m = snapshot
            await quiet.sendText(&m)
            return m
        }
        merge(result)
    }

    private func sendImage(_ data: Data, filename: String) async {
        await sender.persist(message)
        let quiet = sender.quiet
        let snapshot = OutboundMessage.new(.image, to: conversation, text: "", replyTo: message.replyTo, origin: message.origin,
                                           id: message.id, createdAt: message.createdAt)
        let result: OutboundMessage? = await lanes.run(conversation) { [weak self] () async -> OutboundMessage? in
            // Taken back while waiting for the lane: the image is not sent.
            if await self?.isCancelled ?? true { return nil }
            var m = snapshot
            await quiet.sendMedia(&m, data: data, filename: filename)
            return m
        }
        if let result { merge(result) }
    }

    private var isCancelled: Bool { cancelled }

    /// Folds a helper message's parts into the reply's record.
    private func merge(_ other: OutboundMessage) {
        for var part in other.parts {
            part.index = message.parts.count
            message.parts.append(part)
        }
        switch other.status {
        case .failed, .refused:
            undelivered = true
            message.error = other.error ?? message.error
            if message.error == nil, case .refused(let reason) = other.status {
                message.error = QQError(kind: .platform, message: reason)
            }
        default: break
        }
        message.updatedAt = clock.date
        sender.emit(.outbound(message))
    }
}
