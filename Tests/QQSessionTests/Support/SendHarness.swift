import Foundation
import TestSupport
import QQSession
import QQSimulator

extension SimHarness {
    /// A user writes in private; waits until the session has it (its ledger entry is open then).
    @discardableResult
    func c2cMessage(from user: String = "U1", _ text: String = "你好") async -> SimDispatchResult {
        let sent = await platform.userSendsC2C(userOpenID: user, content: text)
        _ = await recorder.wait { $0.contains { if case .message(let m) = $0 { return m.id == sent.id }; return false } }
        return sent
    }

    /// A member @-mentions the bot in a group; waits until the session has it.
    @discardableResult
    func groupMessage(_ group: String = "G1", from member: String = "M1", _ text: String = "hi") async -> SimDispatchResult {
        let sent = await platform.userSendsGroup(groupOpenID: group, memberOpenID: member, content: text)
        _ = await recorder.wait { $0.contains { if case .message(let m) = $0 { return m.id == sent.id }; return false } }
        return sent
    }

    /// Successful sends to a path, in order.
    func accepted(_ path: String) async -> [SentRecord] {
        await platform.sent().filter { $0.path == path && $0.status == 200 }
    }

    func streams() async -> [SimStreamRecord] { await platform.streamRecords() }

    /// Polls the simulator's counters until `condition` holds (or 10 s pass).
    func waitStats(_ condition: @escaping (SimStats) -> Bool) async -> Bool {
        await eventually { condition(await platform.currentStats()) }
    }

    /// Polls until `condition` holds for the simulator's streams (or 10 s pass).
    func waitStreams(_ condition: @escaping ([SimStreamRecord]) -> Bool) async -> Bool {
        await eventually { condition(await streams()) }
    }
}

extension SentRecord {
    var msgID: String? { body?["msg_id"]?.string }
    var msgSeq: Int? { body?["msg_seq"]?.int }
    var content: String? { body?["content"]?.string ?? body?["markdown"]?["content"]?.string }
}
