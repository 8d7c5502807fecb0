import Foundation

/// How the simulator answered a send or upload.
struct SendOutcome: Sendable {
    var status: Int
    var code: Int?
    var message: String?
    var id: String?
    var extra: [String: JSONBody] = [:]

    static func refused(_ code: Int, _ message: String, status: Int = 400) -> SendOutcome {
        SendOutcome(status: status, code: code, message: message)
    }
}

extension SimPlatform {
    /// Applies the platform's rules to a message the bot sends; records it in the transcript.
    func send(isGroup: Bool, target: String, path: String, body: JSONBody?) -> SendOutcome {
        let now = clock.now()
        let outcome = validateSend(isGroup: isGroup, target: target, body: body, now: now)
        record(method: "POST", path: path, body: body, status: outcome.status, code: outcome.code,
               message: outcome.message, id: outcome.id)
        return outcome
    }

    private func validateSend(isGroup: Bool, target: String, body: JSONBody?, now: Date) -> SendOutcome {
        guard let body, case .object = body else { return .refused(11251, "请求参数错误：body 不是 JSON 对象") }
        let stream = body["stream"]
        if stream != nil, isGroup { return .refused(StreamCode.groupStream, "群消息不支持流式参数") }
        let msgType = body["msg_type"]?.int ?? 0
        var text = ""
        switch msgType {
        case 0:
            text = body["content"]?.string ?? ""
            // A stream's closing frame may be just "\n".
            guard stream != nil || !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                return .refused(50006, "消息为空")
            }
            if text.count > configuration.maxContentLength { return .refused(40054007, "消息长度超限") }
        case 2:
            guard configuration.markdownAllowed else { return .refused(40034012, "不允许发送原生 markdown") }
            guard let markdown = body["markdown"]?["content"]?.string, stream != nil || !markdown.isEmpty else {
                return .refused(50006, "消息为空")
            }
            text = markdown
            if text.count > configuration.maxContentLength { return .refused(40054007, "消息长度超限") }
        case 6:
            // The typing notice: a passive reply like any other (it counts against the budget).
            guard stream == nil else { return .refused(StreamCode.badState, "流式消息只支持文本和 markdown") }
            guard body["input_notify"]?["input_type"]?.int == 1, let seconds = body["input_notify"]?["input_second"]?.int,
                  (1...60).contains(seconds) else {
                return .refused(11251, "请求参数错误：input_notify（input_type 1，input_second 1–60）")
            }
            guard body["msg_id"]?.string != nil || body["event_id"]?.string != nil else {
                return .refused(11251, "请求参数错误：输入状态只能作为被动消息发送")
            }
        case 3, 4:
            guard stream == nil else { return .refused(StreamCode.badState, "流式消息只支持文本和 markdown") }
        case 7:
            guard stream == nil else { return .refused(StreamCode.badState, "流式消息只支持文本和 markdown") }
            guard let info = body["media"]?["file_info"]?.string, let upload = uploads[info], upload.expires > now,
                  upload.isGroup == isGroup else {
                return .refused(304082, "富媒体资源拉取失败，请重试")
            }
        default:
            return .refused(11251, "请求参数错误：msg_type \(msgType)")
        }
        if let keyboard = body["keyboard"], keyboard != .null {
            guard stream == nil else { return .refused(StreamCode.badState, "流式消息不支持 keyboard") }
            if let problem = keyboardProblem(keyboard, msgType: msgType) { return .refused(40034010, "按钮参数错误：" + problem) }
        }
        if let stream { return streamFrame(target: target, body: body, stream: stream, text: text, now: now) }
        let seq = body["msg_seq"]?.int ?? 1
        if let msgID = body["msg_id"]?.string {
            if let refusal = checkPassive(msgID: msgID, isGroup: isGroup, target: target, seq: seq, media: msgType == 7, now: now) {
                return refusal
            }
        } else if let eventID = body["event_id"]?.string {
            if let refusal = checkPassiveEvent(eventID: eventID, isGroup: isGroup, target: target, seq: seq, now: now) {
                return refusal
            }
        } else if !configuration.proactiveAllowed {
            return .refused(40034102, "主动消息无权限")
        }
        if msgType != 6, let msgID = body["msg_id"]?.string { noteAnswered(msgID) }
        rememberButtons(body["keyboard"], isGroup: isGroup, target: target)
        return SendOutcome(status: 200, id: SimJSON.messageID())
    }

    /// Window, budget and msg_seq of a passive reply to `msgID`; counts it when accepted. A media
    /// message with a msg_id that cannot be used is refused as 40034024 (as the platform does).
    func checkPassive(msgID: String, isGroup: Bool, target: String, seq: Int, media: Bool, now: Date) -> SendOutcome? {
        guard var original = userMessages[msgID], original.isGroup == isGroup, original.target == target else {
            return .refused(40034024, "请求参数msg_id无效或越权")
        }
        let window = isGroup ? configuration.groupReplyWindow : configuration.c2cReplyWindow
        guard now.timeIntervalSince(original.createdAt) <= window.seconds else {
            return media ? .refused(40034024, "请求参数msg_id无效或越权") : .refused(40034005, "回复消息msg_id已过期")
        }
        guard !original.usedSeqs.contains(seq) else { return .refused(40054005, "消息被去重，请检查请求msgseq") }
        guard original.passiveReplies < (isGroup ? configuration.groupPassiveReplyBudget : configuration.c2cPassiveReplyBudget) else {
            return media ? .refused(40034024, "请求参数msg_id无效或越权") : .refused(40034128, "被动回复时间或次数超限")
        }
        original.usedSeqs.insert(seq)
        original.passiveReplies += 1
        userMessages[msgID] = original
        return nil
    }

    /// The same for a reply by `event_id`.
    func checkPassiveEvent(eventID: String, isGroup: Bool, target: String, seq: Int, now: Date) -> SendOutcome? {
        guard var original = eventsByID[eventID], original.isGroup == isGroup, original.target == target else {
            return .refused(40034024, "请求参数event_id无效或越权")
        }
        let window = isGroup ? configuration.groupReplyWindow : configuration.c2cReplyWindow
        guard now.timeIntervalSince(original.createdAt) <= window.seconds else {
            return .refused(40034005, "回复消息event_id已过期")
        }
        guard !original.usedSeqs.contains(seq) else { return .refused(40054005, "消息被去重，请检查请求msgseq") }
        guard original.passiveReplies < (isGroup ? configuration.groupPassiveReplyBudget : configuration.c2cPassiveReplyBudget) else {
            return .refused(40034128, "被动回复时间或次数超限")
        }
        original.usedSeqs.insert(seq)
        original.passiveReplies += 1
        eventsByID[eventID] = original
        return nil
    }

    /// A fresh `file_info` (valid for an hour) for this kind of conversation.
    func mediaInfo(isGroup: Bool) -> SendOutcome {
        let uuid = UUID().uuidString.lowercased()
        let info = Data("\(isGroup ? "group" : "c2c"):\(uuid)".utf8).base64EncodedString()
        uploads[info] = (isGroup, clock.now().addingTimeInterval(3600))
        return SendOutcome(status: 200, extra: ["file_uuid": .string(uuid), "file_info": .string(info), "ttl": .number(3600)])
    }

    /// `POST …/files`: validates and answers `{file_uuid, file_info, ttl}` (plus `id` with `srv_send_msg`).
    func upload(isGroup: Bool, target: String, path: String, body: JSONBody?) -> SendOutcome {
        let now = clock.now()
        var outcome: SendOutcome
        if let type = body?["file_type"]?.int, (1...4).contains(type) {
            if let uploadID = body?["upload_id"]?.string {
                outcome = mergeUpload(isGroup: isGroup, target: target, uploadID: uploadID)
            } else if let inline = body?["file_data"]?.string, let size = Data(base64Encoded: inline)?.count,
                      size > SimUploadLimits.limit(fileType: type) {
                outcome = .refused(850022, "文件大小超过限制")
            } else if body?["url"]?.string?.isEmpty == false || body?["file_data"]?.string?.isEmpty == false {
                outcome = mediaInfo(isGroup: isGroup)
                if body?["srv_send_msg"]?.bool == true {
                    let id = SimJSON.messageID()
                    outcome.id = id
                    outcome.extra["id"] = .string(id)
                }
            } else {
                outcome = .refused(850026, "富媒体文件下载失败：缺少 url 或 file_data")
            }
        } else {
            outcome = .refused(850019, "文件格式错误：file_type")
        }
        record(method: "POST", path: path, body: body, status: outcome.status, code: outcome.code,
               message: outcome.message, id: outcome.id)
        return outcome
    }
}
