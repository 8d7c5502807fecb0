import Foundation
import QQSimulator
import QQSession

/// `qqtui bench render`: the real console on a pseudo-terminal with many conversations and one huge
/// one (all ingested through the gateway into the store): frame build time while the operator pages
/// back through history, then while an agent reply streams in; bytes written per streamed delta.
enum RenderBench {
    static let deltas = 500

    static func run(conversations: Int, messages: Int, rows: Int = 35, cols: Int = 120) async throws -> BenchResult {
        try await withSimChild { sim in
            try await BenchSession.with(sim) { bench in
                var result = BenchResult(name: "render", setup: "\(conversations) conversations, one with \(messages) messages (ingested through the gateway); console \(cols)×\(rows) on a pty")
                try await fill(bench, sim: sim, conversations: conversations, messages: messages)
                let summaries = try await bench.store.conversations(limit: conversations + 10)
                let big = ConversationID.c2c("U0")
                let inbox = UIInbox()
                let runner = EffectRunner(session: bench.session, store: bench.store, inbox: inbox, notifier: nil, onQuit: {})
                guard let probe = ConsoleProbe(rows: rows, cols: cols, inbox: inbox, makeState: { ConsoleState() },
                                               perform: { runner.perform($0) },
                                               inspect: { state in
                                                   guard state.current?.id == big else { return -2 }
                                                   return state.current?.entries.last.map { lastPacedIndex($0.text) } ?? -1
                                               }) else { throw BenchError("no pseudo-terminal available") }
                defer { Task { await probe.stop() } }
                probe.inbox.post(.conversationsLoaded(summaries, aliases: [:]))
                guard await probe.waitForValue(-1) else { throw BenchError("the console did not open the big conversation") }
                // Paging back: 40 PgUp, each possibly loading an older page from the store.
                let before = probe.recorded.count
                for _ in 0..<40 {
                    probe.inbox.post(.key(.pageUp))
                    try await Task.sleep(for: .milliseconds(40))
                }
                for _ in 0..<60 {   // and back down to the newest (PgDn; End belongs to the composer)
                    probe.inbox.post(.key(.pageDown))
                    try await Task.sleep(for: .milliseconds(10))
                }
                try await Task.sleep(for: .milliseconds(100))
                let paging = Array(probe.recorded[before...])
                // An agent reply streaming in, 20 ms a delta.
                let turn = UUID()
                let streamStart = probe.recorded.count
                probe.inbox.post(.session(.agent(AgentActivity(conversation: big, turnID: turn,
                    kind: .started(mode: .agent, backend: "paced", outboundID: "bench-reply", messages: 1)))))
                let bytesBefore = probe.bytesWritten
                for i in 0..<deltas {
                    probe.inbox.post(.session(.agent(AgentActivity(conversation: big, turnID: turn,
                                                                   kind: .event(.textDelta("\(i):\(SimPlatform.wallNanoseconds()) "))))))
                    try await Task.sleep(for: .milliseconds(20))
                }
                guard await probe.waitForValue(deltas - 1) else { throw BenchError("the stream did not reach the screen") }
                let bytes = probe.bytesWritten - bytesBefore
                let streaming = Array(probe.recorded[streamStart...])
                let pagingBuild = builds(paging), streamingBuild = builds(streaming)
                result.add("frame build p50 (paging)", pagingBuild.p50, "ms")
                result.add("frame build p99 (paging)", pagingBuild.p99, "ms", target: .atMost(2))
                result.add("frame build max (paging)", pagingBuild.max, "ms")
                result.add("frame build p50 (streaming)", streamingBuild.p50, "ms")
                result.add("frame build p99 (streaming)", streamingBuild.p99, "ms", target: .atMost(2))
                result.add("curses write p50 (streaming)", LatencySample(streaming.map { $0.present.seconds * 1000 }).summary.p50, "ms")
                result.add("bytes to terminal per delta", Double(bytes) / Double(deltas), "B")
                result.add("frames", Double(paging.count + streaming.count), "")
                result.add("peak RSS", ProcessMemory.peakMB(), "MB")
                result.notes.append("frame build = ConsoleView.render (layout, wrapping, list) into a cell buffer; the curses write is measured apart.")
                return result
            }
        }
    }

    private static func builds(_ frames: [ConsoleProbe.Frame]) -> LatencySample.Summary {
        LatencySample(frames.map { $0.build.seconds * 1000 }).summary
    }

    /// `conversations` users write once each, then U0 writes `messages` more (the big conversation, newest).
    static func fill(_ bench: BenchSession, sim: SimChild, conversations: Int, messages: Int) async throws {
        let collector = Task { await IngestBench.collect(bench.session.events, expecting: conversations + messages, keepLatencies: false) }
        _ = try await sim.post("/sim/burst", ["count": conversations, "users": conversations, "kind": "c2c", "tag": "many"])
        _ = try await sim.post("/sim/burst", ["count": messages, "users": 1, "kind": "c2c", "tag": "big"])
        guard await withTimeout(seconds: 600, { await collector.value }) != nil else {
            collector.cancel()
            throw BenchError("ingesting the messages took over 600 s")
        }
        try await bench.store.flush()
    }
}
