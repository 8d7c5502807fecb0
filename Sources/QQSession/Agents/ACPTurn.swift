import Foundation
import Synchronization

/// One `session/prompt` of an ACP agent: its events, cancellation and permission answers.
///
/// Once ``cancel()`` ran, `events` never delivers another `.textDelta` (not even one already buffered):
/// late `agent_message_chunk` updates are accepted, as the protocol asks, but dropped.
final class ACPTurn: AgentTurn {
    /// The turn's events; the last one is `.finished`, or the stream throws a ``QQError`` of kind `.agent`.
    let events: AsyncThrowingStream<AgentEvent, any Error>
    /// The conversation's agent.
    let session: ACPSession
    private let continuation: AsyncThrowingStream<AgentEvent, any Error>.Continuation
    private let policy: ACPAgentConfiguration.PermissionPolicy
    private let cancelGrace: Duration
    private let clock: SessionClock
    /// Shared with the `events` filter, which must see `cancelled` before the turn object exists.
    let shared: Shared

    /// The turn's mutable state behind one lock.
    final class Shared: Sendable {
        let state = Mutex(State())
    }

    /// What the turn knows; `continuation.yield` happens under the same lock so `.finished` stays last.
    struct State {
        var cancelled = false
        var finished = false
        /// Permission requests waiting for the operator, by ``PermissionRequest/id``.
        var permissions: [String: PendingPermission] = [:]
        /// Title and status of every tool call seen, by `toolCallId`.
        var tools: [String: (title: String, status: String)] = [:]
        /// Kinds of notes already given once.
        var noted: Set<String> = []
    }

    /// An agent request waiting for ``answer(_:optionID:)``.
    struct PendingPermission: Sendable {
        var rpcID: JSONValue
        var options: [PermissionOption]
    }

    /// Holds the raw stream's iterator for the filtering stream.
    /// Invariant: only the single consumer of `events` calls `next()`, one call at a time.
    private final class IteratorBox: @unchecked Sendable {
        var iterator: AsyncThrowingStream<AgentEvent, any Error>.AsyncIterator
        init(_ iterator: AsyncThrowingStream<AgentEvent, any Error>.AsyncIterator) { self.iterator = iterator }
    }

    /// A turn on `session`; ``run(_:)`` sends the prompt.
    init(session: ACPSession, policy: ACPAgentConfiguration.PermissionPolicy, cancelGrace: Duration, clock: SessionClock) {
        let (raw, continuation) = AsyncThrowingStream.makeStream(of: AgentEvent.self)
        let shared = Shared()
        let box = IteratorBox(raw.makeAsyncIterator())
        events = AsyncThrowingStream {
            while let event = try await box.iterator.next() {
                if case .textDelta = event, shared.state.withLock({ $0.cancelled }) { continue }
                return event
            }
            return nil
        }
        self.shared = shared
        self.continuation = continuation
        self.session = session
        self.policy = policy
        self.cancelGrace = cancelGrace
        self.clock = clock
        // A consumer that stops listening (its task cancelled) stops the agent too.
        continuation.onTermination = { [weak self] termination in
            guard case .cancelled = termination, let self else { return }
            Task { await self.cancel() }
        }
    }

    /// True once ``cancel()`` ran.
    var isCancelled: Bool { shared.state.withLock { $0.cancelled } }

    /// Sends `session/prompt` with `prompt` and ends the turn with the agent's stop reason or error.
    func run(_ prompt: [JSONValue]) async {
        if isCancelled { return finish(.cancelled) }
        let params = JSONValue.object(["sessionId": .string(session.sessionID), "prompt": .array(prompt)])
        do {
            let result = try await session.connection.call("session/prompt", params)
            finish(isCancelled ? .cancelled : Self.stopReason(result["stopReason"]?.stringValue))
        } catch {
            if isCancelled { return finish(.cancelled) }
            fail(error as? QQError ?? QQError.agent("\(session.connection.label): \(error)"))
            if !session.isAlive { await session.terminate() }
        }
    }

    /// `session/cancel`, every pending permission answered `cancelled`, text stops at once; the turn
    /// ends with the agent's reply, or after the grace by stopping the process.
    func cancel() async {
        let pending: [PendingPermission]? = shared.state.withLock { s in
            guard !s.cancelled, !s.finished else { return nil }
            s.cancelled = true
            defer { s.permissions.removeAll() }
            return Array(s.permissions.values)
        }
        guard let pending else { return }
        session.connection.notify("session/cancel", .object(["sessionId": .string(session.sessionID)]))
        for p in pending { session.connection.reply(to: p.rpcID, result: Self.cancelledOutcome) }
        let grace = cancelGrace
        let due = clock.now + grace
        Task { [self, clock] in
            try? await clock.sleep(until: due)
            guard !shared.state.withLock({ $0.finished }) else { return }
            note("the agent did not stop within \(grace.shortDescription) of the cancel: its process was stopped", once: nil)
            await session.terminate()
            finish(.cancelled)
        }
    }

