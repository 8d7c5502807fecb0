import Foundation
import QQSession
import QQSimulator
import Testing
import TestSupport

/// The simulated gateway frame by frame, with a bare WebSocket client.
@Suite("Simulator gateway", .timeLimit(.minutes(1)))
struct SimulatorGatewayTests {
    func withSim(_ config: SimulatorConfiguration = SimulatorConfiguration(),
                 _ body: (QQSimulator, String) async throws -> Void) async throws {
        let sim = try await QQSimulator.start(config)
        do {
            let token = try await SimHTTP(base: sim.baseURL).token()
            try await body(sim, token)
        } catch { await sim.stop(); throw error }
        await sim.stop()
    }

    /// A socket past Hello and READY (both frames consumed).
    func identified(_ sim: QQSimulator, _ token: String, shard: [Int] = [0, 1],
                    autoPing: Duration? = nil) async throws -> RawGatewayClient {
        let ws = try await RawGatewayClient.connect(sim.gatewayURL, autoPing: autoPing)
        _ = await ws.next()
        try await ws.send(identify(token, shard: shard))
        _ = await ws.next()
        return ws
    }

    /// The session id of a socket that identified and then closed (to be resumed on another one).
    func closedSession(_ sim: QQSimulator, _ token: String) async throws -> String {
        let first = try await RawGatewayClient.connect(sim.gatewayURL)
        _ = await first.next()
        try await first.send(identify(token))
        let session = try #require((await first.next()?["d"] as? [String: Any])?["session_id"] as? String)
        await first.close()
        return session
    }

    func identify(_ token: String, intents: Int = 1 << 25, shard: [Int] = [0, 1], prefix: String = "QQBot ") -> String {
        #"{"op":2,"d":{"token":"\#(prefix)\#(token)","intents":\#(intents),"shard":[\#(shard[0]),\#(shard[1])],"properties":{}}}"#
    }

    @Test("Hello first, then READY as the very next frame with everything clients index")
    func helloAndReady() async throws {
        try await withSim { sim, token in
            let ws = try await RawGatewayClient.connect(sim.gatewayURL)
            let hello = try #require(await ws.next())
            #expect(hello["op"] as? Int == 10)
            #expect((hello["d"] as? [String: Any])?["heartbeat_interval"] as? Int == 41_250)
            try await ws.send(identify(token))
            let ready = try #require(await ws.next())
            #expect(ready["op"] as? Int == 0)
            #expect(ready["t"] as? String == "READY")
            #expect(ready["s"] as? Int == 1)
            #expect((ready["id"] as? String)?.isEmpty == false)
            let d = try #require(ready["d"] as? [String: Any])
            #expect(d["version"] as? Int == 1)
            #expect((d["session_id"] as? String)?.isEmpty == false)
            #expect(d["shard"] as? [Int] == [0, 1])
            let user = try #require(d["user"] as? [String: Any])
            #expect(user["id"] as? String == sim.configuration.botID)
            #expect(user["username"] as? String == sim.configuration.botName)
            #expect(user["bot"] as? Bool == true)
            await ws.close()
        }
    }

    @Test("Identify sent before Hello is read (as botgo does) is accepted")
    func identifyBeforeHello() async throws {
        try await withSim { sim, token in
            let ws = try await RawGatewayClient.connect(sim.gatewayURL)
            try await ws.send(identify(token))
            #expect(await ws.next()?["op"] as? Int == 10)
            #expect(await ws.next()?["t"] as? String == "READY")
            await ws.close()
        }
    }

