import Foundation
@testable import QQSession
import Testing

/// The gateway protocol without I/O: frames and ticks in, actions out, time injected.
@Suite("Gateway state machine")
struct GatewayStateMachineTests {
    typealias Machine = GatewayStateMachine<SessionClock.Instant>
    let t0 = SessionClock.Instant(offset: .seconds(100))

    func machine() -> Machine {
        Machine(intents: 1 << 25, shard: Shard(index: 0, count: 1), helloTimeout: .seconds(15), readyTimeout: .seconds(15))
    }

    func frame(_ json: String) throws -> GatewayFrame { try GatewayFrame.decode(json) }

    func sends(_ actions: [Machine.Action]) -> [GatewayOutbound] {
        actions.compactMap { if case .send(let o) = $0 { return o }; return nil }
    }

    func ends(_ actions: [Machine.Action]) -> [GatewayEndCause] {
        actions.compactMap { if case .end(let c) = $0 { return c }; return nil }
    }

    /// Hello → Identify → READY, returning the machine in the ready state with s = 1.
    func readyMachine() throws -> Machine {
        var m = machine()
        m.connectionOpened(plan: .identify, now: t0)
        _ = m.receive(try frame(#"{"op":10,"d":{"heartbeat_interval":1000}}"#), now: t0)
        _ = m.receive(try frame(#"{"op":0,"s":1,"t":"READY","d":{"version":1,"session_id":"S1","user":{"id":"B","username":"bot","bot":true},"shard":[0,1]}}"#), now: t0)
        return m
    }

    @Test("Hello leads to Identify with intents and shard [0, 1]")
    func helloIdentifies() throws {
        var m = machine()
        m.connectionOpened(plan: .identify, now: t0)
        let actions = m.receive(try frame(#"{"op":10,"d":{"heartbeat_interval":45000}}"#), now: t0)
        #expect(sends(actions) == [.identify(intents: 1 << 25, shard: Shard(index: 0, count: 1))])
        #expect(m.phase == .identifying)
        #expect(m.heartbeatInterval == .milliseconds(45000))
    }

    @Test("READY records the session; dispatches advance the last seq")
    func readyAndSeq() throws {
        var m = try readyMachine()
        #expect(m.phase == .ready)
        #expect(m.sessionID == "S1")
        let actions = m.receive(try frame(#"{"op":0,"s":7,"t":"C2C_MESSAGE_CREATE","id":"E","d":{"id":"M","content":"x","author":{"user_openid":"U"}}}"#), now: t0)
        #expect(m.lastSeq == 7)
        guard case .dispatch(let f)? = actions.first else { Issue.record("no dispatch"); return }
        #expect(f.t == "C2C_MESSAGE_CREATE")
    }

    @Test("heartbeat carries the last seq; a missing ACK at the next beat ends the link as a zombie")
    func heartbeatAndZombie() throws {
        var m = try readyMachine()
        #expect(m.nextWakeup == t0 + .seconds(1))
        let beat = m.tick(now: t0 + .seconds(1))
        #expect(sends(beat) == [.heartbeat(seq: 1)])
        let zombie = m.tick(now: t0 + .seconds(2))
        #expect(ends(zombie) == [.zombie])
    }

    @Test("an ACK still behind a backlog of dispatches is not a dead link; a beat with nothing heard after it is")
    func ackBehindBacklog() throws {
        var m = try readyMachine()
        _ = m.tick(now: t0 + .seconds(1))
        // The client reads slower than the platform writes: dispatches keep coming, the ACK waits behind them.
        _ = m.receive(try frame(#"{"op":0,"s":2,"t":"C2C_MESSAGE_CREATE","id":"E","d":{"id":"M2","content":"x","author":{"user_openid":"U"}}}"#),
                      now: t0 + .milliseconds(1500))
        let next = m.tick(now: t0 + .seconds(2))
        #expect(ends(next).isEmpty, "frames are arriving: the link is alive")
        #expect(sends(next) == [.heartbeat(seq: 2)])
        let silent = m.tick(now: t0 + .seconds(3))
        #expect(ends(silent) == [.zombie], "no ACK and nothing else since the last beat")
    }

    @Test("an ACK keeps the link alive and measures the RTT")
    func ackMeasuresRTT() throws {
        var m = try readyMachine()
        _ = m.tick(now: t0 + .seconds(1))
        let ack = m.receive(try frame(#"{"op":11}"#), now: t0 + .milliseconds(1040))
        guard case .heartbeatAcknowledged(let rtt)? = ack.first else { Issue.record("no ack action"); return }
        #expect(rtt == .milliseconds(40))
        #expect(sends(m.tick(now: t0 + .seconds(2))) == [.heartbeat(seq: 1)])
    }

    @Test("no Hello in time, no READY in time")
    func deadlines() throws {
        var m = machine()
        m.connectionOpened(plan: .identify, now: t0)
        #expect(ends(m.tick(now: t0 + .seconds(16))) == [.helloTimeout])
        var m2 = machine()
        m2.connectionOpened(plan: .identify, now: t0)
        _ = m2.receive(try frame(#"{"op":10,"d":{"heartbeat_interval":60000}}"#), now: t0)
        #expect(ends(m2.tick(now: t0 + .seconds(16))) == [.readyTimeout])
    }

    @Test("after a drop the next connection resumes with session id and last seq")
    func resumeAfterDrop() throws {
        var m = try readyMachine()
        _ = m.receive(try frame(#"{"op":0,"s":42,"t":"GROUP_AT_MESSAGE_CREATE","d":{"id":"M","content":"x","group_openid":"G","author":{"member_openid":"A"}}}"#), now: t0)
        #expect(m.connectionEnded(.serverClosed(code: 4009)) == .resume)
        m.connectionOpened(plan: .resume, now: t0)
        let actions = m.receive(try frame(#"{"op":10,"d":{"heartbeat_interval":1000}}"#), now: t0)
        #expect(sends(actions) == [.resume(sessionID: "S1", seq: 42)])
        let resumed = m.receive(try frame(#"{"op":0,"s":43,"t":"RESUMED","d":""}"#), now: t0)
        guard case .resumed? = resumed.first else { Issue.record("no resumed"); return }
        #expect(m.phase == .ready)
    }

    @Test("op 7 asks for a resume; op 9 false forces Identify, op 9 true allows Resume")
    func op7AndOp9() throws {
        var m = try readyMachine()
        let op7 = m.receive(try frame(#"{"op":7}"#), now: t0)
        #expect(ends(op7) == [.reconnectRequested])
        #expect(m.connectionEnded(.reconnectRequested) == .resume)

        var m9 = try readyMachine()
        let op9 = m9.receive(try frame(#"{"op":9,"d":false}"#), now: t0)
        #expect(ends(op9) == [.invalidSession(resumable: false)])
        #expect(m9.connectionEnded(.invalidSession(resumable: false)) == .identify)
        #expect(m9.sessionID == nil)

        var m9r = try readyMachine()
        #expect(m9r.connectionEnded(.invalidSession(resumable: true)) == .resume)
    }

    @Test("close codes decide resume, identify or stop", arguments: [
        (4009, "resume"), (4008, "resume"), (1000, "resume"), (1006, "resume"),
        (4006, "identify"), (4007, "identify"), (4900, "identify"), (4913, "identify"), (4004, "resume"),
        (4010, "stop"), (4011, "stop"), (4012, "stop"), (4013, "stop"), (4014, "stop"), (4914, "stop"), (4915, "stop"),
    ])
    func closeCodes(code: Int, expected: String) throws {
        var m = try readyMachine()
        let plan = m.connectionEnded(.serverClosed(code: code))
        switch plan {
        case .resume: #expect(expected == "resume")
        case .identify: #expect(expected == "identify")
        case .stop(let reason):
            #expect(expected == "stop")
            #expect(reason.contains("\(code)"))
        }
    }

    @Test("a Resume the server ignores (no RESUMED in time) falls back to Identify")
    func ignoredResume() throws {
        var m = try readyMachine()
        #expect(m.connectionEnded(.serverClosed(code: 4009)) == .resume)
        m.connectionOpened(plan: .resume, now: t0)
        _ = m.receive(try frame(#"{"op":10,"d":{"heartbeat_interval":60000}}"#), now: t0)
        #expect(ends(m.tick(now: t0 + .seconds(16))) == [.readyTimeout])
        #expect(m.connectionEnded(.readyTimeout) == .identify)
        #expect(m.sessionID == nil)
    }

    @Test("Resumes cut off twice in a row fall back to Identify; a successful one resets the count")
    func droppedResumes() throws {
        var m = try readyMachine()
        _ = m.connectionEnded(.serverClosed(code: 4009))
        for expected in [GatewayPlan.resume, .identify] {
            m.connectionOpened(plan: .resume, now: t0)
            _ = m.receive(try frame(#"{"op":10,"d":{"heartbeat_interval":60000}}"#), now: t0)
            #expect(m.phase == .resuming)
            #expect(m.connectionEnded(.transportError("reset")) == expected)
        }
        var r = try readyMachine()
        _ = r.connectionEnded(.serverClosed(code: 4009))
        r.connectionOpened(plan: .resume, now: t0)
        _ = r.receive(try frame(#"{"op":10,"d":{}}"#), now: t0)
        _ = r.connectionEnded(.transportError("reset"))
        r.connectionOpened(plan: .resume, now: t0)
        _ = r.receive(try frame(#"{"op":10,"d":{}}"#), now: t0)
        _ = r.receive(try frame(#"{"op":0,"s":9,"t":"RESUMED","d":""}"#), now: t0)
        #expect(r.failedResumes == 0)
        #expect(r.connectionEnded(.serverClosed(code: 4009)) == .resume)
    }

    @Test("Resumes cut off during the replay keep the session: the server accepted them, so no Identify abandons its queued events")
    func resumesCutOffDuringReplay() throws {
        var m = try readyMachine()
        _ = m.connectionEnded(.serverClosed(code: 4009))
        for seq in [2, 3, 4] {
            m.connectionOpened(plan: .resume, now: t0)
            let hello = m.receive(try frame(#"{"op":10,"d":{"heartbeat_interval":60000}}"#), now: t0)
            #expect(sends(hello) == [.resume(sessionID: "S1", seq: seq - 1)])
            _ = m.receive(try frame(#"{"op":0,"s":\#(seq),"t":"C2C_MESSAGE_CREATE","id":"E\#(seq)","d":{"id":"M\#(seq)","content":"x","author":{"user_openid":"U"}}}"#), now: t0)
            // A long replay outlasts the READY deadline without ending the connection.
            #expect(ends(m.tick(now: t0 + .seconds(30))) == [])
            #expect(m.connectionEnded(.transportError("reset")) == .resume)
            #expect(m.sessionID == "S1")
        }
    }

    @Test("a fresh Identify forgets the old session and seq")
    func identifyResets() throws {
        var m = try readyMachine()
        _ = m.connectionEnded(.serverClosed(code: 4006))
        m.connectionOpened(plan: .identify, now: t0)
        let actions = m.receive(try frame(#"{"op":10,"d":{}}"#), now: t0)
        #expect(sends(actions).first == .identify(intents: 1 << 25, shard: Shard(index: 0, count: 1)))
        #expect(m.heartbeatInterval == .milliseconds(41_250))
    }

    @Test("the server may ask for an immediate heartbeat (op 1)")
    func serverRequestedBeat() throws {
        var m = try readyMachine()
        #expect(sends(m.receive(try frame(#"{"op":1}"#), now: t0)) == [.heartbeat(seq: 1)])
    }

    @Test("unknown opcodes are reported, not fatal")
    func unknownOpcode() throws {
        var m = try readyMachine()
        let actions = m.receive(try frame(#"{"op":99,"d":null}"#), now: t0)
        guard case .notice(let text)? = actions.first else { Issue.record("no notice"); return }
        #expect(text.contains("99"))
        #expect(m.phase == .ready)
    }
}