    /// Answers a pending permission request: an offered `optionID`, or nil (or an unknown id) to reject.
    func answer(_ requestID: String, optionID: String?) async {
        guard let pending = shared.state.withLock({ $0.permissions.removeValue(forKey: requestID) }) else { return }
        let outcome = optionID.flatMap { id in pending.options.contains { $0.id == id } ? Self.selected(id) : nil }
        session.connection.reply(to: pending.rpcID, result: outcome ?? Self.rejection(pending.options))
    }

    /// Handles `session/request_permission`: denied at once, or shown to the operator (policy).
    func permissionRequested(id: JSONValue, params: JSONValue) {
        var options: [PermissionOption] = []
        if case .array(let list) = params["options"] {
            options = list.compactMap { o in
                guard let optionID = o["optionId"]?.stringValue else { return nil }
                return PermissionOption(id: optionID, name: o["name"]?.stringValue ?? optionID, kind: o["kind"]?.stringValue ?? "")
            }
        }
        let toolCall = params["toolCall"]
        let requestID = "permission-" + id.description
        enum Decision { case cancelled, deny(String), asked }
        let decision: Decision = shared.state.withLock { s in
            if s.cancelled || s.finished { return .cancelled }
            let toolID = toolCall?["toolCallId"]?.stringValue
            let title = toolCall?["title"]?.stringValue ?? toolID.flatMap { s.tools[$0]?.title } ?? toolID ?? "a tool call"
            guard policy == .askOperator else { return .deny(title) }
            s.permissions[requestID] = PendingPermission(rpcID: id, options: options)
            continuation.yield(.permission(PermissionRequest(id: requestID, title: title, options: options)))
            return .asked
        }
        switch decision {
        case .cancelled:
            session.connection.reply(to: id, result: Self.cancelledOutcome)
        case .deny(let title):
            session.connection.reply(to: id, result: Self.rejection(options))
            note("denied the agent's request to run “\(title)” (permission policy: deny)", once: nil)
        case .asked:
            break
        }
    }

    /// Yields `event` unless the turn ended (or it is text and the turn was cancelled).
    func emit(_ event: AgentEvent) {
        shared.state.withLock { s in
            guard !s.finished else { return }
            if case .textDelta = event, s.cancelled { return }
            continuation.yield(event)
        }
    }

    /// Yields a `.note`; with a `once` key, only the first note of that kind.
    func note(_ text: String, once key: String?) {
        shared.state.withLock { s in
            guard !s.finished else { return }
            if let key, !s.noted.insert(key).inserted { return }
            continuation.yield(.note(text))
        }
    }

    /// Ends the turn with `.finished(reason)` (once).
    func finish(_ reason: StopReason) { complete(.success(reason)) }

    /// Ends the turn by throwing `error` (once).
    func fail(_ error: QQError) { complete(.failure(error)) }

    private func complete(_ result: Result<StopReason, QQError>) {
        let leftovers: [PendingPermission]? = shared.state.withLock { s in
            guard !s.finished else { return nil }
            s.finished = true
            defer { s.permissions.removeAll() }
            switch result {
            case .success(let reason): continuation.yield(.finished(reason)); continuation.finish()
            case .failure(let error): continuation.finish(throwing: error)
            }
            return Array(s.permissions.values)
        }
        guard let leftovers else { return }
        // Nobody can answer these any more; the protocol wants every request answered.
        for p in leftovers { session.connection.reply(to: p.rpcID, result: Self.cancelledOutcome) }
        session.end(self)
    }

    /// `{"outcome":{"outcome":"cancelled"}}`.
    static let cancelledOutcome = JSONValue.object(["outcome": .object(["outcome": .string("cancelled")])])

    /// The outcome selecting `optionID`.
    static func selected(_ optionID: String) -> JSONValue {
        .object(["outcome": .object(["outcome": .string("selected"), "optionId": .string(optionID)])])
    }

    /// The agent's own "reject once" option (else any reject option), or `cancelled` when it offers none.
    static func rejection(_ options: [PermissionOption]) -> JSONValue {
        let reject = options.first { $0.kind == "reject_once" } ?? options.first { $0.kind.hasPrefix("reject_") }
        return reject.map { selected($0.id) } ?? cancelledOutcome
    }
}
