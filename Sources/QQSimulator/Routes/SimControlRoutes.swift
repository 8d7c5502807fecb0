import Foundation
import Hummingbird

/// The control API used by tests, the demo and outside tools: make users talk, inject faults,
/// read what the bot sent. Errors are `{"error": "…"}` with HTTP 400.
enum SimControlRoutes {
    static func add(to router: Router<BasicRequestContext>, platform: SimPlatform) {
        router.post("/sim/c2c") { request, _ -> Response in
            let (json, _) = await SimRouter.body(request, limit: 64 * 1024 * 1024)
            guard let user = json?["user_openid"]?.string, !user.isEmpty else { return bad("user_openid (string) is required") }
            guard let attachments = parseAttachments(json?["attachments"]) else { return bad("attachments: invalid entry") }
            let content = json?["content"]?.string ?? ""
            let result = await platform.userSendsC2C(userOpenID: user, content: content, attachments: attachments,
                                                     messageID: json?["id"]?.string)
            return SimJSON.response(result)
        }

        router.post("/sim/group") { request, _ -> Response in
            let (json, _) = await SimRouter.body(request, limit: 64 * 1024 * 1024)
            guard let group = json?["group_openid"]?.string, !group.isEmpty else { return bad("group_openid (string) is required") }
            guard let member = json?["member_openid"]?.string, !member.isEmpty else { return bad("member_openid (string) is required") }
            guard let attachments = parseAttachments(json?["attachments"]) else { return bad("attachments: invalid entry") }
            let result = await platform.userSendsGroup(
                groupOpenID: group, memberOpenID: member, content: json?["content"]?.string ?? "",
                mentionBot: json?["mention_bot"]?.bool ?? true, inlineMention: json?["inline_mention"]?.bool ?? false,
                attachments: attachments, role: json?["member_role"]?.string ?? "member", messageID: json?["id"]?.string)
            return SimJSON.response(result)
        }

        router.post("/sim/burst") { request, _ -> Response in
            let (json, _) = await SimRouter.body(request, limit: 64 * 1024)
            guard let count = json?["count"]?.int, (1...10_000_000).contains(count) else { return bad("count (1…10000000) is required") }
            let kind = SimBurst.Kind(rawValue: json?["kind"]?.string ?? "c2c")
            guard let kind else { return bad("kind must be c2c, group or mixed") }
            let tag = json?["tag"]?.string ?? "bench"
            guard !tag.isEmpty, tag.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                return bad("tag must be ASCII letters and digits")
            }
            let burst = SimBurst(count: count, users: json?["users"]?.int ?? 100, kind: kind, rate: json?["rate"]?.int ?? 0, tag: tag)
            return SimJSON.response(await platform.burst(burst))
        }

        router.get("/sim/burst/answered") { request, _ -> Response in
            let tag = request.uri.queryParameters.get("tag") ?? "bench"
            return SimJSON.response(["answered": await platform.answeredCount(tag: tag)])
        }

        router.post("/sim/event") { request, _ -> Response in
            let (json, _) = await SimRouter.body(request, limit: 64 * 1024 * 1024)
            guard let type = json?["t"]?.string, let d = json?["d"] else { return bad("t (string) and d are required") }
            return SimJSON.response(await platform.dispatchEvent(type: type, payload: d, intent: json?["intent"]?.int ?? 1 << 25))
        }

        router.post("/sim/raw") { request, _ -> Response in
            let (json, _) = await SimRouter.body(request, limit: 64 * 1024 * 1024)
            let bytes = json?["base64"]?.string.flatMap { Data(base64Encoded: $0) }
            guard json?["text"]?.string != nil || bytes != nil else { return bad("text or base64 is required") }
            // base64 goes out as a binary frame, or as a text frame of raw bytes with "as_text": true.
            let asText = json?["as_text"]?.bool ?? false
            let n = await platform.sendRaw(text: json?["text"]?.string, binary: asText ? nil : bytes,
                                           textBytes: asText ? bytes : nil)
            return SimJSON.response(["sockets": n])
        }

        router.post("/sim/fault") { request, _ -> Response in
            let (json, _) = await SimRouter.body(request, limit: 64 * 1024)
            if let code = json?["code"]?.int, !SimFault.isSendableCloseCode(code) {
                return bad("code must be a WebSocket close code a server may send: 1000…4999, not 1004-1006 or 1015")
            }
            guard let fault = parseFault(json) else {
                return bad("kind must be one of close, op7, op9, stall_acks, freeze, refuse_connections, expire_token, reject_identify, ignore_resume, withhold_hello, odd_response, garble_answers, delay_answers, clear")
            }
            await platform.apply(fault)
            return SimJSON.response(["ok": true])
        }

