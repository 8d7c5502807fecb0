import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import QQSession
import QQSimulator
import Testing

/// The simulator's C2C stream rules: what it refuses, and what QQ does with a stream left open.
@Suite("Simulator stream rules", .timeLimit(.minutes(1)))
struct StreamSimulatorRuleTests {
    @Test("a stream that is never closed is rolled back by the platform (the simulator shows it)")
    func rollBack() async throws {
        var sim = SimulatorConfiguration()
        sim.streamCloseTimeout = .milliseconds(200)
        let time = ManualClock()
        try await SimHarness.run(simulator: sim, clock: time) { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.c2cMessage()
            let http = SimHTTPClient(base: h.simulator.baseURL)
            let token = try await http.token()
            _ = try await http.post("/v2/users/U1/messages", ["msg_type": 0, "content": "first", "msg_id": msg.id, "msg_seq": 1,
                                                             "stream": ["state": 1, "index": 0]], token: token)
            time.advance(by: .milliseconds(300))
            let s = try #require(await h.streams().first)
            #expect(s.rolledBack)
            #expect(s.visibleText == "first")
        }
    }

    @Test("the simulator enforces the rules: stream in a group, id on the first frame, wrong index, no newline")
    func simulatorRules() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let msg = await h.c2cMessage()
            let group = await h.groupMessage()
            let http = SimHTTPClient(base: h.simulator.baseURL)
            let token = try await http.token()
            func code(_ path: String, _ body: [String: Any]) async throws -> Int? {
                let (data, _) = try await http.post(path, body, token: token)
                return (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["code"] as? Int
            }
            #expect(try await code("/v2/groups/G1/messages", ["content": "x", "msg_id": group.id, "msg_seq": 1,
                                                              "stream": ["state": 1, "index": 0]]) == 40034031)
            #expect(try await code("/v2/users/U1/messages", ["content": "x", "msg_id": msg.id, "msg_seq": 1,
                                                             "stream": ["state": 1, "index": 0, "id": NSNull()]]) == 40034042)
            let (first, _) = try await http.post("/v2/users/U1/messages", ["content": "x", "msg_id": msg.id, "msg_seq": 2,
                                                                           "stream": ["state": 1, "index": 0]], token: token)
            let id = try #require((try JSONSerialization.jsonObject(with: first) as? [String: Any])?["id"] as? String)
            #expect(try await code("/v2/users/U1/messages", ["content": "y", "msg_id": msg.id, "msg_seq": 3,
                                                             "stream": ["state": 1, "index": 5, "id": id]]) == 40034044)
            #expect(try await code("/v2/users/U1/messages", ["content": "end", "msg_id": msg.id, "msg_seq": 4,
                                                             "stream": ["state": 10, "index": 1, "id": id]]) == 40034050)
            #expect(try await code("/v2/users/U1/messages", ["content": "end\n", "msg_id": msg.id, "msg_seq": 5,
                                                             "stream": ["state": 10, "index": 1, "id": id]]) == nil)
            #expect(try await code("/v2/users/U1/messages", ["content": "more", "msg_id": msg.id, "msg_seq": 6,
                                                             "stream": ["state": 1, "index": 2, "id": id]]) == 40034043)
        }
    }
}
