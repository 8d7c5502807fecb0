import Foundation

/// A turn that plays a fixed list of text chunks with pauses; cancel stops it at once.
final class ScriptedTurn: AgentTurn, Sendable {
    let events: AsyncThrowingStream<AgentEvent, any Error>
    private let task: Task<Void, Never>

    init(chunks: [(text: String, pause: Duration)]) {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: AgentEvent.self)
        events = stream
        task = Task {
            for chunk in chunks {
                if chunk.pause > .zero { try? await Task.sleep(for: chunk.pause) }
                if Task.isCancelled { break }
                continuation.yield(chunk.text == "\u{0C}" ? .segmentBreak : .textDelta(chunk.text))
            }
            continuation.yield(.finished(Task.isCancelled ? .cancelled : .endTurn))
            continuation.finish()
        }
        continuation.onTermination = { [task] _ in task.cancel() }
    }

    func cancel() async {
        task.cancel()
        await task.value
    }

    func answer(_ requestID: String, optionID: String?) async {}
}

/// Replies with the user's own text at once (tests, benchmarks).
public struct EchoAgent: AgentBackend {
    public var name: String { "echo" }
    /// An echo agent.
    public init() {}
    public func startTurn(_ request: TurnRequest) async throws -> any AgentTurn {
        let text = request.newMessages.last { $0.role == .user }?.text ?? ""
        return ScriptedTurn(chunks: [(text, .zero)])
    }
}

/// Streams a plausible answer in chunks with human-like pacing, in Chinese or English after the
/// user's language (the demo, and tests that need a reply that takes a while).
public struct DemoAgent: AgentBackend {
    public var name: String { "demo" }
    /// Pause between chunks (scaled by a little jitter).
    public var pace: Duration
    /// A demo agent; `pace` is the mean pause between chunks.
    public init(pace: Duration = .milliseconds(120)) { self.pace = pace }

    public func startTurn(_ request: TurnRequest) async throws -> any AgentTurn {
        let question = request.newMessages.last { $0.role == .user }?.text ?? ""
        let answer = Self.answer(to: question)
        let chunks = Self.chunks(answer).enumerated().map { i, c in
            (c, i == 0 ? pace * 3 : pace * Double.random(in: 0.5...1.5))
        }
        return ScriptedTurn(chunks: chunks)
    }

    /// A canned answer that fits the question.
    static func answer(to question: String) -> String {
        let chinese = question.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }
        let q = question.trimmingCharacters(in: .whitespacesAndNewlines)
        let topic = q.count > 24 ? String(q.prefix(24)) + "…" : q
        if chinese {
            return "您好！关于「\(topic)」，我来帮您看一下。\n一般来说，可以先确认三件事：\n1. 问题是从什么时候开始的；\n2. 是否每次都会出现；\n3. 有没有相关的截图或报错信息。\n您把这些告诉我，我就能给出更具体的建议。"
        }
        return "Hi! About \"\(topic)\" — happy to help.\nUsually it is worth checking three things first:\n1. when it started;\n2. whether it happens every time;\n3. any screenshot or error message.\nSend me those and I can give you a precise answer."
    }

    /// Splits text into chunks of a few characters (whole words in English).
    static func chunks(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text {
            current.append(ch)
            let cjk = ch.unicodeScalars.first.map { $0.value >= 0x2E80 } ?? false
            if (cjk && current.count >= 3) || ch == " " || ch == "\n" || current.count >= 12 {
                out.append(current)
                current = ""
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
