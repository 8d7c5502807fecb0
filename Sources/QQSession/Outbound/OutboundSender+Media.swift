import Foundation

extension OutboundSender {
    /// `file_type` of an upload.
    enum FileType: Int, Sendable { case image = 1, video = 2, voice = 3, file = 4 }

    /// Uploads `data` and sends it as a media message (`msg_type 7`), with an optional caption.
    /// A passive media message carries msg_id + msg_seq; a proactive one carries no msg_id at all
    /// (the platform refuses it with 40034024 otherwise).
    func sendMedia(_ message: inout OutboundMessage, data: Data, filename: String, type: FileType = .image) async {
        await uploadAndSend(&message, data: data, filename: filename, type: type)
        // Every way out (refused, failed upload, failed or accepted send) ends on disk.
        await persist(message)
    }

    private func uploadAndSend(_ message: inout OutboundMessage, data: Data, filename: String, type: FileType) async {
        let index = message.parts.count
        update(&message) { m in
            m.status = .sending
            m.parts.append(.init(index: index, text: filename, status: .sending, attempts: 0))
        }
        guard !data.isEmpty, data.count <= policy.maxUploadBytes else {
            let reason = data.isEmpty ? "\(filename) is empty"
                : "\(filename) is \(AttachmentDownloader.formatBytes(data.count)), over the \(AttachmentDownloader.formatBytes(policy.maxUploadBytes)) upload limit"
            update(&message) { m in
                m.parts[index].status = .failed(reason: reason)
                m.status = index == 0 ? .refused(reason: reason) : .failed(reason: reason)
            }
            return
        }
        let base = Self.base(message.conversation)
        await persist(message)
        let upload: [String: JSONValue] = [
            "file_type": .number(Double(type.rawValue)), "file_data": .string(data.base64EncodedString()),
            "srv_send_msg": .bool(false), "file_name": .string(filename)]
        let uploaded = await post(base + "/files", body: upload, context: "upload \(filename)")
        guard case .accepted(_, let answer) = uploaded, let info = answer?["file_info"]?.stringValue, !info.isEmpty else {
            let error = uploaded.error ?? QQError(kind: .malformedResponse, message: "the upload answer has no file_info",
                                                  context: "upload \(filename)")
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
            switch await post(base + "/messages", body: body, context: "send \(filename) to \(message.conversation)") {
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