    @Test("heartbeats with d null, 0 or a number are ACKed with {\"op\":11}; WebSocket pings are answered")
    func heartbeats() async throws {
        try await withSim { sim, token in
            let ws = try await identified(sim, token)
            for d in ["null", "0", "1"] {
                try await ws.send(#"{"op":1,"d":\#(d)}"#)
                #expect(await ws.nextText() == #"{"op":11}"#)
            }
            await ws.close()
            // A WebSocket ping (which no client library shows us) gets its pong, payload and all.
            let raw = try RawPingSocket(port: sim.port)
            #expect(try raw.nextFrame().payload.starts(with: Array(#"{"op":10"#.utf8)), "Hello comes first")
            try raw.ping(Array("qqtui".utf8))
            let pong = try raw.nextFrame()
            #expect(pong.opcode == 0xA)
            #expect(pong.payload == Array("qqtui".utf8))
        }
    }

    @Test("dispatches carry increasing s and an envelope id; group events carry every field SDKs require")
    func dispatchShape() async throws {
        try await withSim { sim, token in
            let ws = try await identified(sim, token)
            _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "c2c")
            let sent = await sim.platform.userSendsGroup(groupOpenID: "G1", memberOpenID: "M1", content: "grp")
            let c2c = try #require(await ws.next())
            #expect(c2c["s"] as? Int == 2)
            let cd = try #require(c2c["d"] as? [String: Any])
            let cAuthor = try #require(cd["author"] as? [String: Any])
            #expect(cAuthor["id"] as? String == "U1")
            #expect(cAuthor["user_openid"] as? String == "U1")
            let group = try #require(await ws.next())
            #expect(group["s"] as? Int == 3)
            #expect(group["t"] as? String == "GROUP_AT_MESSAGE_CREATE")
            #expect(group["id"] as? String == sent.eventID)
            let d = try #require(group["d"] as? [String: Any])
            #expect(d["group_id"] as? String == "G1")
            #expect(d["group_openid"] as? String == "G1")
            #expect(d["content"] as? String == " grp", "leading space, no bot tag")
            let ts = try #require(d["timestamp"] as? String)
            #expect(ts.hasSuffix("+08:00"))
            let author = try #require(d["author"] as? [String: Any])
            #expect(author["id"] as? String == "M1")
            #expect(author["member_openid"] as? String == "M1")
            #expect(author["member_role"] as? String == "member")
            #expect(author["bot"] as? Bool == false)
            await ws.close()
        }
    }

