import Foundation
import Logging

/// The C2C stream: the pump that asks the machine for the next frame, and the POST of each frame
/// with the corrections ``StreamFrameRetryPolicy`` decides.
extension ReplyWriter {
    /// One POST of the stream, as the machine hands it out.
    typealias Frame = C2CStreamMachine<SessionClock.Instant>.Frame

    // MARK: - The pump

    /// Runs the pump now, unless it runs already (it then sees the new input itself) or the reply
    /// is over. A throttle timer is dropped: the loop decides anew when to come back.
    func startPump() {
        guard !lifecycle.isCompleted else { return }
        switch pump {
        case .running: return
        case .sleeping(let timer): timer.cancel()
        case .stopped: break
        }
        pump = .running
        Task { await self.pumpLoop() }
    }

    private func pumpLoop() async {
        while !lifecycle.isCompleted {
            switch machine.next(now: clock.now) {
            case .send(let frame):
                await send(frame)
            case .wait(let until):
                pump = .sleeping(Task { [clock] in
                    try? await clock.sleep(until: until)
                    if !Task.isCancelled { self.startPump() }
                })
                return
            case .idle:
                pump = .stopped
                notifyIdle()
                return
            case .fallback(let text, _):
                guard lifecycle.helperStarted() else { break }
                await sendNormally(text)
                helperFinished()
            case .done:
                pump = .stopped
                notifyIdle()
                if let done = lifecycle.textDone() { complete(done) }
                return
            }
        }
        pump = .stopped
    }

    /// Waits until every stream of the machine is closed and no frame is in flight.
    func streamIdle() async {
        if machine.segments.isEmpty, machine.inFlight == nil { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    private func notifyIdle() {
        guard machine.segments.isEmpty, machine.inFlight == nil, !idleWaiters.isEmpty else { return }
        let waiting = idleWaiters
        idleWaiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    // MARK: - One frame

    /// POSTs one frame, makes the corrections the retry policy decides, and tells the machine how
    /// it went.
    func send(_ frame: Frame) async {
        guard case .stream(let msgID) = mode else { machine.frameFailed(now: clock.now); return }
        if frame.index == 0, await !openStream(for: frame, msgID: msgID) { return }
        var text = frame.text
        var tried: Set<StreamFrameRetryPolicy.Fix> = []
        var reservedSeq = true
        while true {
            let seq = nextSeq(for: frame, msgID: msgID, reserved: reservedSeq)
            reservedSeq = false
            let started = clock.now
            let result = await post(frame, text: text, seq: seq, msgID: msgID)
            let latency = (clock.now - started).milliseconds
            let decision = retryPolicy.decide(after: result, frameIndex: frame.index, markdown: sender.useMarkdown, tried: tried)
            if let fix = decision.fix { tried.insert(fix) }
            let error = result.error
            switch decision {
            case .delivered(let delivery):
                delivered(frame, text: text, delivery: delivery, seq: seq, latency: latency)
                // The stream's id is on disk before the next frame: without it a start after a crash
                // cannot close the stream (only a crash between QQ's answer and this commit loses it).
                if frame.index == 0, frame.state != 10 { await sender.persist(message) }
                return
            case .retryWithNewline:
                if !text.hasSuffix("\n") { text += "\n" }
                record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: error?.description)
            case .retryAsPlainText:
                // The bot is not approved for markdown: every later send (not only this reply) goes as text.
                sender.markdownRefused.turnOn()
                sender.emit(.notice(Notice(level: .warning, kind: .sendFallback,
                    message: "markdown is not allowed for this bot (40034012): sending plain text from now on")))
                record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: error?.description)
            case .retryResynced(let freshSeq, let reopen):
                // Another process on the same store (`qqtui send`) used that msg_seq: catch up with
                // the store's counter before the next one is taken.
                record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: error?.description)
                sender.resyncLedger(msgID)
                if freshSeq, let fresh = sender.takeSeq(msgID) {
                    streamSegments[frame.segment]?.seq = fresh
                    lastSeq = max(lastSeq, fresh)
                    if let part = streamSegments[frame.segment]?.part { message.parts[part].msgSeq = fresh }
                    reservedSeq = true
                }
                if reopen { streamSegments[frame.segment]?.wireIndex = 0 }
            case .failed(let refund):
                failed(frame, text: text, error: error, refund: refund, msgID: msgID, seq: seq, latency: latency)
                return
            }
        }
    }

