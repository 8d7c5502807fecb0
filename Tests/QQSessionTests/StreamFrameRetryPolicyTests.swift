@testable import QQSession
import Testing

/// The retry ladder of a C2C stream frame, rung by rung, without a network.
@Suite("Stream frame retry policy")
struct StreamFrameRetryPolicyTests {
    typealias Policy = StreamFrameRetryPolicy
    let legacy = Policy(api: .legacy, seqPerFrame: false)

    /// A refusal with a QQ body, as `OutboundSender.post` reports it.
    static func refusal(_ code: Int?, status: Int = 400, message: String = "refused") -> QQError {
        QQError(kind: .platform, message: message, httpStatus: status, code: code, errCode: code)
    }

    static let newline = refusal(40034050, message: "流式消息md分片需要\\n结束")
    static let markdown = refusal(SendCodes.markdownNotAllowed, message: "不允许发送原生 markdown")
    static let dedup = refusal(SendCodes.deduplicated, message: "消息被去重")
    static let serverDown = QQError(kind: .platform, message: "down", httpStatus: 503)
    static let timeout = QQError(kind: .timeout, message: "request timed out")

    /// Feeds the same answer until the policy stops retrying; returns every decision, in order.
    func climb(_ policy: Policy, answer: PostResult, frame: Int = 1, markdown: Bool = false) -> [Policy.Decision] {
        var tried: Set<Policy.Fix> = []
        var decisions: [Policy.Decision] = []
        while decisions.count < 10 {
            let decision = policy.decide(after: answer, frameIndex: frame, markdown: markdown, tried: tried)
            decisions.append(decision)
            guard let fix = decision.fix else { break }
            #expect(!tried.contains(fix), "\(fix) tried twice")
            tried.insert(fix)
        }
        return decisions
    }

    // MARK: - Delivered

