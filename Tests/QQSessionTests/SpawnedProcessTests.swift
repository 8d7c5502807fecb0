import Foundation
@testable import QQSession
import Testing
import TestSupport

/// Children started with posix_spawn (Foundation's `Process.run()` crashed the suite now and then):
/// what they get, what they do not inherit, their exit codes, and a stop that escalates.
@Suite("Spawned processes", .timeLimit(.minutes(1)))
struct SpawnedProcessTests {
    /// Runs `argv` with stdout on a pipe; its output and exit code.
    func run(_ argv: [String], environment: [String: String]? = nil, directory: String? = nil) async throws -> (String, Int32) {
        let out = try SpawnedProcess.pipe()
        let child = try SpawnedProcess(argv, environment: environment, directory: directory, stdout: out.write)
        close(out.write)
        let text = String(decoding: FileHandle(fileDescriptor: out.read, closeOnDealloc: true).readDataToEndOfFile(), as: UTF8.self)
        return (text, await child.wait())
    }

    @Test("output, exit code, environment and directory as given; stdin is /dev/null; a missing program is a clear error")
    func basics() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spawn-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (text, code) = try await run(["/bin/sh", "-c", "echo \"$GREETING\"; pwd; cat; exit 7"],
                                         environment: ["GREETING": "你好", "PATH": "/usr/bin:/bin"], directory: dir)
        #expect(text == "你好\n\(dir)\n")
        #expect(code == 7)
        #expect(try await run(["sh", "-c", "kill -KILL $$"]).1 == 128 + SIGKILL, "a signal: 128 + its number, found in PATH")
        #expect(throws: SpawnedProcess.SpawnError.self) { try SpawnedProcess(["/nonexistent/program"]) }
        #expect(throws: SpawnedProcess.SpawnError.self) { try SpawnedProcess([]) }
    }

    @Test("no descriptor of the parent but 0, 1 and 2 reaches the child")
    func descriptors() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("spawn-fd-\(UUID().uuidString)").path
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)   // not close-on-exec, as NIO's sockets are not
        #expect(fd > 2)
        defer { close(fd); unlink(path) }
        let (text, code) = try await run(["/bin/sh", "-c", "ls /proc/$$/fd"])
        #expect(code == 0)
        #expect(!text.split(separator: "\n").contains(Substring(String(fd))), "the child holds \(fd): \(text)")
    }

    @Test("stop: SIGTERM, then SIGKILL after the grace for a child that ignores it; signals after the end do nothing")
    func stop() async throws {
        let out = try SpawnedProcess.pipe()
        let child = try SpawnedProcess(["/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"], stdout: out.write)
        close(out.write)
        let handle = FileHandle(fileDescriptor: out.read, closeOnDealloc: true)
        #expect(String(decoding: handle.availableData, as: UTF8.self) == "ready\n", "the trap is set")
        #expect(child.isRunning)
        #expect(await child.stop(signal: SIGTERM, grace: .milliseconds(200)) == 128 + SIGKILL)
        #expect(!child.isRunning && child.exitCode == 128 + SIGKILL)
        child.signal(SIGKILL)   // reaped: nothing is sent, nothing waits
        #expect(await child.wait() == 128 + SIGKILL)
    }

    @Test("200 children started from 8 tasks at once: each ends with its own code")
    func concurrent() async throws {
        let codes = try await withThrowingTaskGroup(of: [Int32].self) { group in
            for t in 0..<8 {
                group.addTask {
                    var codes: [Int32] = []
                    for i in 0..<25 {
                        let child = try SpawnedProcess(["/bin/sh", "-c", "exit \((t * 25 + i) % 200)"])
                        codes.append(await child.wait())
                    }
                    return codes
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(codes.sorted() == (0..<200).map(Int32.init))
    }
}
