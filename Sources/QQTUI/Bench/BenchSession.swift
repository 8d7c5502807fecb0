import Foundation
import Logging
import QQSession

/// A session against a ``SimChild`` with a real store in a scratch folder, for one benchmark.
struct BenchSession {
    let session: Session
    let store: MessageStore
    let directory: URL

    /// Opens a store in a new scratch folder and connects a session (READY within 15 s, or an error).
    static func start(_ sim: SimChild, agent: (any AgentBackend)? = nil,
                      configure: (inout SessionConfiguration) -> Void = { _ in }) async throws -> BenchSession {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let store = try MessageStore.open(path: directory.appendingPathComponent("bench.sqlite").path)
        var config = SessionConfiguration.simulator(baseURL: sim.baseURL, appID: sim.appID, appSecret: sim.appSecret)
        configure(&config)
        let session = Session(configuration: config, store: store, agent: agent,
                              logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        await session.start()
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if case .ready = session.status.phase { return BenchSession(session: session, store: store, directory: directory) }
            try await Task.sleep(for: .milliseconds(10))
        }
        await session.shutdown()
        _ = await store.close()
        try? FileManager.default.removeItem(at: directory)
        throw BenchError("the session did not reach READY in 15 s (\(session.status.lastError ?? "no error"))")
    }

    /// Runs `body` with a started session and always stops it afterwards.
    static func with<T>(_ sim: SimChild, agent: (any AgentBackend)? = nil, configure: (inout SessionConfiguration) -> Void = { _ in },
                        _ body: (BenchSession) async throws -> T) async throws -> T {
        let bench = try await start(sim, agent: agent, configure: configure)
        do {
            let value = try await body(bench)
            await bench.stop()
            return value
        } catch {
            await bench.stop()
            throw error
        }
    }

    /// Shuts the session down, closes the store and removes the scratch folder.
    func stop() async {
        await session.shutdown()
        _ = await store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Size of the store's files (db + wal), in MB.
    var storeMB: Double {
        let base = directory.appendingPathComponent("bench.sqlite").path
        let bytes = ["", "-wal"].compactMap { try? FileManager.default.attributesOfItem(atPath: base + $0)[.size] as? Int }.reduce(0, +)
        return Double(bytes) / 1_048_576
    }
}

/// Runs `body` with a simulator child and always stops it.
func withSimChild<T>(_ body: (SimChild) async throws -> T) async throws -> T {
    let sim = try await SimChild.start()
    do {
        let value = try await body(sim)
        await sim.stop()
        return value
    } catch {
        await sim.stop()
        throw error
    }
}

/// Sender time stamped by the simulator in a burst message (`"<tag> <i> <ns>"`): its index and nanoseconds.
func burstStamp(_ text: String) -> (index: Int, ns: Int64)? {
    let parts = text.split(separator: " ")
    guard parts.count >= 3, let i = Int(parts[parts.count - 2]), let ns = Int64(parts[parts.count - 1]) else { return nil }
    return (i, ns)
}
