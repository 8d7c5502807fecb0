import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import QQSession
import QQSimulator
import Testing
import TestSupport

/// Operator sends: routes, msg_seq, splitting, markdown fallback, retries, media, order.
@Suite("Sending", .timeLimit(.minutes(1)))
struct SendTests {
    @Test("a reply is passive: msg_id + msg_seq 1, 2, 3 … from the ledger; the route is known before sending")
    func passive() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.c2cMessage()
            guard case .passive(let id, _, let left) = h.session.route(for: .c2c("U1")) else { Issue.record("not passive"); return }
            #expect(id == msg.id && left == 4)
            for text in ["one", "two", "three"] {
                let out = await h.session.send(text, to: .c2c("U1"))
                #expect(out.status == .sent)
                #expect(out.parts.first?.qqMessageID?.isEmpty == false)
            }
            let sent = await h.accepted("/v2/users/U1/messages")
            #expect(sent.map(\.content) == ["one", "two", "three"])
            #expect(sent.map(\.msgID) == [msg.id, msg.id, msg.id])
            #expect(sent.map(\.msgSeq) == [1, 2, 3])
            guard case .passive(_, _, let after) = h.session.route(for: .c2c("U1")) else { Issue.record("not passive"); return }
            #expect(after == 1)
            #expect(h.session.ledgerEntry(for: msg.id)?.nextSeq == 4)
        }
    }

    @Test("the budget of 5 is spent, then the reply goes proactive (no msg_id)")
    func budget() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.groupMessage()
            for i in 1...6 { _ = await h.session.send("reply \(i)", to: .group("G1")) }
            let sent = await h.accepted("/v2/groups/G1/messages")
            #expect(sent.count == 6)
            #expect(sent.prefix(5).allSatisfy { $0.msgID == msg.id })
            #expect(sent.last?.msgID == nil)
            #expect(await h.platform.sent().allSatisfy { $0.status == 200 }, "nothing was refused by the platform")
        }
    }

    @Test("past the window: proactive when allowed, else refused before anything is sent")
    func windowExpiry() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.replyWindow.c2c = .seconds(60)
            $0.sending.windowMargin = .zero
        }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            time.advance(by: .seconds(59))
            #expect(h.session.route(for: .c2c("U1")).isPassive, "still inside the window")
            time.advance(by: .seconds(2))
            #expect(h.session.route(for: .c2c("U1")) == .proactive)
            let out = await h.session.send("later", to: .c2c("U1"))
            #expect(out.status == .sent)
            #expect(await h.accepted("/v2/users/U1/messages").last?.msgID == nil)
        }
        let later = ManualClock()
        try await SimHarness.run(clock: later, configure: {
            $0.replyWindow.c2c = .seconds(60)
            $0.sending.windowMargin = .zero
            $0.sending.proactive = false
        }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            later.advance(by: .seconds(61))
            guard case .refused(let reason) = h.session.route(for: .c2c("U1")) else { Issue.record("not refused"); return }
            #expect(reason.contains("proactive"))
            let out = await h.session.send("keep me", to: .c2c("U1"))
            guard case .refused = out.status else { Issue.record("not refused: \(out.status)"); return }
            #expect(out.text == "keep me", "the text is kept for the operator")
            #expect(await h.platform.sent().isEmpty)
        }
    }

    @Test("when our window estimate is wrong, the platform's 'expired' answer re-plans to proactive")
    func platformSaysExpired() async throws {
        var sim = SimulatorConfiguration()
        sim.c2cReplyWindow = .seconds(30)
        let time = ManualClock()
        try await SimHarness.run(simulator: sim, clock: time) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            time.advance(by: .seconds(31))   // the platform's window (30 s) is over; ours (60 min) is not
            let out = await h.session.send("still arrives", to: .c2c("U1"))
            #expect(out.status == .sent)
            let sent = await h.platform.sent()
            #expect(sent.map(\.code) == [40034005, nil])
            #expect(sent.last?.msgID == nil)
        }
    }

    @Test("a msg_seq already used (40054005) is bumped and retried once")
    func dedupBump() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.c2cMessage()
            // Another client (a previous run) already replied with msg_seq 1.
            let http = SimHTTPClient(base: h.simulator.baseURL)
            let token = try await http.token()
            _ = try await http.post("/v2/users/U1/messages", ["msg_type": 0, "content": "old", "msg_id": msg.id, "msg_seq": 1], token: token)
            await h.platform.clearSent()
            let out = await h.session.send("new", to: .c2c("U1"))
            #expect(out.status == .sent)
            let sent = await h.platform.sent()
            #expect(sent.map(\.code) == [40054005, nil])
            #expect(sent.map(\.msgSeq) == [1, 2])
        }
    }

    @Test("text over 2000 characters is split at lines and code fences, each part with its own msg_seq")
    func split() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.c2cMessage()
            let code = "```swift\n" + (1...30).map { "print(\"第\($0)行\")" }.joined(separator: "\n") + "\n```\n"
            let text = String(repeating: "这是一行很长的说明文字，用来把消息撑到两千字以上。\n", count: 70) + code + "结束。"
            let out = await h.session.send(text, to: .c2c("U1"))
            #expect(out.status == .sent)
            let sent = await h.accepted("/v2/users/U1/messages")
            #expect(sent.count >= 2)
            #expect(sent.allSatisfy { ($0.content ?? "").utf16.count <= 2000 })
            #expect(Set(sent.compactMap(\.msgSeq)).count == sent.count)
            #expect(sent.allSatisfy { $0.msgID == msg.id })
            #expect(sent.filter { ($0.content ?? "").contains("```swift") }.count == 1)
            #expect(sent.compactMap(\.content).joined(separator: "\n") == text)
        }
    }

    @Test("markdown refused (40034012): resent once as text, and text from then on")
    func markdownFallback() async throws {
        var refusing = SimulatorConfiguration()
        refusing.markdownAllowed = false   // a bot not (yet) allowed markdown
        try await SimHarness.run(simulator: refusing, configure: { $0.markdown = true }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            #expect(await h.session.send("**bold**", to: .c2c("U1")).status == .sent)
            #expect(await h.session.send("second", to: .c2c("U1")).status == .sent)
            let sent = await h.platform.sent()
            #expect(sent.map(\.code) == [40034012, nil, nil])
            #expect(sent.map { $0.body?["msg_type"]?.int } == [2, 0, 0])
            #expect(await h.recorder.notices.contains { $0.kind == .sendFallback })
        }
        var allowed = SimulatorConfiguration()
        allowed.markdownAllowed = true
        try await SimHarness.run(simulator: allowed, configure: { $0.markdown = true }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            #expect(await h.session.send("**bold**", to: .c2c("U1")).status == .sent)
            #expect(await h.platform.sent().first?.body?["markdown"]?["content"]?.string == "**bold**")
        }
    }

    @Test("429 and 5xx are retried with the same msg_seq; after the retries the message fails with the QQ code and trace id")
    func retries() async throws {
        try await SimHarness.run(configure: { $0.sending.retryBase = .milliseconds(20) }) { h in
            #expect(await h.recorder.waitForReady())
            await h.c2cMessage()
            await h.platform.apply(.oddResponses([
                OddResponse(status: 429, body: #"{"code":22009,"message":"msg limit exceed","trace_id":"t1"}"#),
                OddResponse(status: 503, contentType: "text/html", body: "<h1>busy</h1>"),
            ]))
            let ok = await h.session.send("eventually", to: .c2c("U1"))
            #expect(ok.status == .sent)
            #expect(ok.parts.first?.attempts == 1, "one logical attempt (its retries are inside)")
            let sent = await h.accepted("/v2/users/U1/messages")
            #expect(sent.map(\.msgSeq) == [1])

            let broken = OddResponse(status: 500, body: #"{"code":50000,"err_code":50001,"message":"内部错误","trace_id":"trace-500"}"#)
            await h.platform.apply(.oddResponses(Array(repeating: broken, count: 4)))
            let failed = await h.session.send("doomed", to: .c2c("U1"))
            guard case .failed(let reason) = failed.status else { Issue.record("not failed: \(failed.status)"); return }
            #expect(reason.contains("50001"))
            #expect(failed.error?.traceID == "trace-500")
            #expect(failed.error?.httpStatus == 500)
            // Its final event follows the answer through the session's event stream.
            #expect(await h.recorder.wait { $0.contains { if case .outbound(let m) = $0 { return m.id == failed.id && m.isFinal }; return false } })
        }
    }

    @Test("messages to one conversation arrive in the order they were sent, even when the first is retried")
    func order() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: { $0.sending.retryBase = .seconds(1) }) { h in
            #expect(await h.recorder.waitForReady())
            await h.groupMessage()
            await h.platform.apply(.oddResponses([OddResponse(status: 502, contentType: "text/plain", body: "bad gateway")]))
            let session = h.session, recorder = h.recorder
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<8 {
                    group.addTask { _ = await session.send("msg \(i)", to: .group("G1")) }
                    // The next send starts once this one is queued (its first event is out).
                    _ = await recorder.wait { $0.contains { if case .outbound(let m) = $0 { return m.text == "msg \(i)" }; return false } }
                }
                // The first send got a 502 and waits for its retry (1 s and up to a quarter more of
                // jitter) while the others queue behind it.
                #expect(await time.waitForSleepers { $0 >= .seconds(1) && $0 <= .milliseconds(1250) })
                time.advance(by: .seconds(2))
            }
            let texts = await h.accepted("/v2/groups/G1/messages").compactMap(\.content)
            #expect(texts == (0..<8).map { "msg \($0)" })
        }
    }

    @Test("a reply to a friend-added event uses its event_id")
    func eventReply() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let added = await h.platform.dispatchEvent(type: "FRIEND_ADD", payload: .object(["openid": .string("U3"), "timestamp": .number(1)]))
            #expect(await h.recorder.wait { !$0.isEmpty && $0.contains { if case .conversation = $0 { return true }; return false } })
            #expect(await h.session.send("welcome!", to: .c2c("U3")).status == .sent)
            let sent = await h.accepted("/v2/users/U3/messages")
            #expect(sent.first?.body?["event_id"]?.string == added.eventID)
            #expect(sent.first?.msgID == nil)
        }
    }

    @Test("images: upload then msg_type 7; passive with msg_id, proactive without; unreadable files are refused")
    func media() async throws {
        let time = ManualClock()
        try await SimHarness.run(clock: time, configure: {
            $0.replyWindow.group = .seconds(300)
            $0.sending.windowMargin = .zero
        }) { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.groupMessage()
            let png = Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4])
            let passive = await h.session.sendImage(png, filename: "a.png", caption: "看图", to: .group("G1"))
            #expect(passive.status == .sent)
            var sent = await h.platform.sent()
            #expect(sent.map(\.path) == ["/v2/groups/G1/files", "/v2/groups/G1/messages"])
            #expect(sent[0].body?["file_data"]?.string == png.base64EncodedString())
            #expect(sent[0].body?["srv_send_msg"]?.bool == false)
            #expect(sent[1].body?["msg_type"]?.int == 7)
            #expect(sent[1].msgID == msg.id)
            #expect(sent[1].content == "看图")
            time.advance(by: .seconds(301))
            await h.platform.clearSent()
            #expect(await h.session.sendImage(png, filename: "b.png", to: .group("G1")).status == .sent)
            sent = await h.platform.sent()
            #expect(sent.last?.body?["msg_type"]?.int == 7)
            #expect(sent.last?.body?["msg_id"] == nil, "a proactive media message carries no msg_id")
            let missing = await h.session.sendImage(path: "/nonexistent/x.png", to: .group("G1"))
            guard case .refused(let reason) = missing.status else { Issue.record("not refused"); return }
            #expect(reason.contains("/nonexistent/x.png"))
        }
    }
}

