@testable import QQSession
import Testing

/// A reply writer's life, event by event, without a network (waiters are plain numbers here).
@Suite("Reply lifecycle")
struct ReplyLifecycleTests {
    typealias Life = ReplyLifecycle<Int>

    @Test("a stream: finish closes it; the reply completes when the stream is done, with its waiters")
    func streamFinish() {
        var life = Life()
        #expect(life.isOpen)
        #expect(life.addWaiter(1) == true)
        #expect(life.finish(streaming: true) == .closeStream)
        #expect(!life.isOpen && !life.isCompleted)
        #expect(life.finish(streaming: true) == .none, "finishing twice does nothing more")
        #expect(life.addWaiter(2) == true)
        #expect(life.textDone() == Life.Completion(ending: .delivered, waiters: [1, 2]))
        #expect(life.isCompleted)
        #expect(life.addWaiter(3) == false, "the outcome is out: a late caller takes it at once")
    }

    @Test("accumulated text: finish sends it; a take-back can no longer stop it")
    func finalSend() {
        var life = Life()
        #expect(life.finish(streaming: false) == .sendFinalText)
        #expect(life.cancel(failure: nil, streaming: false) == .none)
        #expect(!life.isCancelled)
        #expect(life.textDone() == Life.Completion(ending: .delivered, waiters: []))
    }

    @Test("take-back of a stream: it is stopped; the reply completes cancelled once the stream is closed")
    func streamCancel() {
        var life = Life()
        _ = life.addWaiter(7)
        #expect(life.cancel(failure: nil, streaming: true) == .stopStream)
        #expect(life.isCancelled && !life.isOpen)
        #expect(life.cancel(failure: "again", streaming: true) == .none, "the first take-back holds")
        #expect(life.finish(streaming: true) == .none)
        #expect(life.textDone() == Life.Completion(ending: .cancelled(failure: nil), waiters: [7]))
        #expect(life.isCancelled, "still cancelled once completed")
    }

    @Test("take-back of accumulated text: dropped, and the reply completes at once with the agent's failure")
    func accumulateCancel() {
        var life = Life()
        _ = life.addWaiter(1)
        #expect(life.cancel(failure: "agent timed out", streaming: false)
                == .dropText(Life.Completion(ending: .cancelled(failure: "agent timed out"), waiters: [1])))
        #expect(life.isCompleted)
        #expect(life.cancel(failure: nil, streaming: false) == .none)
    }

    @Test("helper sends hold the completion back until the last one ends")
    func helpers() {
        var life = Life()
        #expect(life.helperStarted() == true)
        #expect(life.helperStarted() == true)
        #expect(life.helpers == 2)
        #expect(life.finish(streaming: true) == .closeStream)
        #expect(life.textDone() == nil, "two helpers still under way")
        #expect(life.helperFinished() == nil)
        #expect(life.helperFinished() == Life.Completion(ending: .delivered, waiters: []))
        #expect(life.helpers == 0)
        #expect(life.helperStarted() == false, "nothing starts once completed")
    }

    @Test("a helper ending before the text is done does not complete the reply")
    func helperBeforeText() {
        var life = Life()
        #expect(life.helperStarted() == true)
        #expect(life.helperFinished() == nil, "still open")
        #expect(life.finish(streaming: true) == .closeStream)
        #expect(life.helperStarted() == true)
        #expect(life.helperFinished() == nil, "the stream is not closed yet")
        #expect(life.textDone() != nil)
    }

    @Test("a take-back while a helper runs: the accumulated text is dropped, the reply completes after the helper")
    func cancelWithHelper() {
        var life = Life()
        #expect(life.helperStarted() == true)
        #expect(life.cancel(failure: nil, streaming: false) == .dropText(nil))
        #expect(life.helperFinished() == Life.Completion(ending: .cancelled(failure: nil), waiters: []))
    }

    @Test("a take-back after the stream closed, while a helper runs, still ends cancelled")
    func cancelAfterStreamDone() {
        var life = Life()
        #expect(life.helperStarted() == true)
        #expect(life.finish(streaming: true) == .closeStream)
        #expect(life.textDone() == nil)
        #expect(life.cancel(failure: nil, streaming: true) == .stopStream)
        #expect(life.helperFinished() == Life.Completion(ending: .cancelled(failure: nil), waiters: []),
                "the stream was already done: the helper was the last thing waited for")
    }

    @Test("an undelivered helper message ends the reply failed; a take-back still ends it cancelled")
    func undelivered() {
        var delivered = Life()
        delivered.noteUndelivered()
        _ = delivered.finish(streaming: false)
        #expect(delivered.textDone()?.ending == .undelivered)

        var taken = Life()
        taken.noteUndelivered()
        #expect(taken.cancel(failure: nil, streaming: true) == .stopStream)
        #expect(taken.textDone()?.ending == .cancelled(failure: nil))
    }

    @Test("nothing happens to a completed reply")
    func completedIsFinal() {
        var life = Life()
        _ = life.finish(streaming: true)
        _ = life.textDone()
        #expect(life.textDone() == nil)
        #expect(life.helperFinished() == nil)
        life.noteUndelivered()
        guard case .completed(.delivered) = life.state else { Issue.record("\(life.state)"); return }
    }

    @Test("text done before finish or take-back is ignored: the agent may still write")
    func textDoneWhileOpen() {
        var life = Life()
        #expect(life.textDone() == nil)
        #expect(life.isOpen)
    }
}
