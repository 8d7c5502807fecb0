@testable import QQSession
import Synchronization
import Testing

/// A closure kept in a `Mutex` and read out at every call came back wrapped in one more
/// reabstraction thunk each time: calls recursed deeper and deeper until a long run (the chaos
/// soak's ten thousand messages) died of a stack overflow.
@Suite("Callbacks kept for other tasks")
struct CallbackSlotTests {
    @Test("the session's event tap calls its observer for every event of a long run")
    func eventTap() {
        let (_, continuation) = AsyncStream.makeStream(of: SessionEvent.self, bufferingPolicy: .bufferingNewest(1))
        let tap = EventTap(continuation)
        let seen = Mutex(0)
        tap.observe { _ in seen.withLock { $0 += 1 } }
        let event = SessionEvent.notice(Notice(level: .debug, kind: .duplicate, message: "x"))
        for _ in 0..<200_000 { tap.continuation.yield(event) }
        #expect(seen.withLock { $0 } == 200_000)
    }

    @Test("the store's health listener is called every time in a long run")
    func storeHealth() {
        let relay = StoreHealthRelay()
        let calls = Mutex(0)
        relay.set { _, count in calls.withLock { $0 = max($0, count + 1) } }
        for i in 0..<200_000 { relay.report(nil, i) }
        #expect(calls.withLock { $0 } == 200_000)
        relay.set(nil)
        relay.report(nil, 1_000_000)
        #expect(calls.withLock { $0 } == 200_000, "a removed listener is not called")
    }
}
