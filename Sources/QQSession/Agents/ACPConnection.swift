import Foundation
import Synchronization

/// A message from the agent that is not a reply to one of our requests.
enum ACPInbound: Sendable {
    /// The agent asks us something; answer with ``ACPConnection/reply(to:result:)`` or
    /// ``ACPConnection/replyError(to:code:message:)`` using the same `id` (its own id space).
    case request(id: JSONValue, method: String, params: JSONValue)
    /// The agent tells us something (no reply).
    case notification(method: String, params: JSONValue)
    /// A line that is not JSON-RPC, or a reply nobody waits for: ignored, described for the operator.
    case malformed(String)
}

/// A JSON-RPC 2.0 client over an agent process's stdio, one message per line (ACP's transport).
///
/// Our requests carry our own id counter; the agent's requests use its own id space, so a line with a
/// `method` is always the agent's request or notification and only the rest is matched against our
/// pending calls. When the agent exits, every pending call fails with its exit status and stderr tail.
final class ACPConnection: Sendable {
    /// The agent process.
    let process: AgentProcess
    /// How errors name the agent, e.g. `acp gemini`.
    let label: String
    private let maxLineBytes: Int
    /// What request timeouts are measured on.
    private let clock: SessionClock
    private let state = Mutex(State())

    private struct State {
        var nextID = 0
        var pending: [Int: (method: String, continuation: CheckedContinuation<JSONValue, any Error>)] = [:]
        var failure: QQError?
    }

    /// A connection over `process`; call ``start(_:)`` to begin reading.
    init(process: AgentProcess, label: String, maxLineBytes: Int = 8 * 1024 * 1024, clock: SessionClock = .continuous) {
        self.clock = clock
        self.process = process
        self.label = label
        self.maxLineBytes = maxLineBytes
    }

    /// Why the connection is closed (the agent exited, broke the framing), nil while it is open.
    var failure: QQError? { state.withLock { $0.failure } }

    /// Reads the agent's output until EOF, passing requests, notifications and malformed lines to
    /// `handler` one at a time, in order (a reply is delivered only after everything before it).
    func start(_ handler: @escaping @Sendable (ACPInbound) async -> Void) {
        Task { [self] in
            var buffer = ACPLineBuffer(limit: maxLineBytes)
            for await chunk in process.stdout {
                let lines: [Data]
                do { lines = try buffer.append(chunk) } catch {
                    let problem = "\(label) broke the protocol: a line longer than \(maxLineBytes) bytes"
                    await handler(.malformed(problem))
                    close(QQError.agent(problem))
                    return
                }
                for line in lines { await dispatch(line, handler) }
            }
            if let rest = buffer.finish() { await dispatch(rest, handler) }
            close(await exitError())
        }
    }

