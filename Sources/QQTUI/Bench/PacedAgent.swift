import Foundation
import QQSimulator
import QQSession

/// An agent that streams `deltas` pieces of text `interval` apart, each saying `"<i>:<ns> "` with the
/// wall-clock time it was yielded, so a benchmark can follow every delta to the screen and to QQ.
struct PacedAgent: AgentBackend {
    var deltas: Int
    var interval: Duration
    var name: String { "paced" }

    func startTurn(_ request: TurnRequest) async throws -> any AgentTurn {
        PacedTurn(deltas: deltas, interval: interval)
    }
}

final class PacedTurn: AgentTurn, @unchecked Sendable {
    let events: AsyncThrowingStream<AgentEvent, any Error>
    private let task: Task<Void, Never>

    init(deltas: Int, interval: Duration) {
        let (events, continuation) = AsyncThrowingStream.makeStream(of: AgentEvent.self, throwing: (any Error).self)
        self.events = events
        task = Task {
            let clock = ContinuousClock()
            let start = clock.now
            for i in 0..<deltas {
                // Due times from the start, so sleeping late does not drift the whole stream.
                try? await clock.sleep(until: start + interval * i)
                if Task.isCancelled { break }
                continuation.yield(.textDelta("\(i):\(SimPlatform.wallNanoseconds()) "))
            }
            continuation.yield(.finished(Task.isCancelled ? .cancelled : .endTurn))
            continuation.finish()
        }
    }

    func cancel() async {
        task.cancel()
        await task.value
    }

    func answer(_ requestID: String, optionID: String?) async {}
}

/// `"<i>:<ns> "` tokens in a streamed text, in order.
func pacedStamps(_ text: Substring) -> [(index: Int, ns: Int64)] {
    text.split(separator: " ").compactMap { token in
        let parts = token.split(separator: ":")
        guard parts.count == 2, let i = Int(parts[0]), let ns = Int64(parts[1]) else { return nil }
        return (i, ns)
    }
}

/// The index of the last `"<i>:<ns>"` token in `text`, or -1.
func lastPacedIndex(_ text: String) -> Int {
    guard let token = text.split(separator: " ").last, let colon = token.firstIndex(of: ":") else { return -1 }
    return Int(token[..<colon]) ?? -1
}
