import Foundation
#if canImport(Glibc)
import Glibc
#endif
import QQSession
import QQSimulator
import Testing
import TestSupport

/// The simulated platform's HTTP side, checked against what real clients rely on (qq-protocol.md §10).
@Suite("Simulator HTTP API", .timeLimit(.minutes(1)))
struct SimulatorHTTPTests {
    func withSim(_ config: SimulatorConfiguration = SimulatorConfiguration(),
                 _ body: (QQSimulator, SimHTTP) async throws -> Void) async throws {
        let sim = try await QQSimulator.start(config)
        do { try await body(sim, SimHTTP(base: sim.baseURL)) } catch { await sim.stop(); throw error }
        await sim.stop()
    }

    @Test("token: expires_in is a string, Content-Type is exactly application/json, the same token until rotation")
    func token() async throws {
        try await withSim { _, http in
            let a = try await http.call("POST", "/app/getAppAccessToken", json: ["appId": "102000001", "clientSecret": "qqtui-sim-secret"])
            #expect(a.status == 200)
            #expect(a.header("Content-Type") == "application/json")
            #expect(a.json?["expires_in"] as? String == "7200")
            let first = try #require(a.json?["access_token"] as? String)
            #expect(try await http.token() == first)
            let bad = try await http.call("POST", "/app/getAppAccessToken", json: ["appId": "102000001", "clientSecret": "nope"])
            #expect(bad.status == 401)
            #expect(bad.json?["code"] as? Int == 100016)
            #expect(bad.header("X-Tps-trace-ID")?.isEmpty == false)
        }
    }

    @Test("in its last minute a token is rotated, and the old one keeps working until it expires")
    func rotation() async throws {
        let time = ManualClock()
        var config = SimulatorConfiguration()
        config.tokenLifetime = 7200
        config.clock = .manual(time)
        try await withSim(config) { _, http in
            let old = try await http.token()
            time.advance(by: .seconds(7200 - 61))
            #expect(try await http.token() == old, "the same token until its last minute")
            time.advance(by: .seconds(2))
            let new = try await http.token()
            #expect(new != old)
            let remaining = try await http.call("POST", "/app/getAppAccessToken", json: ["appId": "102000001", "clientSecret": "qqtui-sim-secret"])
            #expect(remaining.json?["expires_in"] as? String == "7200")
            #expect(try await http.call("GET", "/users/@me", token: old).status == 200)
            #expect(try await http.call("GET", "/users/@me", token: new).status == 200)
            time.advance(by: .seconds(59))
            #expect(try await http.call("GET", "/users/@me", token: old).status == 401, "the old one expired")
            #expect(try await http.call("GET", "/users/@me", token: new).status == 200)
        }
    }

    @Test("/users/@me has a numeric-string id; missing, expired and legacy authorizations are refused")
    func me() async throws {
        try await withSim { sim, http in
            let token = try await http.token()
            let me = try await http.call("GET", "/users/@me", token: token)
            let id = try #require(me.json?["id"] as? String)
            #expect(UInt64(id) != nil)
            #expect(me.json?["username"] as? String == sim.configuration.botName)
            #expect(try await http.call("GET", "/users/@me").json?["code"] as? Int == 11241)
            #expect(try await http.call("GET", "/users/@me", token: "wrong").json?["code"] as? Int == 11244)
            let legacy = try await http.call("GET", "/users/@me", authorization: "Bot 102000001.abc")
            #expect(legacy.status == 401)
            #expect(legacy.json?["code"] as? Int == 11245)
        }
    }