    /// Sends a request and waits for its result; throws the agent's error reply, a timeout, or the
    /// agent's death as a ``QQError`` of kind `.agent`.
    func call(_ method: String, _ params: JSONValue, timeout: Duration? = nil) async throws -> JSONValue {
        let id = state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
        let line = Self.encode(["jsonrpc": .string("2.0"), "id": .number(Double(id)), "method": .string(method), "params": params])
        let timer = timeout.map { limit in
            let due = clock.now + limit
            return Task { [weak self, label, clock] in
                try await clock.sleep(until: due)
                self?.fail(id, QQError.agent("\(label) did not answer \(method) within \(limit.shortDescription)"))
            }
        }
        defer { timer?.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<JSONValue, any Error>) in
                let early: (any Error)? = state.withLock { s in
                    if let failure = s.failure { return failure }
                    if Task.isCancelled { return CancellationError() }
                    s.pending[id] = (method, c)
                    return nil
                }
                if let early { return c.resume(throwing: early) }
                if !process.write(line) {
                    fail(id, QQError.agent("\(label) does not read its input any more (\(method) not sent)"))
                }
            }
        } onCancel: {
            fail(id, CancellationError())
        }
    }

    /// Sends a notification (no reply expected); false when the agent cannot be written to.
    @discardableResult
    func notify(_ method: String, _ params: JSONValue) -> Bool {
        // A closed connection is not written to: its pipe may still be open in a process forked
        // meanwhile (until that one execs), so a write could "succeed" into nowhere.
        guard state.withLock({ $0.failure == nil }) else { return false }
        return process.write(Self.encode(["jsonrpc": .string("2.0"), "method": .string(method), "params": params]))
    }

    /// Answers the agent's request `id` with `result`.
    func reply(to id: JSONValue, result: JSONValue) {
        process.write(Self.encode(["jsonrpc": .string("2.0"), "id": id, "result": result]))
    }

    /// Answers the agent's request `id` with a JSON-RPC error.
    func replyError(to id: JSONValue, code: Int, message: String) {
        let error = JSONValue.object(["code": .number(Double(code)), "message": .string(message)])
        process.write(Self.encode(["jsonrpc": .string("2.0"), "id": id, "error": error]))
    }

    /// Closes the connection: every pending and later call fails with `error`.
    func close(_ error: QQError) {
        let waiting = state.withLock { s in
            if s.failure == nil { s.failure = error }
            defer { s.pending.removeAll() }
            return s.pending.values.map(\.continuation)
        }
        for c in waiting { c.resume(throwing: error) }
    }

    /// Fails one pending call (timeout, cancellation, write failure).
    private func fail(_ id: Int, _ error: any Error) {
        state.withLock { $0.pending.removeValue(forKey: id) }?.continuation.resume(throwing: error)
    }

    /// Routes one line: requests and notifications first (they have a `method`), then replies.
    private func dispatch(_ line: Data, _ handler: @Sendable (ACPInbound) async -> Void) async {
        guard let message = try? JSONDecoder().decode(JSONValue.self, from: line), case .object = message else {
            return await handler(.malformed("\(label) wrote a line that is not JSON: \(Self.preview(line))"))
        }
        let id = message["id"].flatMap { $0 == .null ? nil : $0 }
        if let method = message["method"]?.stringValue {
            let params = message["params"] ?? .null
            if let id { await handler(.request(id: id, method: method, params: params)) }
            else { await handler(.notification(method: method, params: params)) }
            return
        }
        guard let number = id?.intValue, message["result"] != nil || message["error"] != nil,
              let call = state.withLock({ $0.pending.removeValue(forKey: number) }) else {
            return await handler(.malformed("\(label) wrote a message that answers nothing we asked: \(Self.preview(line))"))
        }
        if let error = message["error"] {
            let code = error["code"]?.intValue.map(String.init) ?? "?"
            let text = error["message"]?.stringValue ?? "no message"
            let data = error["data"].map { " (\(Self.preview(Data($0.description.utf8))))" } ?? ""
            call.continuation.resume(throwing: QQError.agent("\(label) answered \(call.method) with error \(code): \(text)\(data)"))
        } else {
            call.continuation.resume(returning: message["result"] ?? .null)
        }
    }

    /// The error pending calls get once the agent's output ended: exit status and stderr tail.
    private func exitError() async -> QQError {
        let status = await process.waitForExit(timeout: .seconds(2))
        await process.waitForStderr(timeout: .milliseconds(500))
        var message = status.map { "\(label) exited with status \($0)" } ?? "\(label) closed its output"
        let tail = Self.tail(process.stderrText)
        if !tail.isEmpty { message += "; stderr: " + tail }
        return QQError.agent(message)
    }

    /// The last lines of `text`, at most ~1000 characters.
    static func tail(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(8)
        let joined = lines.joined(separator: " | ")
        return joined.count > 1000 ? "…" + String(joined.suffix(1000)) : joined
    }

    private static func preview(_ line: Data) -> String {
        let text = String(decoding: line.prefix(200), as: UTF8.self)
        return line.count > 200 ? text + "…" : text
    }

    /// One message as a line of compact JSON.
    static func encode(_ message: [String: JSONValue]) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var data = (try? encoder.encode(JSONValue.object(message))) ?? Data("{}".utf8)
        data.append(0x0A)
        return data
    }
}