/// Minimal HTTP to the simulator from a test (plays "another client").
struct SimHTTPClient {
    let base: String
    func token() async throws -> String {
        let (data, _) = try await post("/app/getAppAccessToken", ["appId": "102000001", "clientSecret": "qqtui-sim-secret"], token: nil)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["access_token"] as? String ?? ""
    }
    @discardableResult
    func post(_ path: String, _ json: [String: Any], token: String?) async throws -> (Data, Int) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: json)
        if let token { request.setValue("QQBot " + token, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
    }
}

/// The markdown default of 2026: the agent's replies as markdown, the operator's lines as text.
@Suite("Markdown for the agent")
struct AgentMarkdownTests {
    @Test("agentMarkdown: an agent's reply goes as msg_type 2, the operator's line as msg_type 0; refused once, text for both")
    func agentMarkdown() async throws {
        try await SimHarness.run(configure: { $0.agentMarkdown = true }) { h in
            #expect(await h.recorder.waitForReady())
            await h.groupMessage("G1", from: "M1", "问")
            let writer = await h.session.openReply(to: .group("G1"))
            await writer.append("**加粗**的回答")
            #expect(await writer.finish().status == .sent)
            #expect(await h.session.send("运单号 A_1*2", to: .group("G1")).status == .sent)
            let sent = await h.accepted("/v2/groups/G1/messages")
            #expect(sent.map { $0.body?["msg_type"]?.int } == [2, 0])
            #expect(sent.first?.body?["markdown"]?["content"]?.string == "**加粗**的回答")
            #expect(sent.last?.body?["content"]?.string == "运单号 A_1*2")
        }
    }
}
