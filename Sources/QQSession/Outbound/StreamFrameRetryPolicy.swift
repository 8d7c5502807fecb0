/// What a reply writer does after one POST of a C2C stream frame: the retry ladder, as a pure policy
/// (no I/O, no clock). ``OutboundSender/post(_:body:context:)`` has already retried transient
/// failures with the same body; this policy handles the platform's corrections, and the writer
/// performs what it decides.
///
/// The rungs, in order; each fix is tried at most once per frame:
/// 1. the newline rule ("流式消息md分片需要\n结束"): the text gets its final newline, the frame goes again;
/// 2. markdown refused (40034012) while sending markdown: plain text from now on, the frame goes again;
/// 3. a msg_seq already used (40054005) with no lost answer before it (another process on the same
///    store took it): catch up with the store's counter and go again, with a fresh msg_seq where the
///    frame carries the stream's reserved one;
/// 4. a 4xx that is not a rate limit after an attempt whose answer was lost: the platform has the
///    frame, so it counts as delivered (resending its text would show it twice);
/// 5. else the frame failed. A first frame that never opened a stream gives its passive reply back,
///    and closes the entry when the platform says the window or budget is over.
struct StreamFrameRetryPolicy: Sendable, Equatable {
    /// A correction the writer can make to a refused frame before it goes again.
    enum Fix: Sendable, Hashable, CaseIterable {
        /// End the text with a newline.
        case newline
        /// Send plain text instead of markdown, for the rest of the run.
        case plainText
        /// Catch up with the store's msg_seq counter.
        case resync
    }

    /// How a frame that QQ has came to be known as delivered.
    enum Delivery: Sendable, Equatable {
        /// Accepted; `streamID` is the id in the answer (nil or empty: none).
        case accepted(streamID: String?)
        /// A retry was refused as a duplicate (40054005): an attempt whose answer was lost got through.
        case answerLost
        /// Refused when resent after a lost answer (QQ code, else HTTP status): it already has it.
        case refusedWhenResent(code: Int)

        /// The stream id the answer gave, if any.
        var streamID: String? {
            if case .accepted(let id) = self { return id }
            return nil
        }
    }

    /// What happens to the passive reply a failed frame took.
    enum Refund: Sendable, Equatable {
        /// Kept: a later frame (the stream took it), or a first frame that may have got through.
        case keep
        /// Given back: the stream never opened.
        case refund
        /// Given back, and the entry closed: the platform says the window or budget is over, or the
        /// msg_id is invalid.
        case refundAndExhaust
    }

    /// The policy's answer for one POST.
    enum Decision: Sendable, Equatable {
        /// QQ has the frame.
        case delivered(Delivery)
        /// Add the final newline and POST again.
        case retryWithNewline
        /// Turn markdown off for the run (and say so), POST again.
        case retryAsPlainText
        /// Catch up with the store's msg_seq counter and POST again. `freshSeq`: the frame carries
        /// the stream's reserved msg_seq, so the stream takes a fresh one; `reopen`: no stream was
        /// opened, so a stream_messages index counts from 0 again.
        case retryResynced(freshSeq: Bool, reopen: Bool)
        /// The frame failed for good.
        case failed(Refund)

        /// The fix this decision uses up (nil: no retry).
        var fix: Fix? {
            switch self {
            case .retryWithNewline: return .newline
            case .retryAsPlainText: return .plainText
            case .retryResynced: return .resync
            case .delivered, .failed: return nil
            }
        }
    }

    /// The endpoint the frames go to.
    let api: StreamPolicy.API
    /// With stream_messages: a msg_seq per frame instead of one per stream.
    let seqPerFrame: Bool

    /// The policy of a writer streaming with `settings`.
    init(_ settings: StreamPolicy) {
        self.init(api: settings.api, seqPerFrame: settings.seqPerFrame)
    }

    /// A policy for frames sent to `api`.
    init(api: StreamPolicy.API, seqPerFrame: Bool) {
        self.api = api
        self.seqPerFrame = seqPerFrame
    }

    /// What to do after `result`, the answer to a POST of frame `frameIndex` of its stream. `markdown`:
    /// the frame went as markdown; `tried`: the fixes already used on this frame.
    func decide(after result: PostResult, frameIndex: Int, markdown: Bool, tried: Set<Fix>) -> Decision {
        switch result {
        case .accepted(let id, _):
            return .delivered(.accepted(streamID: id))
        case .alreadyDelivered:
            return .delivered(.answerLost)
        case .failed(let error, let ambiguous):
            return decide(after: error, ambiguous: ambiguous, frameIndex: frameIndex, markdown: markdown, tried: tried)
        }
    }

    private func decide(after error: QQError, ambiguous: Bool, frameIndex: Int, markdown: Bool, tried: Set<Fix>) -> Decision {
        if !tried.contains(.newline), SendCodes.isNewlineError(error) {
            return .retryWithNewline
        }
        if !tried.contains(.plainText), markdown, SendCodes.isMarkdownRefusal(error) {
            return .retryAsPlainText
        }
        // After a lost answer a duplicate means the frame got through (the sender already said so);
        // without one, the msg_seq was taken by someone else.
        if !tried.contains(.resync), !ambiguous, SendCodes.isDedup(error) {
            let carriesReservedSeq = frameIndex == 0 || (api == .streamMessages && !seqPerFrame)
            return .retryResynced(freshSeq: carriesReservedSeq, reopen: frameIndex == 0)
        }
        if ambiguous, let status = error.httpStatus, (400..<500).contains(status), !SendCodes.isTransient(error) {
            // A rate limit (429, 22009) is no such sign: it says nothing of the earlier attempt.
            return .delivered(.refusedWhenResent(code: error.qqCode ?? status))
        }
        guard frameIndex == 0, !ambiguous else { return .failed(.keep) }
        if let code = error.qqCode, SendCodes.windowOrBudget.contains(code) || code == SendCodes.msgIDInvalid {
            return .failed(.refundAndExhaust)
        }
        return .failed(.refund)
    }
}