    @Test("Resume (bare token, as botgo sends it) replays what was missed, then RESUMED with d \"\"")
    func resumeReplay() async throws {
        try await withSim { sim, token in
            let first = try await RawGatewayClient.connect(sim.gatewayURL)
            _ = await first.next()
            try await first.send(identify(token))
            let ready = try #require(await first.next()?["d"] as? [String: Any])
            let session = try #require(ready["session_id"] as? String)
            _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "seen")
            #expect(await first.next()?["s"] as? Int == 2)
            await first.close()
            for i in 1...3 { _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "missed \(i)") }
            let second = try await RawGatewayClient.connect(sim.gatewayURL)
            _ = await second.next()
            try await second.send(#"{"op":6,"d":{"token":"\#(token)","session_id":"\#(session)","seq":2}}"#)
            var seqs: [Int] = []
            for _ in 1...3 {
                let f = try #require(await second.next())
                seqs.append(f["s"] as? Int ?? -1)
                #expect(((f["d"] as? [String: Any])?["content"] as? String)?.hasPrefix("missed") == true)
            }
            #expect(seqs == [3, 4, 5])
            let resumed = try #require(await second.next())
            #expect(resumed["t"] as? String == "RESUMED")
            #expect(resumed["d"] as? String == "")
            #expect(resumed["s"] as? Int == 6)
            await second.close()
        }
    }

    @Test("Resume with a seq from the future is refused with 4007; READY is never replayed")
    func resumeChecks() async throws {
        try await withSim { sim, token in
            let session = try await closedSession(sim, token)
            let ahead = try await RawGatewayClient.connect(sim.gatewayURL)
            _ = await ahead.next()
            try await ahead.send(#"{"op":6,"d":{"token":"QQBot \#(token)","session_id":"\#(session)","seq":99}}"#)
            #expect(await ahead.waitClosed() == 4007)
            let fromZero = try await RawGatewayClient.connect(sim.gatewayURL)
            _ = await fromZero.next()
            try await fromZero.send(#"{"op":6,"d":{"token":"QQBot \#(token)","session_id":"\#(session)","seq":0}}"#)
            #expect(await fromZero.next()?["t"] as? String == "RESUMED", "READY is not an event to replay")
            await fromZero.close()
        }
    }

    @Test("a socket that stops heartbeating is closed with 4009 (its session stays resumable)")
    func heartbeatTimeout() async throws {
        let time = ManualClock()
        var config = SimulatorConfiguration()
        config.clock = .manual(time)
        let interval = Duration.milliseconds(config.heartbeatIntervalMs)
        try await withSim(config) { sim, token in
            let ws = try await identified(sim, token)
            // The watchdog looks once an interval: the first look more than 3 intervals after the
            // last beat (here: the socket opening) closes it.
            var looks = 0
            while looks < 10 {
                let next = interval * (looks + 1)
                #expect(await eventually { ws.isClosed || time.sleepers.contains(next) })
                if ws.isClosed { break }
                time.advance(to: next)
                looks += 1
            }
            #expect(looks == 4)
            #expect(await ws.waitClosed(timeout: .seconds(5)) == 4009)
            #expect(await sim.platform.currentStats().heartbeatTimeouts == 1)
            #expect(await sim.platform.currentStats().sessions.count == 1, "4009 leaves the session resumable")
        }
    }

    @Test("a close code no server may send is refused by the control API, not a crash")
    func badCloseCode() async throws {
        try await withSim { sim, token in
            let http = SimHTTP(base: sim.baseURL)
            for code in [70000, -1, 1005, 999] {
                let answer = try await http.call("POST", "/sim/fault", json: ["kind": "close", "code": code])
                #expect(answer.status == 400)
            }
            await sim.platform.apply(.close(code: 70000))
            let state = try await http.call("GET", "/sim/state")
            #expect(state.status == 200, "the simulator is still up")
            _ = token
        }
    }

    @Test("group events list the other members tagged in the content (not the bot)")
    func mentionsListed() async throws {
        try await withSim { sim, token in
            let ws = try await identified(sim, token)
            _ = await sim.platform.userSendsGroup(groupOpenID: "G", memberOpenID: "M", content: "<@!M7> look at <@M8>", inlineMention: true)
            let d = try #require(await ws.next()?["d"] as? [String: Any])
            let mentions = try #require(d["mentions"] as? [[String: Any]])
            #expect(mentions.compactMap { $0["member_openid"] as? String } == ["M7", "M8"])
            #expect(mentions.allSatisfy { $0["is_you"] as? Bool == false })
            await ws.close()
        }
    }

    @Test("Resume of an unknown session: op 9 (d false), then the server closes")
    func resumeUnknown() async throws {
        try await withSim { sim, token in
            let ws = try await RawGatewayClient.connect(sim.gatewayURL)
            _ = await ws.next()
            try await ws.send(#"{"op":6,"d":{"token":"QQBot \#(token)","session_id":"nope","seq":3}}"#)
            let op9 = try #require(await ws.next())
            #expect(op9["op"] as? Int == 9)
            #expect(op9["d"] as? Bool == false)
            #expect(await ws.waitClosed() == 4006)
        }
    }

    @Test("refusals close with the platform's codes", arguments: [
        ("badtoken", 4004), ("intents0", 4013), ("forbidden", 4014), ("shard", 4010), ("json", 4002), ("opcode", 4001),
    ])
    func refusals(kind: String, code: Int) async throws {
        var config = SimulatorConfiguration()
        config.permittedIntents = 1 << 25
        try await withSim(config) { sim, token in
            let ws = try await RawGatewayClient.connect(sim.gatewayURL)
            _ = await ws.next()
            switch kind {
            case "badtoken": try await ws.send(identify("not-a-token"))
            case "intents0": try await ws.send(identify(token, intents: 0))
            case "forbidden": try await ws.send(identify(token, intents: 1 << 25 | 1 << 30))
            case "shard": try await ws.send(identify(token, shard: [2, 2]))
            case "json": try await ws.send("{oops")
            default: try await ws.send(#"{"op":77}"#)
            }
            #expect(await ws.waitClosed() == code)
        }
    }

    @Test("faults: op 7 then close 4009; op 9 then close; a plain close with any code")
    func faults() async throws {
        try await withSim { sim, token in
            for (fault, frameOp, close) in [(SimFault.reconnect, 7, 4009), (.invalidSession(resumable: false), 9, 4006),
                                            (.close(code: 4900), nil, 4900)] as [(SimFault, Int?, Int)] {
                let ws = try await identified(sim, token)
                await sim.platform.apply(fault)
                if let frameOp { #expect(await ws.next()?["op"] as? Int == frameOp) }
                #expect(await ws.waitClosed() == close)
            }
        }
    }

    @Test("with two shards each event goes to exactly one session")
    func sharding() async throws {
        try await withSim { sim, token in
            let a = try await RawGatewayClient.connect(sim.gatewayURL)
            let b = try await RawGatewayClient.connect(sim.gatewayURL)
            _ = await a.next(); _ = await b.next()
            try await a.send(identify(token, shard: [0, 2]))
            try await b.send(identify(token, shard: [1, 2]))
            _ = await a.next(); _ = await b.next()
            var delivered = 0
            for i in 0..<20 { delivered += await sim.platform.userSendsC2C(userOpenID: "USER\(i)", content: "x").delivered }
            #expect(delivered == 20)
            var countA = 0, countB = 0
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            while countA + countB < 20, clock.now < deadline {
                if await a.next(timeout: .milliseconds(20)) != nil { countA += 1 }
                if await b.next(timeout: .milliseconds(20)) != nil { countB += 1 }
            }
            #expect(countA + countB == 20)
            #expect(countA > 0 && countB > 0)
            await a.close(); await b.close()
        }
    }
}
