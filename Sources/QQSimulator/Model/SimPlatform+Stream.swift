import Foundation

/// A stream being received.
struct StreamState: Sendable {
    var record: SimStreamRecord
    var nextIndex: Int
    var lastFrameAt: Date
    var msgSeq: Int?
}

extension SimPlatform {
    /// The simulator's codes for stream rules the platform has no documented code for.
    enum StreamCode {
        static let groupStream = 40034031
        static let firstFrameID = 40034042
        static let badIndex = 40034044
        static let unknownStream = 40034045
        static let closed = 40034043
        static let newline = 40034050
        static let badState = 40034046
        static let tooLong = 40034047
        static let replacePrefix = 40007
    }

    /// Every stream, in the order they started, with roll-backs applied.
    public func streamRecords() -> [SimStreamRecord] {
        let now = clock.now()
        return streamOrder.compactMap { id in
            guard var s = streams[id]?.record else { return nil }
            if !s.closed, now.timeIntervalSince(streams[id]?.lastFrameAt ?? now) > configuration.streamCloseTimeout.seconds {
                s.rolledBack = true
                s.visibleText = s.frames.first?.text ?? ""
            }
            return s
        }
    }

    /// A legacy frame: `POST /v2/users/{openid}/messages` with a `stream` object (already past the text checks).
    func streamFrame(target: String, body: JSONBody, stream: JSONBody, text: String, now: Date) -> SendOutcome {
        guard let msgID = body["msg_id"]?.string else {
            // Reported by a plugin author: a chunk without msg_id gets a 500.
            return SendOutcome.refused(500, "stream chunk without msg_id", status: 500)
        }
        let state = stream["state"]?.int ?? 1
        guard state == 1 || state == 10 else { return .refused(StreamCode.badState, "stream.state \(state) 不支持") }
        if let limit = configuration.streamFrameMaxBytes, text.utf8.count > limit {
            return .refused(StreamCode.tooLong, "流式消息分片过长，请拆分发送")
        }
        let mustEndWithNewline: Bool
        switch configuration.streamNewlineRule {
        case .finalOnly: mustEndWithNewline = state == 10
        case .everyMarkdownChunk: mustEndWithNewline = body["msg_type"]?.int == 2 || state == 10
        case .none: mustEndWithNewline = false
        }
        if mustEndWithNewline, !text.hasSuffix("\n") {
            // The platform's text has a literal backslash-n.
            return .refused(StreamCode.newline, "流式消息md分片需要\\n结束")
        }
        let seq = body["msg_seq"]?.int ?? 1
        guard case .object(let fields) = stream else { return .refused(11251, "stream 不是对象") }
        if fields.keys.contains("id") && stream["id"] == nil && fields["id"] == .null {
            return .refused(StreamCode.firstFrameID, "流式消息首帧不能携带id (stream.id 为 null)")
        }
        if let streamID = stream["id"]?.string {
            guard var s = streams[streamID], s.record.msgID == msgID, s.record.userOpenID == target else {
                return .refused(StreamCode.unknownStream, "流式消息id无效")
            }
            // Deduplication comes first: a frame resent after a lost answer is recognised as such.
            guard var original = userMessages[msgID], !original.usedSeqs.contains(seq) else {
                return .refused(40054005, "消息被去重，请检查请求msgseq")
            }
            guard !s.record.closed else { return .refused(StreamCode.closed, "流式消息已结束") }
            guard let index = stream["index"]?.int, index == s.nextIndex else {
                return .refused(StreamCode.badIndex, "流式消息index错误，应为\(s.nextIndex)")
            }
            original.usedSeqs.insert(seq)
            userMessages[msgID] = original
            s.record.frames.append(.init(index: index, state: state, text: text, msgSeq: seq, at: now.timeIntervalSince1970))
            s.record.text += text
            s.record.visibleText = s.record.text
            s.nextIndex += 1
            s.lastFrameAt = now
            if state == 10 { s.record.closed = true; noteAnswered(s.record.msgID) }
            streams[streamID] = s
            return SendOutcome(status: 200, id: streamID)
        }
        guard stream["index"]?.int ?? 0 == 0 else { return .refused(StreamCode.badIndex, "流式消息首帧index应为0") }
        // The first frame is the message: it is checked and counted as a passive reply.
        if let refusal = checkPassive(msgID: msgID, isGroup: false, target: target, seq: seq, media: false, now: now) {
            return refusal
        }
        return openStream(msgID: msgID, target: target, api: "legacy", text: text, state: state, seq: seq, now: now)
    }

