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
    private let clock = ContinuousClock()
    private let mode: Mode
    private var message: OutboundMessage
    private var machine: C2CStreamMachine<ContinuousClock.Instant>
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
    private var undelivered = false
    private var media: [(Data, String)] = []

    init(sender: OutboundSender, lanes: OutboundLanes, conversation: ConversationID, replyTo: String?, origin: String) {
        self.sender = sender
        self.lanes = lanes
        self.conversation = conversation
        let message = OutboundMessage.new(.reply, to: conversation, text: "", replyTo: replyTo, origin: origin)
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

    /// An image in the reply: sent as its own media message (after the text before it, in groups).
    public func attachImage(_ data: Data, filename: String) async {
        guard !closed else { return }
        if mode == .accumulate, !buffer.isEmpty {
            let text = buffer
            buffer = ""
            await sendNormally(text)
        }
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
                if !text.trimmingBlankEnds().isEmpty { await sendNormally(text) }
                complete()
            }
        }
        return await outcome()
    }

    /// Take-back: stop sending now. Pending text is dropped; an open stream is closed validly.
    public func cancel() async -> OutboundMessage {
        if !completed {
            closed = true
            cancelled = true
            buffer = ""
            if mode == .stream {
                machine.cancel()
                pump()
            } else {
                complete()
            }
        }
        return await outcome()
    }

    private func outcome() async -> OutboundMessage {
        if completed { return message }
        return await withCheckedContinuation { waiters.append($0) }
    }

    private func complete() {
        guard !completed else { return }
        completed = true
        timer?.cancel()
        if cancelled {
            message.status = .cancelled
        } else if undelivered {
            message.status = .failed(reason: message.error?.description ?? "part of the reply could not be delivered")
        } else if message.parts.isEmpty && message.text.trimmingBlankEnds().isEmpty {
            message.status = .sent
        } else if case .sending = message.status {
            message.status = .sent
        }
        message.updatedAt = Date()
        sender.emit(.outbound(message))
        for w in waiters { w.resume(returning: message) }
        waiters.removeAll()
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
                return
            case .fallback(let text, _):
                await sendNormally(text)
            case .done:
                complete()
                return
            }
        }
    }

    /// POSTs one frame (new-line fix once), and tells the machine how it went.
    private func send(_ frame: C2CStreamMachine<ContinuousClock.Instant>.Frame) async {
        guard let msgID else { machine.frameFailed(now: clock.now); return }
        let ledger = sender.ledger
        if frame.index == 0 {
            // A new stream is a new message: it takes one passive reply of the budget.
            let r = sender.reserve(for: conversation, replyingTo: msgID)
            guard case .passive(let id, _, _) = r.route, id == msgID, let seq = r.seq else {
                machine.frameFailed(now: clock.now)
                return
            }
            segmentSeq[frame.segment] = seq
            let index = message.parts.count
            segmentParts[frame.segment] = index
            message.parts.append(.init(index: index, text: "", route: r.route, msgSeq: seq, status: .sending, attempts: 0))
        }
        var text = frame.text
        var newlineFixed = false
        while true {
            let seq: Int?
            if sender.configuration.stream.api == .streamMessages {
                seq = segmentSeq[frame.segment]                          // one msg_seq per stream
            } else {
                seq = frame.index == 0 && !newlineFixed ? segmentSeq[frame.segment] : ledger.takeSeq(msgID, now: Date())
            }
            let started = clock.now
            let result = await post(frame, text: text, seq: seq)
            let latency = (clock.now - started).milliseconds
            switch result {
            case .accepted(let streamID, _):
                record(frame, text: text, streamID: streamID, seq: seq, latency: latency, error: nil)
                machine.frameSucceeded(streamID: streamID, now: clock.now)
                if frame.state == 10, let part = segmentParts[frame.segment] { message.parts[part].status = .sent }
                message.updatedAt = Date()
                sender.emit(.outbound(message))
                return
            case .alreadyDelivered:
                record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: nil)
                machine.frameSucceeded(streamID: nil, now: clock.now)
                return
            case .failed(let error, _):
                if !newlineFixed, SendCodes.isNewlineError(error) {
                    // The platform wants the text to end with a newline: fix it and try once more.
                    newlineFixed = true
                    if !text.hasSuffix("\n") { text += "\n" }
                    record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: error.description)
                    continue
                }
                record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: error.description)
                if let part = segmentParts[frame.segment] {
                    message.parts[part].status = .failed(reason: error.description)
                }
                message.error = error
                machine.frameFailed(now: clock.now)
                return
            }
        }
    }

    private func post(_ frame: C2CStreamMachine<ContinuousClock.Instant>.Frame, text: String, seq: Int?) async -> PostResult {
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

    private func record(_ frame: C2CStreamMachine<ContinuousClock.Instant>.Frame, text: String, streamID: String?, seq: Int?,
                        latency: Int, error: String?) {
        if error == nil, let part = segmentParts[frame.segment] {
            message.parts[part].text += text
            message.parts[part].attempts += 1
            if let streamID { message.parts[part].qqMessageID = streamID }
        }
        sender.emit(.streamFrame(StreamFrameEvent(
            outboundID: id, conversation: conversation, segment: frame.segment, index: frame.index, state: frame.state,
            text: text, streamID: streamID ?? frame.streamID, msgSeq: seq, latencyMs: latency, error: error, at: Date())))
    }

    // MARK: - Normal messages (fallback, groups, images)

    private func sendNormally(_ text: String) async {
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
        let quiet = sender.quiet
        let snapshot = OutboundMessage.new(.image, to: conversation, text: "", replyTo: message.replyTo, origin: message.origin,
                                           id: message.id, createdAt: message.createdAt)
        let result = await lanes.run(conversation) {
            var m = snapshot
            await quiet.sendMedia(&m, data: data, filename: filename)
            return m
        }
        merge(result)
    }

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
        message.updatedAt = Date()
        sender.emit(.outbound(message))
    }
}