    @Test("/gateway and /gateway/bot give the WebSocket URL and every session_start_limit field")
    func gateway() async throws {
        try await withSim { sim, http in
            let token = try await http.token()
            let bot = try await http.call("GET", "/gateway/bot", token: token)
            #expect(bot.json?["url"] as? String == sim.gatewayURL)
            #expect(bot.json?["shards"] as? Int == 1)
            let limit = try #require(bot.json?["session_start_limit"] as? [String: Any])
            for key in ["total", "remaining", "reset_after", "max_concurrency"] { #expect(limit[key] as? Int != nil, "\(key)") }
            #expect(try await http.call("GET", "/gateway", token: token).json?["url"] as? String == sim.gatewayURL)
        }
    }

    @Test("passive replies: msg_seq duplicates 40054005, C2C budget of 4, foreign or unknown msg_id 40034024")
    func passiveRules() async throws {
        try await withSim { sim, http in
            let token = try await http.token()
            let msg = await sim.platform.userSendsC2C(userOpenID: "U1", content: "hi")
            func reply(_ seq: Int, to user: String = "U1", msgID: String? = nil) async throws -> SimHTTP.Answer {
                try await http.call("POST", "/v2/users/\(user)/messages", json: [
                    "msg_type": 0, "content": "reply \(seq)", "msg_id": msgID ?? msg.id, "msg_seq": seq], token: token)
            }
            let ok = try await reply(1)
            #expect(ok.status == 200)
            #expect(ok.header("Content-Type") == "application/json")
            #expect((ok.json?["id"] as? String)?.isEmpty == false)
            #expect((ok.json?["timestamp"] as? String)?.contains("T") == true, "RFC 3339 string")
            let dup = try await reply(1)
            #expect(dup.status == 400)
            #expect(dup.json?["code"] as? Int == 40054005)
            #expect(dup.json?["err_code"] as? Int == 40054005)
            #expect((dup.json?["trace_id"] as? String)?.isEmpty == false)
            #expect(dup.header("X-Tps-trace-ID") == dup.json?["trace_id"] as? String)
            // 4 passive replies per C2C message (the 2026 budget); the 5th is over it.
            for seq in 2...4 { #expect(try await reply(seq).status == 200) }
            #expect(try await reply(5).json?["code"] as? Int == 40034128)
            #expect(try await reply(1, to: "U2").json?["code"] as? Int == 40034024)
            #expect(try await reply(1, msgID: "ROBOT1.0_unknown!").json?["code"] as? Int == 40034024)
            let sent = await sim.platform.sent()
            #expect(sent.count == 8)
            #expect(sent.filter { $0.status == 200 }.count == 4)
            #expect(sent[1].code == 40054005)
        }
    }

    @Test("passive replies after the window are refused with 40034005; event_id replies work")
    func windowAndEventID() async throws {
        let time = ManualClock()
        var config = SimulatorConfiguration()
        config.groupReplyWindow = .seconds(300)
        config.clock = .manual(time)
        try await withSim(config) { sim, http in
            let token = try await http.token()
            let msg = await sim.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "hi")
            let byEvent = try await http.call("POST", "/v2/groups/G1/messages", json: [
                "msg_type": 0, "content": "by event", "event_id": msg.eventID], token: token)
            #expect(byEvent.status == 200)
            time.advance(by: .seconds(301))
            let late = try await http.call("POST", "/v2/groups/G1/messages", json: [
                "msg_type": 0, "content": "late", "msg_id": msg.id, "msg_seq": 1], token: token)
            #expect(late.json?["code"] as? Int == 40034005)
        }
    }

    @Test("markdown is refused with 40034012 unless allowed; empty content 50006; nulls and unknown keys ignored")
    func contentRules() async throws {
        var refusing = SimulatorConfiguration()
        refusing.markdownAllowed = false   // a bot not allowed markdown (before 2026-04, most of them)
        try await withSim(refusing) { sim, http in
            let token = try await http.token()
            let md = try await http.call("POST", "/v2/users/U1/messages", json: ["msg_type": 2, "markdown": ["content": "**x**"]], token: token)
            #expect(md.json?["code"] as? Int == 40034012)
            #expect((md.json?["message"] as? String)?.contains("markdown") == true)
            let empty = try await http.call("POST", "/v2/users/U1/messages", json: ["msg_type": 0, "content": "  "], token: token)
            #expect(empty.json?["code"] as? Int == 50006)
            // botpy style: every unset field as null, plus the path parameter in the body.
            let botpy: [String: Any] = ["openid": "U1", "msg_type": 0, "content": "hello", "embed": NSNull(), "ark": NSNull(),
                                        "message_reference": NSNull(), "media": NSNull(), "msg_id": NSNull(), "msg_seq": 1,
                                        "event_id": NSNull(), "markdown": NSNull(), "keyboard": NSNull(), "whatever": 5]
            #expect(try await http.call("POST", "/v2/users/U1/messages", json: botpy, token: token).status == 200)
            _ = sim
        }
        var allowed = SimulatorConfiguration()
        allowed.markdownAllowed = true
        try await withSim(allowed) { _, http in
            let token = try await http.token()
            #expect(try await http.call("POST", "/v2/users/U1/messages", json: ["msg_type": 2, "markdown": ["content": "**x**"]], token: token).status == 200)
        }
    }

    @Test("proactive messages are accepted, or refused with 40034102 when the platform forbids them")
    func proactive() async throws {
        try await withSim { _, http in
            let token = try await http.token()
            #expect(try await http.call("POST", "/v2/groups/G1/messages", json: ["msg_type": 0, "content": "news"], token: token).status == 200)
        }
        var config = SimulatorConfiguration()
        config.proactiveAllowed = false
        try await withSim(config) { _, http in
            let token = try await http.token()
            let refused = try await http.call("POST", "/v2/groups/G1/messages", json: ["msg_type": 0, "content": "news"], token: token)
            #expect(refused.json?["code"] as? Int == 40034102)
        }
    }

    @Test("upload answers file_uuid, base64 file_info and ttl; media sends need a file_info of the same kind")
    func upload() async throws {
        try await withSim { _, http in
            let token = try await http.token()
            let up = try await http.call("POST", "/v2/users/U1/files", json: ["file_type": 1, "url": "https://x/a.png", "srv_send_msg": false], token: token)
            #expect(up.status == 200)
            let info = try #require(up.json?["file_info"] as? String)
            #expect(Data(base64Encoded: info) != nil)
            #expect(up.json?["file_uuid"] as? String != nil)
            #expect(up.json?["ttl"] as? Int == 3600)
            let media = try await http.call("POST", "/v2/users/U1/messages", json: ["msg_type": 7, "media": ["file_info": info], "content": " "], token: token)
            #expect(media.status == 200)
            let wrongKind = try await http.call("POST", "/v2/groups/G1/messages", json: ["msg_type": 7, "media": ["file_info": info]], token: token)
            #expect(wrongKind.json?["code"] as? Int == 304082)
            let direct = try await http.call("POST", "/v2/groups/G1/files", json: ["file_type": 1, "file_data": "aGk=", "srv_send_msg": true], token: token)
            #expect(direct.json?["id"] as? String != nil)
            #expect(try await http.call("POST", "/v2/groups/G1/files", json: ["file_type": 9, "url": "x"], token: token).json?["code"] as? Int == 850019)
        }
    }

    @Test("control API: users talk, attachments are served, the transcript and bad requests")
    func controlAPI() async throws {
        try await withSim { _, http in
            let c2c = try await http.call("POST", "/sim/c2c", json: [
                "user_openid": "U1", "content": "hi",
                "attachments": [["content_type": "image/png", "filename": "a.png", "data_base64": "iVBORw0K"]]])
            #expect(c2c.status == 200)
            #expect((c2c.json?["id"] as? String)?.hasPrefix("ROBOT1.0_") == true)
            #expect((c2c.json?["event_id"] as? String)?.hasPrefix("C2C_MESSAGE_CREATE:") == true)
            #expect(c2c.json?["delivered"] as? Int == 0, "no bot connected yet")
            #expect(try await http.call("POST", "/sim/c2c", json: ["content": "no user"]).status == 400)
            #expect(try await http.call("POST", "/sim/group", json: ["group_openid": "G"]).json?["error"] != nil)
            #expect(try await http.call("POST", "/sim/fault", json: ["kind": "meteor"]).status == 400)
            #expect(try await http.call("POST", "/sim/fault", json: ["kind": "refuse_connections", "count": 1]).status == 200)
            #expect(try await http.call("POST", "/sim/fault", json: ["kind": "clear"]).status == 200)
            let sent = try await http.call("GET", "/sim/sent")
            #expect(sent.array?.isEmpty == true)
            let state = try await http.call("GET", "/sim/state")
            #expect(state.json?["connectionsOpened"] as? Int == 0)
        }
    }

    @Test("hosted attachment files are served with their content type; unknown ones are 404")
    func files() async throws {
        try await withSim { sim, http in
            let url = await sim.platform.host(data: Data("PNGDATA".utf8), filename: "图片 1.png", contentType: "image/png")
            #expect(url.hasPrefix(sim.baseURL + "/sim/files/"))
            let got = try await http.call("GET", String(url.dropFirst(sim.baseURL.count)))
            #expect(got.status == 200)
            #expect(got.header("Content-Type") == "image/png")
            #expect(got.body == Data("PNGDATA".utf8))
            #expect(try await http.call("GET", "/sim/files/nothing/x.png").status == 404)
        }
    }
}

@Suite("Simulator lifecycle", .timeLimit(.minutes(1)))
struct SimulatorLifecycleTests {
    @Test("a connection that never sends a request does not keep the simulator from stopping")
    func idleConnection() async throws {
        let sim = try await QQSimulator.start()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(sim.port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let clock = ContinuousClock()
        let start = clock.now
        await sim.stop()
        #expect(clock.now - start < .seconds(8))
    }
}
