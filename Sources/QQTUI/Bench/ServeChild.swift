import Foundation
import QQSession
import QQSimulator
import Synchronization

/// `qqtui serve --json` (this same executable) in a child process against a ``SimChild``, with a
/// scratch config and store: the scripting path as an operator runs it, measured from outside. It
/// counts, from the JSON lines it prints, the burst messages received and the agent replies QQ took.
final class ServeChild: @unchecked Sendable {
    // Invariant: the counters are only touched under `lock`, by the reader thread and the readers below.
    /// What the lines said so far.
    struct Tally: Sendable {
        var ready = false
        var received = 0
        var lastReceivedNs: Int64 = 0
        var repliesSent = 0
        var repliesFailed = 0
        var duplicateReplies = 0
        var lastReplyNs: Int64 = 0
        var lines = 0
        var ended = false
    }

    let directory: String
    let storePath: String
    private let child: LineChild
    private let tally: TallyBox

    /// The counts, shared with the reader thread.
    private final class TallyBox: Sendable {
        let state = Mutex(Tally())
        func withLock<T>(_ body: (inout Tally) -> T) -> T { state.withLock { body(&$0) } }
    }

    private init(directory: String, child: LineChild, tally: TallyBox) {
        self.directory = directory
        self.storePath = directory + "/store.sqlite"
        self.child = child
        self.tally = tally
    }

    /// Starts serve against `sim` (the echo agent owning every conversation when `echoAgent`, each
    /// answer one passive message as qq-botpy's handler sends: `[stream] enabled = false`), and
    /// waits for READY (15 s at most).
    static func start(sim: SimChild, tag: String, echoAgent: Bool) async throws -> ServeChild {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-bench-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let agent = echoAgent ? "[agent]\nbackend = \"echo\"\n[handoff]\ndefault_owner = \"agent\"\n[stream]\nenabled = false\n" : ""
        let config = """
            [bot]
            app_id = "\(sim.appID)"
            app_secret_env = "QQTUI_BENCH_SECRET"
            token_url = "\(sim.baseURL)/app/getAppAccessToken"
            api_base = "\(sim.baseURL)"
            \(agent)
            [store]
            path = "\(directory)/store.sqlite"
            [log]
            file = "\(directory)/qqtui.log"
            level = "warning"

            """
        let configPath = directory + "/config.toml"
        guard FileManager.default.createFile(atPath: configPath, contents: Data(config.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw BenchError("cannot write \(configPath)")
        }
        let tally = TallyBox()
        let received = "\"id\":\"BURST.\(tag)."
        let replyTo = "\"replyTo\":\"BURST.\(tag)."
        var environment = ProcessInfo.processInfo.environment
        environment["QQTUI_BENCH_SECRET"] = sim.appSecret
        environment["XDG_STATE_HOME"] = directory
        let repliedTo = Mutex(Set<String>())
        let child = try LineChild(executable: SimChild.ownExecutable(), arguments: ["serve", "--json", "--config", configPath],
                                  environment: environment, stderrPath: directory + "/serve.err") { line in
            guard let line else { tally.withLock { $0.ended = true }; return }
            let now = SimPlatform.wallNanoseconds()
            if line.hasSuffix("\"type\":\"message\"}"), line.contains(received) {
                tally.withLock { $0.received += 1; $0.lastReceivedNs = now; $0.lines += 1 }
            } else if echoAgent, line.hasSuffix("\"type\":\"outbound\"}"), line.contains(replyTo),
                      let outcome = Self.finalReply(line) {
                let first = outcome.sent ? repliedTo.withLock { $0.insert(outcome.replyTo).inserted } : true
                tally.withLock {
                    if !outcome.sent { $0.repliesFailed += 1 } else if first { $0.repliesSent += 1; $0.lastReplyNs = now } else { $0.duplicateReplies += 1 }
                    $0.lines += 1
                }
            } else if line.hasSuffix("\"type\":\"gateway\"}"), line.contains("\"phase\":{\"ready\"") {
                tally.withLock { $0.ready = true; $0.lines += 1 }
            } else {
                tally.withLock { $0.lines += 1 }
            }
        }
        let serve = ServeChild(directory: directory, child: child, tally: tally)
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline, !tally.withLock({ $0.ready || $0.ended }) { try await Task.sleep(for: .milliseconds(10)) }
        guard tally.withLock({ $0.ready }) else {
            await serve.stop()
            let err = (try? String(contentsOfFile: directory + "/serve.err", encoding: .utf8)) ?? ""
            throw BenchError("qqtui serve did not reach READY in 15 s: \(err.split(separator: "\n").last.map(String.init) ?? "no output")")
        }
        return serve
    }

    /// A final agent reply's outcome (sent or not, and the message it answers); nil while sending.
    private static func finalReply(_ line: String) -> (sent: Bool, replyTo: String)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let outbound = object["outbound"] as? [String: Any], outbound["kind"] as? String == "reply",
              let replyTo = outbound["replyTo"] as? String, let status = outbound["status"] as? [String: Any],
              status["sending"] == nil else { return nil }
        return (status["sent"] != nil, replyTo)
    }

    /// The counts so far.
    var now: Tally { tally.withLock { $0 } }

    /// Waits until `done` holds for the counts (or the output ended, or `timeout`); the last counts.
    func wait(timeout: Duration, until done: (Tally) -> Bool) async -> Tally {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let t = now
            if done(t) || t.ended { return t }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return now
    }

    /// Peak RSS of serve so far (while it runs), in MB.
    var peakMB: Double? { child.peakMB }

    /// CPU seconds serve has used so far.
    var cpuSeconds: Double? { child.cpuSeconds }

    /// Stops serve with SIGTERM (it flushes the store and exits); its exit status.
    @discardableResult
    func stop() async -> Int32 { await child.stop(signal: SIGTERM, grace: .seconds(30)) }

    /// How many burst messages the store holds once serve has stopped.
    func storedMessages() async throws -> Int {
        let store = try MessageStore.open(path: storePath)
        defer { Task { _ = await store.close() } }
        return try await store.counts().messages
    }

    /// Removes the scratch folder.
    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
