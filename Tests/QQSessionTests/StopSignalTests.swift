import Foundation
@testable import QQSession
import Testing

/// Structured work that another task cuts short: the backoff wait, the preparation, the socket, timers.
@Suite("Stop signal and alarm", .timeLimit(.minutes(1)))
struct StopSignalTests {
    @Test("work that is not stopped runs to its end and its value comes back")
    func runsToTheEnd() async {
        let stop = StopSignal()
        #expect(await stop.run { 42 } == 42)
    }

    @Test("firing cancels a sleep under way: its sleeper is gone and run returns without time moving")
    func fireCancelsSleep() async {
        let time = ManualClock()
        let clock = SessionClock.manual(time)
        let stop = StopSignal()
        async let slept = stop.run { (try? await clock.sleep(for: .seconds(60))) != nil }
        #expect(await time.waitForSleepers(1))
        stop.fire()
        #expect(await slept == false, "the sleep was cancelled, not woken")
        #expect(time.sleepers.isEmpty)
        #expect(time.elapsed == .zero)
    }

    @Test("fired before it runs, the work is cancelled as soon as it waits")
    func firedFirst() async {
        let time = ManualClock()
        let clock = SessionClock.manual(time)
        let stop = StopSignal()
        stop.fire()
        stop.fire()
        #expect(await stop.run { (try? await clock.sleep(for: .seconds(60))) != nil } == false)
        #expect(time.sleepers.isEmpty)
    }

    @Test("an alarm rung while armed ends that sleep; rung before the sleep starts, the sleep ends at once")
    func alarm() async {
        let time = ManualClock()
        let clock = SessionClock.manual(time)
        let alarm = Alarm()
        let first = alarm.arm()
        async let woke: Void? = first.run { try? await clock.sleep(for: .seconds(60)) }
        #expect(await time.waitForSleepers(1))
        alarm.ring()
        _ = await woke
        #expect(time.sleepers.isEmpty)
        let second = alarm.arm()
        alarm.ring()
        #expect(await second.run { (try? await clock.sleep(for: .seconds(60))) != nil } == false)
        // A fresh arm after a ring sleeps normally.
        let third = alarm.arm()
        async let slept = third.run { (try? await clock.sleep(for: .seconds(5))) != nil }
        #expect(await time.waitForSleepers(1))
        time.advance(by: .seconds(5))
        #expect(await slept == true)
    }

    @Test("abandonable work: its value is awaited; cancelling the waiter cancels it; once let go, nil and a late value is dropped")
    func abandonable() async {
        #expect(await AbandonableTask { "done" }.value() == "done")

        let time = ManualClock()
        let clock = SessionClock.manual(time)
        let cancelled = AbandonableTask { (try? await clock.sleep(for: .seconds(60))) == nil }
        let waiter = Task { await cancelled.value() }
        #expect(await time.waitForSleepers(1))
        waiter.cancel()
        #expect(await waiter.value == true, "the work saw the cancellation and its value still came back")

        let stranded = AbandonableTask { (try? await clock.sleep(for: .seconds(3600))) != nil }
        #expect(await time.waitForSleepers(1))
        let letGo = Task { await stranded.value() }
        stranded.abandon()
        #expect(await letGo.value == nil)
        time.advance(by: .seconds(3600))
        #expect(await stranded.value() == nil, "what the work returned after it was let go is dropped")
    }
}