    private func openStream(msgID: String, target: String, api: String, text: String, state: Int, seq: Int, now: Date) -> SendOutcome {
        let id = "STREAM_" + SimJSON.randomToken(20)
        let record = SimStreamRecord(id: id, msgID: msgID, userOpenID: target, api: api,
                                     frames: [.init(index: 0, state: state, text: text, msgSeq: seq)], text: text,
                                     closed: state == 10, rolledBack: false, visibleText: text)
        streams[id] = StreamState(record: record, nextIndex: 1, lastFrameAt: now, msgSeq: seq)
        streamOrder.append(id)
        if streamOrder.count > 10_000 { streams[streamOrder.removeFirst()] = nil }
        return SendOutcome(status: 200, id: id)
    }

    /// `POST /v2/users/{openid}/stream_messages` (the newer endpoint).
    func streamMessage(target: String, path: String, body: JSONBody?) -> SendOutcome {
        let now = clock.now()
        let outcome = validateStreamMessage(target: target, body: body, now: now)
        record(method: "POST", path: path, body: body, status: outcome.status, code: outcome.code,
               message: outcome.message, id: outcome.id)
        return outcome
    }

    private func validateStreamMessage(target: String, body: JSONBody?, now: Date) -> SendOutcome {
        guard let body, case .object = body else { return .refused(11251, "请求参数错误：body 不是 JSON 对象") }
        guard let msgID = body["msg_id"]?.string else { return .refused(40034024, "请求参数msg_id无效或越权") }
        let state = body["input_state"]?.int ?? 1
        guard state == 1 || state == 10 else { return .refused(StreamCode.badState, "input_state \(state) 不支持") }
        let mode = body["input_mode"]?.string ?? "append"
        let text = body["content_raw"]?.string ?? ""
        if body["content_type"]?.string == "markdown", !configuration.markdownAllowed {
            return .refused(40034012, "不允许发送原生 markdown")
        }
        let seq = body["msg_seq"]?.int ?? 1
        guard let index = body["index"]?.int else { return .refused(StreamCode.badIndex, "index 缺失") }
        if let streamID = body["stream_msg_id"]?.string {
            guard var s = streams[streamID], s.record.msgID == msgID, s.record.userOpenID == target else {
                return .refused(StreamCode.unknownStream, "stream_msg_id 无效")
            }
            guard !s.record.closed else { return .refused(StreamCode.closed, "流式消息已结束") }
            // The index grows with every request, retries included: it must only increase.
            guard index >= s.nextIndex else { return .refused(StreamCode.badIndex, "index 必须递增") }
            // msg_seq: the stream's own, or one never used for this message.
            if seq != s.msgSeq {
                guard var original = userMessages[msgID], !original.usedSeqs.contains(seq) else {
                    return .refused(40054005, "消息被去重，请检查请求msgseq")
                }
                original.usedSeqs.insert(seq)
                userMessages[msgID] = original
            }
            if mode == "replace" {
                guard text.hasPrefix(s.record.text) else { return .refused(StreamCode.replacePrefix, "已发送的前缀不可修改") }
                s.record.text = text
            } else {
                s.record.text += text
            }
            s.record.frames.append(.init(index: index, state: state, text: text, msgSeq: seq, at: now.timeIntervalSince1970))
            s.record.visibleText = s.record.text
            s.nextIndex = index + 1
            s.lastFrameAt = now
            if state == 10 { s.record.closed = true; noteAnswered(s.record.msgID) }
            streams[streamID] = s
            return SendOutcome(status: 200, id: streamID, extra: ["remain_msg_len": .number(0)])
        }
        guard index == 0 else { return .refused(StreamCode.badIndex, "首个分片 index 应为 0") }
        if let refusal = checkPassive(msgID: msgID, isGroup: false, target: target, seq: seq, media: false, now: now) {
            return refusal
        }
        return openStream(msgID: msgID, target: target, api: "stream_messages", text: text, state: state, seq: seq, now: now)
    }
}
