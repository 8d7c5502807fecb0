import Foundation

extension OutboundSender {
    /// Uploads `data` and sends it as a media message (`msg_type 7`), with an optional caption.
    /// A passive media message carries msg_id + msg_seq; a proactive one carries no msg_id at all
    /// (the platform refuses it with 40034024 otherwise). Files up to the inline limit go in one
    /// request (base64); larger ones through the chunked upload, their progress on the part.
    func sendMedia(_ message: inout OutboundMessage, data: Data, filename: String, kind: MediaKind = .image) async {
        await uploadAndSend(&message, data: data, filename: filename, kind: kind)
        // Every way out (refused, failed upload, failed or accepted send) ends on disk.
        await persist(message)
    }

    private func uploadAndSend(_ message: inout OutboundMessage, data: Data, filename: String, kind: MediaKind) async {
        let index = message.parts.count
        update(&message) { m in
            m.status = .sending
            m.parts.append(.init(index: index, text: filename, status: .sending, attempts: 0))
        }
        // Refused before anything is uploaded: the platform would refuse it after the upload.
        if let reason = Self.sizeProblem(data.count, filename: filename, kind: kind) {
            update(&message) { m in
                m.parts[index].status = .failed(reason: reason)
                m.status = index == 0 ? .refused(reason: reason) : .failed(reason: reason)
            }
            return
        }
        await persist(message)
        let uploaded = data.count <= policy.maxUploadBytes
            ? await uploadInline(data, filename: filename, kind: kind, to: message.conversation)
            : await uploadChunked(data, filename: filename, kind: kind, message: &message, part: index)
        let info: String
        switch uploaded {
        case .success(let fileInfo): info = fileInfo
        case .failure(let error):
            fail(&message, part: index, error)
            return
        }
        var replanned = false
        var reservation = reserve(for: message.conversation, replyingTo: message.replyTo)
        while true {
            if case .refused(let reason) = reservation.route {
                update(&message) { m in
                    m.parts[index].status = .failed(reason: reason)
                    m.status = index == 0 ? .refused(reason: reason) : .failed(reason: reason)
                }
                return
            }
            var body: [String: JSONValue] = ["msg_type": .number(7), "media": .object(["file_info": .string(info)])]
            // The platform's docs ask for a content on media messages ("a single space" when there is no caption).
            body["content"] = .string(message.text.isEmpty ? " " : message.text)
            body.merge(Self.routing(reservation)) { $1 }
            update(&message) { m in
                m.parts[index].route = reservation.route
                m.parts[index].msgSeq = reservation.seq
                m.parts[index].attempts += 1
            }
            await persist(message)
            switch await post(Self.base(message.conversation) + "/messages", body: body, context: "send \(filename) to \(message.conversation)") {
            case .accepted(let id, _):
                update(&message) { m in
                    m.parts[index].status = .sent
                    m.parts[index].qqMessageID = id
                    m.status = .sent
                }
                return
            case .alreadyDelivered:
                update(&message) { m in m.parts[index].status = .sent; m.status = .sent }
                return
            case .failed(let error, let ambiguous):
                if !ambiguous, let key = reservation.key { ledger.refundReply(key, now: clock.date) }
                let code = error.qqCode ?? 0
                if let key = reservation.key, !replanned,
                   code == SendCodes.msgIDInvalid || SendCodes.windowOrBudget.contains(code) || SendCodes.isDedup(error) {
                    replanned = true
                    if SendCodes.isDedup(error) { resyncLedger(key) } else { ledger.exhaust(key, now: clock.date) }
                    reservation = reserve(for: message.conversation, replyingTo: message.replyTo)
                    continue
                }
                fail(&message, part: index, error)
                return
            }
        }
    }
}

extension OutboundSender {
    /// Why a file cannot be sent at all (nil: it can).
    static func sizeProblem(_ size: Int, filename: String, kind: MediaKind) -> String? {
        if size == 0 { return "\(filename) is empty" }
        guard size > kind.limit else { return nil }
        return "\(filename) is \(AttachmentDownloader.formatBytes(size)), over the \(AttachmentDownloader.formatBytes(kind.limit)) QQ takes for a\(kind == .image ? "n" : "") \(kind.rawValue)"
    }

    /// `POST …/files` with the bytes inline: the `file_info` to send.
    func uploadInline(_ data: Data, filename: String, kind: MediaKind, to conversation: ConversationID) async -> Result<String, QQError> {
        let upload: [String: JSONValue] = [
            "file_type": .number(Double(kind.fileType)), "file_data": .string(data.base64EncodedString()),
            "srv_send_msg": .bool(false), "file_name": .string(filename)]
        let uploaded = await post(Self.base(conversation) + "/files", body: upload, context: "upload \(filename)")
        guard case .accepted(_, let answer) = uploaded, let info = answer?["file_info"]?.stringValue, !info.isEmpty else {
            return .failure(uploaded.error ?? QQError(kind: .malformedResponse, message: "the upload answer has no file_info",
                                                      context: "upload \(filename)"))
        }
        return .success(info)
    }
}
