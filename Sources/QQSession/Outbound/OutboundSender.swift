import Foundation
import Logging
import NIOHTTP1
import Synchronization

/// Sends messages to QQ for the session: routes them, retries what is worth retrying, and reports
/// every step as a `SessionEvent.outbound`. Nothing is dropped silently: a message ends sent,
/// failed (with the QQ code and trace id) or refused (before anything was sent).
struct OutboundSender: Sendable {
    let rest: RESTClient
    let ledger: LedgerBox
    let configuration: SessionConfiguration
    /// Set after the platform refused markdown once (40034012): text for the rest of the run.
    let markdownRefused: MarkdownSwitch
    let emit: @Sendable (SessionEvent) -> Void
    let logger: Logger
    /// Reply windows, retry pauses and stream pacing are measured on it.
    let clock: SessionClock
    /// Where outbound messages are kept (stored as sending before each POST).
    var store: MessageStore?
    /// Where the ledger is kept even when `store` is nil (a quiet helper): its msg_seq reservations
    /// are committed before each POST, so another process on the same store never reuses one.
    var ledgerStore: MessageStore? = nil

    var policy: SendPolicy { configuration.sending }

    /// `/v2/users/{openid}` or `/v2/groups/{group_openid}`.
    static func base(_ conversation: ConversationID) -> String {
        switch conversation {
        case .c2c(let id): return "/v2/users/" + Self.pathComponent(id)
        case .group(let id): return "/v2/groups/" + Self.pathComponent(id)
        }
    }

