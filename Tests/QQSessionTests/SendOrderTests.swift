import Foundation
@testable import QQSession
import QQSimulator
import Synchronization
import Testing
import TestSupport

/// The order of what goes to one conversation is fixed when a message's place is taken, not when
/// its send gets to run: the console starts every send in a task of its own.
@Suite("Send order", .timeLimit(.minutes(1)))
struct SendOrderTests {
    /// What ran, in order.
    final class Log: Sendable {
        private let entries = Mutex<[String]>([])
        func add(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    @Test("lanes: the place taken first goes first, though its send starts last; other conversations do not wait")
    func placeOrder() async {
        let lanes = OutboundLanes()
        let log = Log()
        let first = lanes.reserve(.c2c("U1"))
        let second = lanes.reserve(.c2c("U1"))
        let late = Task { await lanes.run(second) { log.add("second") } }
        #expect(await eventually { lanes.waiting == 1 }, "the second send does not wait for the first")
        // Another conversation's lane is free meanwhile.
        await lanes.run(lanes.reserve(.group("G1"))) { log.add("other") }
        await lanes.run(first) { log.add("first") }
        await late.value
        #expect(log.all == ["other", "first", "second"])
        #expect(lanes.waiting == 0)
    }

    @Test("lanes: a place dropped unused holds nothing up; idle returns once the held places are released")
    func droppedPlace() async {
        let lanes = OutboundLanes()
        var unused: SendPlace? = lanes.reserve(.c2c("U1"))
        let held = lanes.reserve(.c2c("U2"))
        let next = lanes.reserve(.c2c("U1"))
        #expect(unused?.conversation == .c2c("U1"))
        let after = Task { await lanes.run(next) { "sent" } }
        #expect(await eventually { lanes.waiting == 1 })
        unused = nil
        #expect(await after.value == "sent")
        let idle = Task { await lanes.idle() }
        held.release()
        await idle.value
        await lanes.idle()   // nothing held: at once
    }

    @Test("a send given an earlier place waits for the message asked for before it: QQ gets them in that order, each with its msg_seq")
    func heldPlaceOrder() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let asked = await h.c2cMessage(from: "U1", "在吗")
            let session = h.session
            let first = session.holdPlace(in: .c2c("U1"))
            let second = session.holdPlace(in: .c2c("U1"))
            // The second message's send starts first, and is out as far as its event…
            let late = Task { await session.send("然后这句", to: .c2c("U1"), place: second) }
            #expect(await h.recorder.wait { $0.contains { if case .outbound(let m) = $0 { return m.text == "然后这句" }; return false } })
            // …and waits for the first one's place.
            #expect(await eventually { session.lanes.waiting == 1 })
            #expect(await h.platform.sent().isEmpty, "sent before the message asked for first")
            let early = await session.send("先说这句", to: .c2c("U1"), place: first)
            let later = await late.value
            #expect(early.status == .sent && later.status == .sent)
            let sent = await h.accepted("/v2/users/U1/messages")
            #expect(sent.compactMap(\.content) == ["先说这句", "然后这句"])
            #expect(sent.map(\.msgID) == [asked.id, asked.id], "both answer the user's message")
            #expect(sent.map(\.msgSeq) == [1, 2])
        }
    }
}
