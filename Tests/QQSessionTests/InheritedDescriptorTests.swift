import Foundation
@testable import QQSession
import Testing
import TestSupport

/// A child gets its standard input, output and error, and none of the process's other descriptors.
@Suite("Descriptors a child inherits", .timeLimit(.minutes(1)))
struct InheritedDescriptorTests {
    @Test("an agent started while the API connection and a file are open holds only 0, 1 and 2")
    func agentHoldsOnlyStdio() async throws {
        // A kept API connection and an open file, as a running session has.
        let server = try await ScriptedHTTPServer { _ in .answer(status: 200, body: "{}") }
        let client = HTTP1Client()
        var transport = HTTPTransport()
        transport.apiClient = client
        _ = try await transport.perform(method: .GET, url: "http://127.0.0.1:\(server.port)/gateway", timeout: .seconds(10),
                                        context: "test", followRedirects: false)
        #expect(client.keptConnections(to: "http://127.0.0.1:\(server.port)/") == 1)
        let file = try #require(FileHandle(forReadingAtPath: "/etc/hostname") ?? FileHandle(forReadingAtPath: "/etc/passwd"))
        defer { try? file.close() }
        let own = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap(Int.init).filter { $0 > 2 }
        #expect(own.count >= 3, "this process holds \(own)")

        // The shell lists its own descriptors ($$ is the shell, not ls).
        let agent = try AgentProcess(argv: ["/bin/sh", "-c", "ls /proc/$$/fd"], environment: ProcessInfo.processInfo.environment, directory: nil)
        var output = Data()
        for await chunk in agent.stdout { output.append(chunk) }
        #expect(await agent.waitForExit() == 0)
        let held = String(decoding: output, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { Int($0) }.sorted()
        #expect(held == [0, 1, 2], "the agent holds \(held)")
        await client.shutdown()
        await server.stop()
    }
}