    static func pathComponent(_ s: String) -> String {
        // Openids are letters and digits: nothing to encode (Foundation's encoder took 1 % of a reply).
        if !s.isEmpty, s.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }) {
            return s
        }
        return s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? s
    }

    /// Whether an agent's reply (a stream frame, an accumulated reply) goes as markdown now.
    var useMarkdown: Bool { useMarkdown(origin: "agent") }

    /// Whether a message from `origin` goes as markdown now: everything with `markdown`, all but the
    /// operator's lines with `agentMarkdown`, nothing once the platform refused it (40034012).
    func useMarkdown(origin: String) -> Bool {
        (configuration.markdown || (configuration.agentMarkdown && origin != "operator")) && !markdownRefused.isOn
    }

    /// The route a send would take now (for the console, before sending).
    func route(for conversation: ConversationID, replyingTo: String?) -> ReplyRoute {
        ledger.route(for: conversation, preferred: replyingTo, margin: policy.windowMargin, proactive: policy.proactive, now: clock.date)
    }

    func reserve(for conversation: ConversationID, replyingTo: String?) -> Reservation {
        ledger.reserve(for: conversation, preferred: replyingTo, margin: policy.windowMargin, proactive: policy.proactive, now: clock.date)
    }

    // MARK: - One POST, with retries

    /// POSTs `body` to `path`, retrying transient failures with the same body (so a msg_seq seen twice
    /// tells an earlier lost answer from a real duplicate).
    func post(_ path: String, body: [String: JSONValue], context: String) async -> PostResult {
        let data: Data
        do { data = try Self.encode(body) } catch {
            return .failed(QQError(kind: .malformedResponse, message: "could not encode the request", context: context), ambiguous: false)
        }
        // The msg_seq in this body is on disk before QQ can see it (a restart or a `qqtui send`
        // beside this process continues after it instead of reusing it).
        if let keeper = ledgerStore ?? store { try? await keeper.flush() }
        var ambiguous = false
        var attempt = 0
        while true {
            do {
                let json = try await rest.requestJSON(.POST, path, body: data, context: context)
                return .accepted(id: json?["id"]?.stringValue ?? json?["msg_id"]?.stringValue, answer: json)
            } catch let error as QQError {
                if error.kind == .malformedResponse, let status = error.httpStatus, (200..<300).contains(status) {
                    // Accepted, but the answer is not the JSON object it should be: keep going without an id.
                    logger.warning("odd answer to an accepted send", metadata: ["context": "\(context)", "error": "\(error)"])
                    return .accepted(id: nil, answer: nil)
                }
                if ambiguous, SendCodes.isDedup(error) { return .alreadyDelivered }
                if SendCodes.mayHaveArrived(error) { ambiguous = true }
                guard SendCodes.isTransient(error), attempt < policy.retries, error.kind != .cancelled else {
                    return .failed(error, ambiguous: ambiguous)
                }
                attempt += 1
                let wait = policy.retryBase * (1 << min(attempt - 1, 8))
                logger.info("send retry", metadata: ["context": "\(context)", "attempt": "\(attempt)", "error": "\(error)"])
                try? await clock.sleep(for: wait + .milliseconds(Int.random(in: 0...max(1, wait.milliseconds / 4))))
                if Task.isCancelled { return .failed(QQError(kind: .cancelled, message: "cancelled", context: context), ambiguous: ambiguous) }
            } catch {
                return .failed(QQError.transport(error, context: context), ambiguous: ambiguous)
            }
        }
    }

    static func encode(_ body: [String: JSONValue]) throws -> Data {
        if let text = DirectJSON.object(body) { return Data(text.utf8) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(body)
    }

    /// The routing keys of a reservation: `msg_id`/`event_id` and `msg_seq`.
    static func routing(_ r: Reservation) -> [String: JSONValue] {
        var body: [String: JSONValue] = [:]
        switch r.route {
        case .passive(let id, _, _): body["msg_id"] = .string(id)
        case .passiveEvent(let id, _, _): body["event_id"] = .string(id)
        default: break
        }
        if let seq = r.seq { body["msg_seq"] = .number(Double(seq)) }
        return body
    }

    /// A text body: markdown when configured (and not refused), else msg_type 0.
    func textBody(_ text: String, markdown: Bool) -> [String: JSONValue] {
        markdown
            ? ["msg_type": .number(2), "markdown": .object(["content": .string(text)])]
            : ["msg_type": .number(0), "content": .string(text)]
    }

    // MARK: - Events

    /// Marks part `index` and the message failed with `error`.
    func fail(_ message: inout OutboundMessage, part index: Int, _ error: QQError) {
        update(&message) { m in
            m.parts[index].status = .failed(reason: error.description)
            m.error = error
            m.status = .failed(reason: error.description)
        }
    }

    func update(_ message: inout OutboundMessage, _ change: (inout OutboundMessage) -> Void) {
        change(&message)
        message.updatedAt = clock.date
        emit(.outbound(message))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `out-` and a random UUID in lowercase (written directly: `uuidString.lowercased()` cost 1 % of a reply).
    static func newID() -> String {
        withUnsafeBytes(of: UUID().uuid) { bytes in
            String(unsafeUninitializedCapacity: 40) { out in
                var n = 0
                for c in "out-".utf8 { out[n] = c; n += 1 }
                for (k, b) in bytes.enumerated() {
                    if k == 4 || k == 6 || k == 8 || k == 10 { out[n] = UInt8(ascii: "-"); n += 1 }
                    out[n] = hexDigits[Int(b >> 4)]; out[n + 1] = hexDigits[Int(b & 0xF)]; n += 2
                }
                return n
            }
        }
    }

    /// The same sender without events or records (a reply writer reports its helpers' parts itself).
    var quiet: OutboundSender {
        OutboundSender(rest: rest, ledger: ledger, configuration: configuration, markdownRefused: markdownRefused,
                       emit: { _ in }, logger: logger, clock: clock, store: nil, ledgerStore: ledgerStore ?? store)
    }

    /// After a 40054005 for a msg_seq this process thought fresh: another process on the same store
    /// (`qqtui send` beside a running session) used it. Catch up with the store's counters.
    func resyncLedger(_ msgID: String?) {
        // An entry never used was never written: the message's row gives it back.
        guard let msgID, let keeper = ledgerStore ?? store,
              let saved = keeper.ledgerEntry(msgID) ?? keeper.inboundStart(msgID).map(ledger.fresh) else { return }
        // An entry a busy conversation pushed out of memory comes back whole (merge only updates), a few
        // numbers on: the store may not have its last increments yet, and numbers need only be unique.
        if ledger.entry(msgID, now: clock.date) == nil {
            var entry = saved
            entry.nextSeq += 4
            ledger.restore([entry], now: clock.date)
        }
        ledger.merge(saved, now: clock.date)
    }

    /// The next msg_seq of a reply to `msgID`. The in-memory ledger keeps only a conversation's newest
    /// messages: a stream still answering an older one gets its entry back from the store first, so it
    /// never falls back to guessing a number another reply to the same message already used.
    func takeSeq(_ msgID: String) -> Int? {
        if ledger.entry(msgID, now: clock.date) == nil { resyncLedger(msgID) }
        return ledger.takeSeq(msgID, now: clock.date)
    }

    /// Commits the message's current state (and the ledger changes before it) to the store. A failure
    /// is not fatal: the send goes on and the store keeps the change and retries it.
    func persist(_ message: OutboundMessage) async {
        guard let store else { return }
        do {
            try await store.write([.outbound(message)])
        } catch {
            // Kept and retried by the store; the session reports the failure once (observeHealth).
            logger.debug("outbound not saved yet", metadata: ["id": "\(message.id)", "error": "\(error)"])
        }
    }
}

/// Set once QQ refused markdown: later replies go as plain text.
typealias MarkdownSwitch = AtomicFlag
