import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import QQSession
import QQSimulator
import Testing
import TestSupport

/// The webhook transport against the simulator delivering by signed HTTP callbacks: the callback URL
/// check, events stored and answered once, duplicates, and every refusal leaving the store unchanged.
@Suite("Webhook transport", .timeLimit(.minutes(1)))
struct WebhookTransportTests {
    @Test("op 13 passes; a C2C message is stored, answered by the agent's stream, acknowledged; a duplicate is processed once; bad signature, stale timestamp and oversized body refused, nothing stored")
    func webhookEndToEnd() async throws {
        let store = try TempStore().open()
        try await SimHarness.run(configure: {
            $0.transport = .webhook
            $0.webhook.port = 0
            $0.webhook.maxBodyBytes = 256 << 10
        }, start: true, store: store, agent: shellAgent("printf '收到：'; tail -n 1")) { h in
            var address: String?
            #expect(await eventually { address = h.session.webhookCounters.snapshot.listening; return address != nil })
            let url = "http://\(address ?? "?")/qqbot"
            #expect(await h.platform.useWebhook(url), "the callback URL check (op 13) passes")
            await h.session.setOwner(.agent, for: .c2c("U1"))

            let first = await h.platform.userSendsC2C(userOpenID: "U1", content: "你好")
            #expect(await h.recorder.waitForMessages(1))
            #expect(await h.waitStreams { $0.first?.closed == true })
            #expect(await h.streams().first?.text.contains("收到：你好") == true)
            #expect(await eventually { await h.platform.webhookDeliveries().contains { $0.id == first.eventID && $0.acknowledged } })

            // A group, too: the agent's reply goes as one message answering the member.
            await h.session.setOwner(.agent, for: .group("G1"))
            let asked = await h.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "群里问")
            #expect(await eventually { await h.accepted("/v2/groups/G1/messages").count == 1 })
            #expect(await h.accepted("/v2/groups/G1/messages").first?.body?["msg_id"]?.string == asked.id)

            // Only POST on the path is served.
            #expect(await Self.status(url, method: "GET") == 405)
            #expect(await Self.status(url.replacingOccurrences(of: "/qqbot", with: "/other"), method: "POST") == 404)

            // The same envelope twice: acknowledged both times, processed once.
            await h.platform.injectWebhook(.duplicate)
            let twice = await h.platform.userSendsC2C(userOpenID: "U2", content: "重复投递")
            #expect(await eventually { await h.platform.webhookDeliveries().contains { $0.id == twice.eventID } })
            let dup = await h.platform.webhookDeliveries().first { $0.id == twice.eventID }
            #expect(dup?.statuses == [200, 200])

            // Refused: nothing reaches the store.
            for fault in [SimWebhookFault.badSignature, .staleTimestamp, .oversized] {
                await h.platform.injectWebhook(fault)
                let refused = await h.platform.userSendsC2C(userOpenID: "U3", content: "不该存下 \(fault.rawValue)")
                #expect(await eventually { await h.platform.webhookDeliveries().contains { $0.id == refused.eventID } })
                let record = await h.platform.webhookDeliveries().first { $0.id == refused.eventID }
                #expect(record?.statuses == [fault == .oversized ? 413 : 401], "\(fault): \(String(describing: record))")
            }
            let last = await h.platform.userSendsC2C(userOpenID: "U4", content: "最后一条")
            #expect(await eventually { await h.platform.webhookDeliveries().contains { $0.id == last.eventID && $0.acknowledged } })
            try await store.flush()
            let texts = try await store.messages(in: .c2c("U2")).map(\.text) + store.messages(in: .c2c("U3")).map(\.text)
            #expect(texts == ["重复投递"], "\(texts)")
            #expect(await h.recorder.messages.filter { $0.text == "重复投递" }.count == 1)
            let counters = h.session.webhookCounters.snapshot
            #expect(counters.refused == 5 && counters.accepted >= 6)
            // The status the screens show: the transport, not gateway states.
            let status = await h.recorder.statuses.last
            if case .webhook(let address, _, let refused)? = status?.phase {
                #expect(address == url && refused == 5)
            } else {
                Issue.record("no webhook status: \(String(describing: status))")
            }
            #expect(status?.summary.hasPrefix("webhook http://127.0.0.1:") == true && status?.summary.contains("5 refused") == true)
        }
    }

    @Test("a request refused at its first line leaves a keep-alive connection open: the next ones on it are answered, and one asking to close is closed")
    func refusedKeepsConnection() async throws {
        try await SimHarness.run(configure: {
            $0.transport = .webhook
            $0.webhook.port = 0
        }, start: true) { h in
            var address: String?
            #expect(await eventually { address = h.session.webhookCounters.snapshot.listening; return address != nil })
            let requests = "GET /qqbot HTTP/1.1\r\nHost: a\r\n\r\n"
                + "POST /other HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
                + "POST /qqbot HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
            let outcome = await Task.detached { RawHTTPExchange.send(requests, to: address ?? "?", answers: 4) }.value
            // 405 (not POST), 404 (another path), 401 (no signature), then closed as asked.
            #expect(outcome?.statuses == [405, 404, 401] && outcome?.closed == true, "\(String(describing: outcome))")
        }
    }

    /// The HTTP status of a plain request (no signature).
    static func status(_ url: String, method: String) async -> Int? {
        guard let u = URL(string: url) else { return nil }
        var request = URLRequest(url: u)
        request.httpMethod = method
        if method == "POST" { request.httpBody = Data("{}".utf8) }
        return ((try? await URLSession.shared.data(for: request))?.1 as? HTTPURLResponse)?.statusCode
    }

    @Test("built-in TLS: the simulator calls https, passes the check, and the event is stored; a key that is not one is said plainly")
    func webhookTLS() async throws {
        let dir = try await TestCertificate.make(name: "127.0.0.1").directory
        var sim = SimulatorConfiguration()
        sim.webhookTrustsAnyCertificate = true
        let store = try TempStore().open()
        try await SimHarness.run(simulator: sim, configure: {
            $0.transport = .webhook
            $0.webhook.port = 0
            $0.webhook.tlsCertificate = dir + "/cert.pem"
            $0.webhook.tlsKey = dir + "/key.pem"
        }, store: store) { h in
            var address: String?
            #expect(await eventually { address = h.session.webhookCounters.snapshot.listening; return address != nil })
            #expect(h.session.webhookCounters.snapshot.secure)
            #expect(await h.platform.useWebhook("https://\(address ?? "?")/qqbot"))
            let sent = await h.platform.userSendsC2C(userOpenID: "U1", content: "走 HTTPS")
            #expect(await eventually { await h.platform.webhookDeliveries().contains { $0.id == sent.eventID && $0.acknowledged } })
            try await store.flush()
            #expect(try await store.message(uid: sent.id)?.text == "走 HTTPS")
        }
        // The certificate given as the key: a clear error, no listener.
        try await SimHarness.run(configure: {
            $0.transport = .webhook
            $0.webhook.port = 0
            $0.webhook.tlsCertificate = dir + "/cert.pem"
            $0.webhook.tlsKey = dir + "/cert.pem"
        }) { h in
            #expect(await h.recorder.wait { $0.contains { if case .notice(let n) = $0 { return n.message.contains("webhook TLS: cannot use") }; return false } })
            #expect(h.session.webhookCounters.snapshot.listening == nil)
        }
    }

    @Test("not acknowledged in time (the store is locked by another process): the platform sends it again; once durable it is acknowledged, stored once")
    func retriedUntilDurable() async throws {
        let t = TempStore()
        let store = try t.open()
        var sim = SimulatorConfiguration()
        sim.webhookTimeoutMs = 1000
        sim.webhookAttempts = 30
        sim.webhookRetryDelayMs = 50
        try await SimHarness.run(simulator: sim, configure: { $0.transport = .webhook; $0.webhook.port = 0 }, store: store) { h in
            var address: String?
            #expect(await eventually { address = h.session.webhookCounters.snapshot.listening; return address != nil })
            #expect(await h.platform.useWebhook("http://\(address ?? "?")/qqbot"))
            let locker = try await StoreLockTests.lock(t.path)
            let sent = await h.platform.userSendsC2C(userOpenID: "U1", content: "锁住时的回调")
            // Shown at once (never held by the lock), but not acknowledged: the platform tries again.
            #expect(await h.recorder.waitForMessages(1))
            #expect(await eventually(timeout: .seconds(20)) { await h.platform.webhookAttemptCount() >= 2 })
            await locker.kill()
            #expect(await eventually(timeout: .seconds(30)) {
                await h.platform.webhookDeliveries().contains { $0.id == sent.eventID && $0.acknowledged }
            })
            let record = await h.platform.webhookDeliveries().first { $0.id == sent.eventID }
            #expect((record?.statuses.count ?? 0) >= 2 && record?.statuses.first != 200, "\(String(describing: record))")
            try await store.flush()
            #expect(try await store.messages(in: .c2c("U1")).map(\.text) == ["锁住时的回调"])
            #expect(await h.recorder.messages.count == 1, "processed once")
        }
    }
}
