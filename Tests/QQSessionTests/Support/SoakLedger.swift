import Foundation
@testable import QQSession
import QQSimulator
import Synchronization

/// A soak's own bookkeeping: what the simulated users sent, what the session showed (counted on the
/// emitting task, through the session's tap), and how the operator's sends ended.
final class SoakLedger: Sendable {
    struct State {
        /// Messages the platform delivered to at least one gateway session.
        var dispatched: Set<String> = []
        /// Messages sent while no gateway session existed (nobody to deliver them to).
        var undeliverable: Set<String> = []
        var c2c = 0, group = 0
        /// How often each message was emitted as a `.message` event.
        var shown: [String: Int] = [:]
        var turnsStarted = 0, turnsFinished = 0
        var operatorStarted = 0
        var operatorResults: [OutboundMessage] = []
        /// The last state of every outbound message, as emitted (with its error's kind and HTTP status).
        var outbound: [String: OutboundMessage] = [:]
    }

    let state = Mutex(State())

    /// Records what the platform did with a user's message.
    func sent(_ result: SimDispatchResult, group: Bool) {
        state.withLock { s in
            if result.delivered > 0 { s.dispatched.insert(result.id) } else { s.undeliverable.insert(result.id) }
            if group { s.group += 1 } else { s.c2c += 1 }
        }
    }

    /// Watches the session's events as they are emitted; messages to answer by hand go to `asks`.
    func watch(_ session: Session, asks: AsyncStream<InboundMessage>.Continuation, marker: String) {
        session.tap.observe { [self] event in
            switch event {
            case .message(let m):
                state.withLock { $0.shown[m.id, default: 0] += 1 }
                if m.text.hasSuffix(marker) { asks.yield(m) }
            case .outbound(let m):
                state.withLock { $0.outbound[m.id] = m }
            case .agent(let a):
                switch a.kind {
                case .started: state.withLock { $0.turnsStarted += 1 }
                case .finished: state.withLock { $0.turnsFinished += 1 }
                default: break
                }
            default: break
            }
        }
    }

    /// The operator answers each message of `asks` by hand, concurrently (the session keeps each
    /// conversation in order); returns when `asks` ends and every send has ended.
    func answer(_ asks: AsyncStream<InboundMessage>, with session: Session) async {
        await withTaskGroup(of: Void.self) { group in
            for await m in asks {
                state.withLock { $0.operatorStarted += 1 }
                group.addTask { [self] in
                    let out = await session.send("收到：\(m.text.prefix(24))", to: m.conversation, replyingTo: m.id)
                    state.withLock { $0.operatorResults.append(out) }
                }
            }
        }
    }

    var snapshot: State { state.withLock { $0 } }

    /// True when every message in `ids` was shown at least once.
    func hasShown(_ ids: Set<String>) -> Bool {
        state.withLock { s in ids.allSatisfy { s.shown[$0] != nil } }
    }
}
