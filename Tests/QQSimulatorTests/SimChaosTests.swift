import Foundation
import QQSession
import QQSimulator
import Testing
import TestSupport

/// The seeded chaos schedule, without a network.
@Suite("Chaos schedule")
struct SimChaosTests {
    @Test("the generator gives the reference SplitMix64 numbers and stays in range")
    func generator() {
        var random = SplitMix64(seed: 0)
        #expect(random.next() == 0xE220_A839_7B1D_CDAF, "the published first output for seed 0")
        var other = SplitMix64(seed: 99)
        for _ in 0..<10_000 {
            #expect((3...5).contains(other.int(in: 3...5)))
            let u = other.unit()
            #expect(u >= 0 && u < 1)
        }
        #expect(Set((0..<1000).map { _ in other.int(in: 0...3) }) == [0, 1, 2, 3])
    }

    @Test("a seed replays the same faults and gaps; another seed gives another schedule")
    func replayable() {
        var a = SimChaos(seed: 42), b = SimChaos(seed: 42), c = SimChaos(seed: 43)
        let first = (0..<300).map { _ in a.next() }
        #expect(first == (0..<300).map { _ in b.next() })
        #expect(first != (0..<300).map { _ in c.next() })
        #expect(Set(first.map(\.kind)) == Set(SimChaos.Kind.allCases), "every kind comes up")
        #expect(first.allSatisfy { $0.gap >= .milliseconds(125) && $0.gap <= .milliseconds(875) }, "0.25–1.75 × the 500 ms mean")
    }

    @Test("only the kinds asked for, and never a fault that ends the session for good")
    func onlySurvivable() {
        var some = SimChaos(seed: 7, kinds: [.drop, .op9])
        #expect((0..<200).allSatisfy { _ in [.drop, .op9].contains(some.next().kind) })
        var all = SimChaos(seed: 8, meanGap: .milliseconds(10))
        for _ in 0..<2000 {
            for fault in all.next().faults {
                switch fault {
                case .close(let code): #expect([1001, 1011, 4008, 4009].contains(code), "close \(code) does not keep the session")
                case .reconnect, .invalidSession, .stallAcks, .freeze, .refuseConnections, .delayAnswers: break
                case .oddResponses(let answers):
                    #expect(answers.allSatisfy { $0.scope == .api && ($0.status == 429 || $0.status >= 500) })
                default: Issue.record("\(fault) is not a chaos fault")
                }
            }
        }
    }
}

extension SimulatorGatewayTests {
    @Test("POST /sim/chaos injects faults from a seed until DELETE stops it; GET reports the counts")
    func chaosRoute() async throws {
        // The schedule runs on the platform's clock: the test moves it, a gap at a time.
        let time = ManualClock()
        var config = SimulatorConfiguration()
        config.clock = .manual(time)
        try await withSim(config) { sim, token in
            let http = SimHTTP(base: sim.baseURL)
            #expect(try await http.call("POST", "/sim/chaos", json: ["mean_gap_ms": 10]).status == 400, "no seed")
            #expect(try await http.call("POST", "/sim/chaos", json: ["seed": 1, "kinds": ["drop", "meteor"]]).status == 400)
            let ws = try await identified(sim, token)
            let started = try await http.call("POST", "/sim/chaos", json: ["seed": 3, "mean_gap_ms": 20, "kinds": ["drop", "close_4009"]])
            #expect(started.status == 200)
            #expect(started.json?["running"] as? Bool == true)
            // Gaps are 5–35 ms: step through them until a fault closed the socket (or 10 s of fault time).
            for _ in 0..<1000 where !ws.isClosed {
                #expect(await time.waitForSleepers { $0 <= time.elapsed + .milliseconds(35) })
                time.advanceToNextDeadline()
            }
            #expect([1001, 1011, 4008, 4009].contains(await ws.waitClosed() ?? 0), "closed with a code that keeps the session")
            let stopped = try await http.call("DELETE", "/sim/chaos")
            #expect(stopped.json?["running"] as? Bool == false)
            #expect(stopped.json?["seed"] as? Int == 3)
            let injected = try #require(stopped.json?["injected"] as? [String: Int])
            #expect(Set(injected.keys).isSubset(of: ["drop", "close_4009"]) && injected.values.reduce(0, +) >= 1)
            // Ten seconds of the schedule's time later, nothing more was injected.
            time.advance(by: .seconds(10))
            let later = try await http.call("GET", "/sim/chaos")
            #expect(later.json?["injected"] as? [String: Int] == injected, "nothing injected after DELETE")
            #expect(!time.sleepers.contains { $0 <= time.elapsed }, "the schedule's timer is gone")
        }
    }

    @Test("a session ended by op 9 lists the messages its client never confirmed (by heartbeat or Resume)")
    func droppedWithSession() async throws {
        try await withSim { sim, token in
            let ws = try await identified(sim, token)
            _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "confirmed")
            #expect(await ws.next()?["s"] as? Int == 2)
            try await ws.send(#"{"op":1,"d":2}"#)
            #expect(await ws.next()?["op"] as? Int == 11)
            let unconfirmed = await sim.platform.userSendsC2C(userOpenID: "U1", content: "not confirmed")
            #expect(await ws.next()?["s"] as? Int == 3)
            await sim.platform.apply(.invalidSession(resumable: false))
            #expect(await sim.platform.messagesDroppedWithSessions() == [unconfirmed.id])
            #expect(await sim.platform.currentStats().droppedWithSessions == 1)
        }
    }

    @Test("a Resume that crosses a non-resumable op 9 on the wire ends the session it names")
    func resumeCrossingOp9() async throws {
        try await withSim { sim, token in
            let session = try await closedSession(sim, token)
            let missed = await sim.platform.userSendsC2C(userOpenID: "U1", content: "while away")
            let second = try await RawGatewayClient.connect(sim.gatewayURL)
            _ = await second.next()
            await sim.platform.apply(.invalidSession(resumable: false))   // before the Resume arrives
            try await second.send(#"{"op":6,"d":{"token":"QQBot \#(token)","session_id":"\#(session)","seq":1}}"#)
            #expect(await second.next()?["op"] as? Int == 9)
            #expect(await second.waitClosed() == 4006)
            // The Resume is read just before the close handshake ends; the platform may take a moment more.
            #expect(await eventually { await !sim.platform.messagesDroppedWithSessions().isEmpty })
            #expect(await sim.platform.messagesDroppedWithSessions() == [missed.id])
            #expect(await sim.platform.currentStats().sessions.isEmpty, "the platform dropped the session it refused")
        }
    }
}