    @Test("an accepted frame is delivered, with the stream id of its answer (or none)", arguments: [0, 3])
    func accepted(frame: Int) {
        let tried = Set(Policy.Fix.allCases)
        #expect(legacy.decide(after: .accepted(id: "S1", answer: nil), frameIndex: frame, markdown: true, tried: tried)
                == .delivered(.accepted(streamID: "S1")))
        #expect(legacy.decide(after: .accepted(id: nil, answer: nil), frameIndex: frame, markdown: false, tried: [])
                == .delivered(.accepted(streamID: nil)))
    }

    @Test("a duplicate after a lost answer (the sender's alreadyDelivered) is delivered, without a stream id")
    func answerLost() {
        let decision = legacy.decide(after: .alreadyDelivered, frameIndex: 0, markdown: false, tried: [])
        #expect(decision == .delivered(.answerLost))
        if case .delivered(let how) = decision { #expect(how.streamID == nil) }
    }

    @Test("after a lost answer, a 4xx that is not a rate limit means QQ has the frame (code, else HTTP status)")
    func refusedWhenResent() {
        for frame in [0, 2] {
            #expect(legacy.decide(after: .failed(Self.refusal(40034044), ambiguous: true), frameIndex: frame, markdown: false, tried: [])
                    == .delivered(.refusedWhenResent(code: 40034044)))
            #expect(legacy.decide(after: .failed(Self.refusal(nil, status: 409), ambiguous: true), frameIndex: frame, markdown: false, tried: [])
                    == .delivered(.refusedWhenResent(code: 409)))
            // The same refusal without a lost answer before it is a plain failure.
            #expect(legacy.decide(after: .failed(Self.refusal(40034044), ambiguous: false), frameIndex: frame, markdown: false, tried: [])
                    == .failed(frame == 0 ? .refund : .keep))
        }
    }

    @Test("a rate limit after a lost answer says nothing of it: failed, not delivered (the chaos soak's case)",
          arguments: [StreamFrameRetryPolicyTests.refusal(SendCodes.rateLimited, status: 400, message: "msg limit exceed"),
                      StreamFrameRetryPolicyTests.refusal(nil, status: 429)])
    func rateLimitAfterLostAnswer(error: QQError) {
        #expect(SendCodes.isTransient(error))
        #expect(legacy.decide(after: .failed(error, ambiguous: true), frameIndex: 1, markdown: false, tried: []) == .failed(.keep))
        #expect(legacy.decide(after: .failed(error, ambiguous: true), frameIndex: 0, markdown: false, tried: []) == .failed(.keep))
    }

    // MARK: - The fixes

    @Test("the newline rule: fixed once, then the frame fails", arguments: [0, 1])
    func newlineOnce(frame: Int) {
        let steps = climb(legacy, answer: .failed(Self.newline, ambiguous: false), frame: frame)
        #expect(steps == [.retryWithNewline, .failed(frame == 0 ? .refund : .keep)])
        // Recognised by its text (with a real newline too), whatever the code.
        let realNewline = Self.refusal(nil, message: "流式消息md分片需要\n结束")
        #expect(legacy.decide(after: .failed(realNewline, ambiguous: false), frameIndex: frame, markdown: false, tried: []) == .retryWithNewline)
    }

    @Test("the newline rule is fixed even after a lost answer (the text was wrong either way)")
    func newlineAmbiguous() {
        #expect(legacy.decide(after: .failed(Self.newline, ambiguous: true), frameIndex: 1, markdown: false, tried: []) == .retryWithNewline)
    }

    @Test("markdown refused while sending markdown: plain text once, then the frame fails",
          arguments: [StreamFrameRetryPolicyTests.refusal(SendCodes.markdownNotAllowed),
                      StreamFrameRetryPolicyTests.refusal(nil, message: "不允许发送原生 markdown")])
    func plainTextOnce(error: QQError) {
        let steps = climb(legacy, answer: .failed(error, ambiguous: false), frame: 2, markdown: true)
        #expect(steps == [.retryAsPlainText, .failed(.keep)])
    }

    @Test("a markdown refusal of a frame that went as text is not fixed by sending text")
    func plainTextOnlyForMarkdown() {
        #expect(legacy.decide(after: .failed(Self.markdown, ambiguous: false), frameIndex: 2, markdown: false, tried: []) == .failed(.keep))
    }

    @Test("a msg_seq used by another process: resync once, then the frame fails", arguments: [0, 4])
    func resyncOnce(frame: Int) {
        let steps = climb(legacy, answer: .failed(Self.dedup, ambiguous: false), frame: frame)
        #expect(steps == [.retryResynced(freshSeq: frame == 0, reopen: frame == 0), .failed(frame == 0 ? .refund : .keep)])
    }

    @Test("a fresh msg_seq where the frame carries the stream's reserved one; a first frame reopens the index",
          arguments: [(StreamPolicy.API.legacy, false), (.legacy, true), (.streamMessages, false), (.streamMessages, true)])
    func resyncSeq(api: StreamPolicy.API, seqPerFrame: Bool) {
        let policy = Policy(api: api, seqPerFrame: seqPerFrame)
        let dedup = PostResult.failed(Self.dedup, ambiguous: false)
        #expect(policy.decide(after: dedup, frameIndex: 0, markdown: false, tried: []) == .retryResynced(freshSeq: true, reopen: true))
        let oneSeqPerStream = api == .streamMessages && !seqPerFrame
        #expect(policy.decide(after: dedup, frameIndex: 3, markdown: false, tried: []) == .retryResynced(freshSeq: oneSeqPerStream, reopen: false))
    }

    @Test("a duplicate after a lost answer is no resync: the frame got through")
    func dedupAmbiguous() {
        #expect(legacy.decide(after: .failed(Self.dedup, ambiguous: true), frameIndex: 1, markdown: false, tried: [])
                == .delivered(.refusedWhenResent(code: SendCodes.deduplicated)))
    }

    @Test("the rungs in order, each once: newline, plain text, resync, then the end")
    func ladderOrder() {
        // One answer that matches every rung (the platform's texts are matched, whatever the code).
        let all = QQError(kind: .platform, message: "流式消息md分片需要\\n结束; 不允许发送原生 markdown; 消息被去重",
                          httpStatus: 400, code: 40034050)
        let steps = climb(legacy, answer: .failed(all, ambiguous: false), frame: 0, markdown: true)
        #expect(steps == [.retryWithNewline, .retryAsPlainText, .retryResynced(freshSeq: true, reopen: true), .failed(.refund)])
        #expect(steps.compactMap(\.fix) == [.newline, .plainText, .resync])
    }

    // MARK: - Failing for good

    @Test("a first frame that never opened a stream gives its reply back; a later frame keeps it")
    func refund() {
        let refused = PostResult.failed(Self.refusal(40034999), ambiguous: false)
        #expect(legacy.decide(after: refused, frameIndex: 0, markdown: false, tried: []) == .failed(.refund))
        #expect(legacy.decide(after: refused, frameIndex: 1, markdown: false, tried: []) == .failed(.keep))
    }

    @Test("the window or budget is over, or the msg_id is invalid: the reply is given back and the entry closed",
          arguments: SendCodes.windowOrBudget.sorted() + [SendCodes.msgIDInvalid])
    func exhaust(code: Int) {
        let refused = PostResult.failed(Self.refusal(code), ambiguous: false)
        #expect(legacy.decide(after: refused, frameIndex: 0, markdown: false, tried: []) == .failed(.refundAndExhaust))
        #expect(legacy.decide(after: refused, frameIndex: 2, markdown: false, tried: []) == .failed(.keep))
    }

    @Test("a first frame that may have got through (5xx, timeout) keeps its reply: QQ may show it")
    func ambiguousFirstFrame() {
        for error in [Self.serverDown, Self.timeout] {
            #expect(SendCodes.mayHaveArrived(error))
            #expect(legacy.decide(after: .failed(error, ambiguous: true), frameIndex: 0, markdown: false, tried: []) == .failed(.keep))
        }
    }

    @Test("transient failures that ran out of retries are not fixed: a rate limit gives the first frame's reply back")
    func transientExhausted() {
        let limited = Self.refusal(SendCodes.rateLimited, message: "msg limit exceed")
        #expect(legacy.decide(after: .failed(limited, ambiguous: false), frameIndex: 0, markdown: true, tried: []) == .failed(.refund))
        #expect(legacy.decide(after: .failed(Self.refusal(nil, status: 429), ambiguous: false), frameIndex: 1, markdown: true, tried: [])
                == .failed(.keep))
    }

    @Test("the policy reads the stream settings it is made from")
    func settings() {
        var stream = StreamPolicy()
        stream.api = .streamMessages
        stream.seqPerFrame = true
        #expect(Policy(stream) == Policy(api: .streamMessages, seqPerFrame: true))
        #expect(Policy(StreamPolicy()) == legacy)
    }
}
