import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import QQSession
import QQSimulator

/// `qqtui sim` in a child process on an ephemeral loopback port, so a benchmark's client pays for real
/// sockets and the simulator's work is not counted in the client's CPU or memory.
final class SimChild: @unchecked Sendable {
    let baseURL: String
    let appID: String
    /// The simulator's default test secret (the child runs with it).
    let appSecret: String
    private let process: SpawnedProcess
    private static let client = HTTPClient(eventLoopGroupProvider: .singleton)

    /// Starts `qqtui sim --port 0 --json` (this same executable) and waits for its URLs (10 s at most).
    static func start(extraArguments: [String] = []) async throws -> SimChild {
        let out = try SpawnedProcess.pipe()
        let process: SpawnedProcess
        do {
            process = try SpawnedProcess([Self.ownExecutable(), "sim", "--port", "0", "--json", "--heartbeat-ms", "41250",
                                          "--exit-with-parent"] + extraArguments, stdout: out.write)
        } catch {
            close(out.read)
            close(out.write)
            throw error
        }
        close(out.write)
        let line = await Self.firstLine(FileHandle(fileDescriptor: out.read, closeOnDealloc: true), timeout: .seconds(10))
        guard let data = line?.data(using: .utf8),
              let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let base = info["base_url"] as? String, let appID = info["app_id"] as? String else {
            await process.stop(signal: SIGKILL)
            throw BenchError("the simulator did not start (no URLs on its first line)")
        }
        return SimChild(baseURL: base, appID: appID, appSecret: SimulatorConfiguration().appSecret, process: process)
    }

    private init(baseURL: String, appID: String, appSecret: String, process: SpawnedProcess) {
        self.baseURL = baseURL
        self.appID = appID
        self.appSecret = appSecret
        self.process = process
    }

    /// Stops the child by its pid (SIGTERM, then SIGKILL after 3 s).
    func stop() async {
        await process.stop(signal: SIGTERM, grace: .seconds(3))
    }

    /// POSTs a JSON object to the control API and returns the decoded answer.
    func post(_ path: String, _ body: [String: Any], timeout: Duration = .seconds(600)) async throws -> Any {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
        return try await send(request, timeout: timeout)
    }

    /// GETs a control API path.
    func get(_ path: String, timeout: Duration = .seconds(60)) async throws -> Any {
        try await send(HTTPClientRequest(url: baseURL + path), timeout: timeout)
    }

    private func send(_ request: HTTPClientRequest, timeout: Duration) async throws -> Any {
        let response = try await Self.client.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
        let body = try await response.body.collect(upTo: 512 << 20)
        guard response.status == .ok else {
            throw BenchError("simulator \(request.url): HTTP \(response.status.code) \(String(buffer: body))")
        }
        return try JSONSerialization.jsonObject(with: Data(buffer: body))
    }

    static func ownExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Reads until the first newline or `timeout`, on a thread of its own (the read blocks).
    private static func firstLine(_ handle: FileHandle, timeout: Duration) async -> String? {
        await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            let once = OnceFlag()
            Thread.detachNewThread {
                var bytes = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    bytes.append(chunk)
                    if bytes.contains(UInt8(ascii: "\n")) { break }
                }
                let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init)
                if once.claim() { continuation.resume(returning: line) }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + Double(timeout.components.seconds)) {
                if once.claim() { continuation.resume(returning: nil) }
            }
        }
    }
}

/// True for the first caller only.
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = false
    func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if claimed { return false }
        claimed = true
        return true
    }
}

/// A benchmark that could not run, with the reason.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
