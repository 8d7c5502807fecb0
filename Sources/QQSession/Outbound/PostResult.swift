import Foundation

/// The outcome of one logical POST (after its retries).
enum PostResult: Sendable {
    /// Accepted; the platform's message id and the raw answer when it gave them.
    case accepted(id: String?, answer: JSONValue?)
    /// A retry answered 40054005 after an attempt whose fate was unknown: that attempt got through.
    case alreadyDelivered
    /// Refused or failed for good. `ambiguous`: an earlier attempt may have been delivered.
    case failed(QQError, ambiguous: Bool)

    var error: QQError? { if case .failed(let e, _) = self { return e }; return nil }
}

/// QQ error codes that decide what a sender does next (qq-protocol.md §8.3).
enum SendCodes {
    static let deduplicated = 40054005
    static let markdownNotAllowed = 40034012
    static let msgIDInvalid = 40034024
    /// The passive window is over or the budget is spent: re-plan (next message, or proactive).
    static let windowOrBudget: Set<Int> = [40034005, 304027, 304103, 40034128]
    /// "msg limit exceed": a rate limit, retried with backoff like a 429.
    static let rateLimited = 22009
    /// Upload: transient (retry) and daily quota (give up).
    static let uploadTransient = 40093001
    static let markdownText = "不允许发送原生 markdown"
    static let dedupText = "消息被去重"
    /// The platform's message text has a literal backslash-n here.
    static let newlineTexts = ["流式消息md分片需要\\n结束", "流式消息md分片需要\n结束"]

    static func isNewlineError(_ e: QQError) -> Bool {
        newlineTexts.contains { e.message.contains($0) }
    }
    static func isMarkdownRefusal(_ e: QQError) -> Bool {
        e.qqCode == markdownNotAllowed || e.code == markdownNotAllowed || e.message.contains(markdownText)
    }
    static func isDedup(_ e: QQError) -> Bool {
        e.qqCode == deduplicated || e.code == deduplicated || e.message.contains(dedupText)
    }
    /// Worth trying again with the same body: rate limits, server trouble, timeouts, the network.
    static func isTransient(_ e: QQError) -> Bool {
        if e.kind == .timeout || e.kind == .transport { return true }
        if let status = e.httpStatus, status == 429 || status >= 500 { return true }
        return e.qqCode == uploadTransient || e.qqCode == rateLimited || e.code == rateLimited
    }
    /// The request may have reached the platform although we saw no answer.
    static func mayHaveArrived(_ e: QQError) -> Bool {
        e.kind == .timeout || e.kind == .transport || (e.httpStatus ?? 0) >= 500
    }
}