        router.get("/sim/sent") { _, _ -> Response in
            SimJSON.response(await platform.sent())
        }
        router.delete("/sim/sent") { _, _ -> Response in
            await platform.clearSent()
            return SimJSON.response(["ok": true])
        }
        router.post("/sim/press") { request, _ -> Response in
            let (json, _) = await SimRouter.body(request, limit: 64 * 1024)
            guard let user = json?["user_openid"]?.string, !user.isEmpty else { return bad("user_openid (string) is required") }
            guard let button = json?["button"]?.string, !button.isEmpty else { return bad("button (label, id or data) is required") }
            guard let press = await platform.userPresses(button: button, user: user, group: json?["group_openid"]?.string) else {
                return bad("the bot sent no callback button \"\(button)\" to that conversation")
            }
            return SimJSON.response(press)
        }
        router.post("/sim/webhook") { request, _ -> Response in
            let (json, _) = await SimRouter.body(request, limit: 64 * 1024)
            if let fault = json?["fault"]?.string {
                guard let kind = SimWebhookFault(rawValue: fault) else {
                    return bad("fault: one of \(SimWebhookFault.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                await platform.injectWebhook(kind, count: json?["count"]?.int ?? 1)
                return SimJSON.response(["queued": kind.rawValue])
            }
            guard let url = json?["url"]?.string, url.hasPrefix("http") else { return bad("url (http or https) is required") }
            return SimJSON.response(["validated": await platform.useWebhook(url)])
        }
        router.get("/sim/webhook") { _, _ -> Response in
            SimJSON.response(await platform.webhookDeliveries())
        }
        router.get("/sim/interactions") { _, _ -> Response in
            SimJSON.response(await platform.pressed())
        }
        router.get("/sim/streams") { _, _ -> Response in
            SimJSON.response(await platform.streamRecords())
        }
        router.get("/sim/state") { _, _ -> Response in
            SimJSON.response(await platform.currentStats())
        }
        router.get("/sim/files/:token/:name") { _, context -> Response in
            let token = try context.parameters.require("token")
            guard let file = await platform.hostedFile(token) else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: file.contentType, .contentLength: String(file.data.count)],
                            body: .init(byteBuffer: ByteBuffer(bytes: file.data)))
        }
    }

    static func bad(_ message: String) -> Response {
        SimJSON.response(["error": message], status: .badRequest)
    }

    /// `{"kind": …, "code"?, "resumable"?, "count"?, "seconds"?}`.
    static func parseFault(_ json: JSONBody?) -> SimFault? {
        switch json?["kind"]?.string {
        case "close": return .close(code: json?["code"]?.int ?? 4009)
        case "op7", "reconnect": return .reconnect
        case "op9", "invalid_session": return .invalidSession(resumable: json?["resumable"]?.bool ?? false)
        case "stall_acks": return .stallAcks
        case "freeze": return .freeze
        case "refuse_connections":
            let seconds: Double? = json?["seconds"].flatMap { if case .number(let n) = $0 { return n }; return nil }
            return .refuseConnections(count: json?["count"]?.int, seconds: seconds)
        case "expire_token", "expire_tokens": return .expireTokens
        case "reject_identify": return .rejectIdentify(code: json?["code"]?.int ?? 4004, count: json?["count"]?.int ?? 1)
        case "ignore_resume": return .ignoreResume(count: json?["count"]?.int ?? 1)
        case "delay_answers": return .delayAnswers(count: json?["count"]?.int ?? 1, delayMs: json?["delay_ms"]?.int ?? 1000)
        case "garble_answers":
            return .garbleAnswers(count: json?["count"]?.int ?? 1, body: json?["body"]?.string ?? "{}",
                                  contentType: json?["content_type"]?.string ?? "application/json",
                                  status: json?["status"]?.int ?? 200, delayMs: json?["delay_ms"]?.int ?? 0)
        case "withhold_hello": return .withholdHello(count: json?["count"]?.int ?? 1)
        case "odd_response", "odd_responses":
            let items = json?["responses"]?.array ?? json.map { [$0] } ?? []
            let decoded = items.compactMap { try? JSONDecoder().decode(OddResponse.self, from: Data($0.text.utf8)) }
            return decoded.isEmpty ? nil : .oddResponses(decoded)
        case "fail_part_uploads": return .failPartUploads(count: json?["count"]?.int ?? 1)
        case "busy_uploads": return .busyUploads(count: json?["count"]?.int ?? 1)
        case "clear": return .clear
        default: return nil
        }
    }

    /// `[{"content_type", "filename", "url"?, "data_base64"?, "width"?, "height"?}]`; nil when malformed.
    static func parseAttachments(_ json: JSONBody?) -> [SimAttachment]? {
        guard let json else { return [] }
        guard let list = json.array else { return nil }
        var out: [SimAttachment] = []
        for item in list {
            guard let type = item["content_type"]?.string else { return nil }
            var data: Data?
            if let b64 = item["data_base64"]?.string {
                guard let d = Data(base64Encoded: b64) else { return nil }
                data = d
            }
            out.append(SimAttachment(contentType: type, filename: item["filename"]?.string ?? "file", url: item["url"]?.string,
                                     data: data, width: item["width"]?.int, height: item["height"]?.int, size: item["size"]?.int))
        }
        return out
    }
}