    /// A new stream is a new message: it takes one passive reply of the budget. False (and the frame
    /// failed) when the route to `msgID` is gone.
    private func openStream(for frame: Frame, msgID: String) async -> Bool {
        let reservation = sender.reserve(for: conversation, replyingTo: msgID)
        guard case .passive(let id, _, _) = reservation.route, id == msgID, let seq = reservation.seq else {
            if let other = reservation.key { sender.ledger.refundReply(other, now: clock.date) }
            machine.frameFailed(now: clock.now)
            return false
        }
        lastSeq = max(lastSeq, seq)
        let part = message.parts.count
        streamSegments[frame.segment] = StreamSegment(part: part, seq: seq)
        message.parts.append(.init(index: part, text: "", route: reservation.route, msgSeq: seq, status: .sending, attempts: 0))
        await sender.persist(message)
        return true
    }

    /// The msg_seq of a frame's POST: the reserved one for a stream's first POST (and, with
    /// stream_messages, for all its frames unless configured per frame), else the next from the ledger
    /// (or, once its entry expired, the next after the last one used).
    private func nextSeq(for frame: Frame, msgID: String, reserved: Bool) -> Int? {
        let config = sender.configuration.stream
        if config.api == .streamMessages, !config.seqPerFrame { return streamSegments[frame.segment]?.seq }
        if frame.index == 0, reserved { return streamSegments[frame.segment]?.seq }
        let seq = sender.takeSeq(msgID) ?? (lastSeq + 1)
        lastSeq = max(lastSeq, seq)
        return seq
    }

    private func delivered(_ frame: Frame, text: String, delivery: StreamFrameRetryPolicy.Delivery, seq: Int?, latency: Int) {
        let streamID = delivery.streamID
        record(frame, text: text, streamID: streamID, seq: seq, latency: latency, error: nil)
        if delivery != .accepted(streamID: streamID) {
            sender.logger.debug("stream frame counted as delivered", metadata: ["id": "\(id)", "how": "\(delivery)"])
        }
        if frame.index == 0, (streamID ?? "").isEmpty {
            sender.emit(.notice(Notice(level: .warning, kind: .sendFallback,
                message: "a C2C stream opened without an id: QQ keeps its first part; the rest goes as a normal message",
                subject: message.id)))
        }
        machine.frameSucceeded(streamID: streamID, now: clock.now)
        if frame.state == 10, let part = streamSegments[frame.segment]?.part { message.parts[part].status = .sent }
        message.updatedAt = clock.date
        // Kept at once (not on the 250 ms timer): the stream id and the frames QQ accepted are what a
        // start after a crash needs to close the stream (one frame a pace interval at most).
        sender.store?.enqueue([.outbound(message)])
        sender.emit(.outbound(message))
    }

    private func failed(_ frame: Frame, text: String, error: QQError?, refund: StreamFrameRetryPolicy.Refund,
                        msgID: String, seq: Int?, latency: Int) {
        record(frame, text: text, streamID: nil, seq: seq, latency: latency, error: error?.description)
        switch refund {
        case .keep:
            break
        case .refund:
            sender.ledger.refundReply(msgID, now: clock.date)
        case .refundAndExhaust:
            sender.ledger.refundReply(msgID, now: clock.date)
            sender.ledger.exhaust(msgID, now: clock.date)
        }
        if let error {
            if let part = streamSegments[frame.segment]?.part { message.parts[part].status = .failed(reason: error.description) }
            message.error = error
        }
        machine.frameFailed(now: clock.now)
    }

    private func post(_ frame: Frame, text: String, seq: Int?, msgID: String) async -> PostResult {
        var index = frame.index
        if sender.configuration.stream.api == .streamMessages {
            index = streamSegments[frame.segment]?.wireIndex ?? 0
            streamSegments[frame.segment]?.wireIndex = index + 1    // consumed even if this POST fails
        }
        let (path, body) = StreamFrameBody.make(sender: sender, conversation: conversation, text: text, state: frame.state,
                                                index: index, streamID: frame.streamID, msgID: msgID, seq: seq)
        return await sender.post(path, body: body, context: "stream frame to \(conversation)")
    }

    private func record(_ frame: Frame, text: String, streamID: String?, seq: Int?, latency: Int, error: String?) {
        if error == nil, let part = streamSegments[frame.segment]?.part {
            message.parts[part].text += text
            message.parts[part].attempts += 1
            if let streamID { message.parts[part].qqMessageID = streamID }
        }
        sender.emit(.streamFrame(StreamFrameEvent(
            outboundID: id, conversation: conversation, segment: frame.segment, index: frame.index, state: frame.state,
            text: text, streamID: streamID ?? frame.streamID, msgSeq: seq, latencyMs: latency, error: error, at: clock.date)))
    }
}
