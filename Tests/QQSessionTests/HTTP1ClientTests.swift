import Foundation
import NIOHTTP1
import NIOSSL
@testable import QQSession
import Synchronization
import Testing
import TestSupport

/// The API's HTTP client against a real server on loopback: what it sends, kept connections, and
/// every way a server can end an exchange early.
@Suite("HTTP/1.1 client of the API", .timeLimit(.minutes(1)))
struct HTTP1ClientTests {
    /// A client and a server answering with `script`, both stopped after `body`.
    func withServer(tls: NIOSSLContext? = nil, client: HTTP1Client = HTTP1Client(),
                    script: @escaping @Sendable (SeenRequest) -> ScriptedReply,
                    _ body: (HTTP1Client, ScriptedHTTPServer, HTTPTransport) async throws -> Void) async throws {
        let server = try await ScriptedHTTPServer(tls: tls, script: script)
        var transport = HTTPTransport()
        transport.apiClient = client
        do { try await body(client, server, transport) } catch { await client.shutdown(); await server.stop(); throw error }
        await client.shutdown()
        await server.stop()
    }

    static let ok: @Sendable (SeenRequest) -> ScriptedReply = { request in
        .answer(status: 200, headers: [("Content-Type", "application/json"), ("X-Tps-Trace-Id", "trace-\(request.uri)")],
                body: #"{"id":"m1","path":"\#(request.uri)","got":\#(request.body.isEmpty ? "null" : request.body)}"#)
    }

    func post(_ transport: HTTPTransport, _ url: String, _ body: String = #"{"content":"你好"}"#, maxBytes: Int = 1 << 20) async throws -> HTTPResult {
        try await transport.perform(method: .POST, url: url, headers: [("Authorization", "QQBot t"), ("Content-Type", "application/json")],
                                    body: Data(body.utf8), timeout: .seconds(10), maxBytes: maxBytes, context: "test",
                                    followRedirects: false)
    }

    @Test("what goes out and comes back: method, target, Host, headers, body; the answer's status, type, trace id and body")
    func roundTrip() async throws {
        try await withServer(script: Self.ok) { _, server, transport async throws in
            let base = "http://127.0.0.1:\(server.port)"
            let result = try await post(transport, base + "/v2/users/U1/messages?x=1")
            #expect(result.status == 200)
            #expect(result.contentType == "application/json")
            #expect(result.traceID == "trace-/v2/users/U1/messages?x=1")
            #expect(String(decoding: result.body, as: UTF8.self) == #"{"id":"m1","path":"/v2/users/U1/messages?x=1","got":{"content":"你好"}}"#)
            let seen = try #require(server.requests.first)
            #expect(seen.method == "POST" && seen.uri == "/v2/users/U1/messages?x=1")
            #expect(seen.headers["host"] == "127.0.0.1:\(server.port)")
            #expect(seen.headers["authorization"] == "QQBot t")
            #expect(seen.headers["content-length"] == String(#"{"content":"你好"}"#.utf8.count))
            // A GET has no body and no length; a PUT without a body says 0.
            _ = try await transport.perform(method: .GET, url: base + "/gateway", timeout: .seconds(10), context: "test", followRedirects: false)
            _ = try await transport.perform(method: .PUT, url: base + "/interactions/1", timeout: .seconds(10), context: "test", followRedirects: false)
            let later = server.requests.dropFirst()
            #expect(later.map(\.method) == ["GET", "PUT"])
            #expect(later.first?.headers["content-length"] == nil)
            #expect(later.last?.headers["content-length"] == "0")
        }
    }

    @Test("connections are kept: 30 requests in a row take one; 8 at once take at most 8, and the next 8 reuse them")
    func keepAlive() async throws {
        try await withServer(script: Self.ok) { client, server, transport async throws in
            let url = "http://127.0.0.1:\(server.port)/v2/groups/G1/messages"
            for i in 0..<30 { _ = try await post(transport, url, #"{"n":\#(i)}"#) }
            #expect(server.connections == 1)
            #expect(client.keptConnections(to: url) == 1)
            for _ in 0..<2 {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<8 { group.addTask { try await post(transport, url, #"{"n":\#(i)}"#).status } }
                    for try await status in group { #expect(status == 200) }
                }
            }
            #expect(server.connections <= 8)
            #expect(server.requests.count == 46)
            #expect(Set(server.requests.map(\.body)).count == 30, "a request's body went to another")
        }
    }

    @Test("at most 32 connections at once: 40 requests while the server holds its answers take 32, the other 8 wait and reuse them")
    func connectionLimit() async throws {
        try await withServer(script: { request in .held(body: #"{"n":\#(request.body)}"#) }) { client, server, transport async throws in
            let url = "http://127.0.0.1:\(server.port)/v2/groups/G1/messages"
            try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<40 { group.addTask { String(decoding: try await post(transport, url, "\(i)").body, as: UTF8.self) } }
                #expect(await eventually { server.requests.count == 32 })
                #expect(server.connections == 32)
                server.openGate()
                var answers: [String] = []
                for try await answer in group { answers.append(answer) }
                #expect(Set(answers) == Set((0..<40).map { #"{"n":\#($0)}"# }), "an answer went to another request")
            }
            #expect(server.connections == 32, "a request beyond the limit opened a connection")
            #expect(client.keptConnections(to: url) == 32)
        }
    }

    @Test("a request waiting for a connection times out on the session's clock, and its turn is not lost")
    func waitingTimesOut() async throws {
        let time = ManualClock()
        try await withServer(script: { _ in .held(body: "{}") }) { _, server, held async throws in
            var timed = held
            timed.clock = .manual(time)
            let transport = timed
            let url = "http://127.0.0.1:\(server.port)/v2/groups/G1/messages"
            func post(_ timeout: Duration) async throws -> Int {
                try await transport.perform(method: .POST, url: url, body: Data("{}".utf8), timeout: timeout, context: "test",
                                            followRedirects: false).status
            }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<32 { group.addTask { try await post(.seconds(3600)) } }
                #expect(await eventually { server.requests.count == 32 })
                // The 33rd waits for a connection, then gives up after its 5 s.
                let late = Task { try await post(.seconds(5)) }
                #expect(await time.waitForSleepers(33))
                time.advance(by: .seconds(6))
                await #expect { _ = try await late.value } throws: { ($0 as? QQError)?.kind == .timeout }
                server.openGate()
                for try await status in group { #expect(status == 200) }
            }
            #expect(try await post(.seconds(3600)) == 200)
            #expect(server.connections == 32)
            #expect(server.requests.count == 33, "the request that timed out while waiting was sent")
        }
    }

    @Test("an answer that closes (Connection: close), and a kept connection the server closed: the next request goes on a new one")
    func closedConnections() async throws {
        let closing = Mutex(true)
        try await withServer(script: { request in
            let close = closing.withLock { $0 }
            return .answer(status: 200, body: #"{"n":\#(request.body)}"#, close: close)
        }) { client, server, transport async throws in
            let url = "http://127.0.0.1:\(server.port)/v2/users/U1/messages"
            #expect(try await post(transport, url, "1").status == 200)
            #expect(client.keptConnections(to: url) == 0, "a connection the answer closed was kept")
            #expect(try await post(transport, url, "2").status == 200)
            #expect(server.connections == 2)
            closing.withLock { $0 = false }
            #expect(try await post(transport, url, "3").status == 200)
            #expect(client.keptConnections(to: url) == 1)
            // The server closes its side of the kept connection.
            await server.closeConnections()
            #expect(await eventually { client.keptConnections(to: url) == 0 })
            #expect(String(decoding: try await post(transport, url, "4").body, as: UTF8.self) == #"{"n":4}"#)
            #expect(server.connections == 4)
            #expect(server.requests.map(\.body) == ["1", "2", "3", "4"], "a request was sent twice")
        }
    }

    @Test("a server that hangs up without answering: a clear transport error, the request sent once, the next one answered")
    func hangUp() async throws {
        let first = Atomic<Bool>(true)
        try await withServer(script: { _ in first.exchange(false, ordering: .relaxed) ? .hangUp : .answer(status: 200, body: "{}") }) { _, server, transport async throws in
            let url = "http://127.0.0.1:\(server.port)/v2/users/U1/messages"
            await #expect { _ = try await post(transport, url) } throws: { error in
                let qq = error as? QQError
                return qq?.kind == .transport && qq?.message.contains("closed the connection without answering") == true
            }
            #expect(server.requests.count == 1)
            #expect(try await post(transport, url).status == 200)
        }
    }

    @Test("nothing listening: the error names the address and says the connection was refused")
    func refused() async throws {
        // A port bound and never listened on: refused while the test holds it (no other server can take it).
        let hole = try BlackHoleServer(listening: false)
        defer { hole.close() }
        let client = HTTP1Client()
        var transport = HTTPTransport()
        transport.apiClient = client
        await #expect { _ = try await post(transport, "http://127.0.0.1:\(hole.port)/v2/users/U1/messages") } throws: { error in
            let qq = error as? QQError
            return qq?.kind == .transport && qq?.message == "cannot connect to 127.0.0.1:\(hole.port): connection refused"
        }
        await client.shutdown()
    }

    @Test("answers over the limit: a declared length and a chunked body are .download errors; a chunked body within it is read whole")
    func limits() async throws {
        let big = #"{"text":""# + String(repeating: "长", count: 3000) + #""}"#
        try await withServer(script: { request in
            .answer(status: 200, body: big, chunked: request.uri == "/chunked")
        }) { _, server, transport async throws in
            let base = "http://127.0.0.1:\(server.port)"
            for path in ["/declared", "/chunked"] {
                await #expect { _ = try await post(transport, base + path, maxBytes: 4096) } throws: { error in
                    let qq = error as? QQError
                    return qq?.kind == .download && qq?.message.contains("4096-byte limit") == true && qq?.httpStatus == 200
                }
            }
            let whole = try await post(transport, base + "/chunked", maxBytes: 1 << 20)
            #expect(String(decoding: whole.body, as: UTF8.self) == big)
            #expect(whole.contentLength == nil)
        }
    }

    @Test("a redirect is the answer, never followed (it would carry the token elsewhere)")
    func redirect() async throws {
        try await withServer(script: { _ in .answer(status: 302, headers: [("Location", "http://127.0.0.1:1/steal")], body: "") }) { _, server, transport async throws in
            let result = try await post(transport, "http://127.0.0.1:\(server.port)/v2/users/U1/messages")
            #expect(result.status == 302)
            #expect(server.requests.count == 1)
        }
    }

    @Test("https: a server with a trusted certificate answers on a kept connection; the system's trust refuses a self-signed one")
    func tls() async throws {
        let cert = try await TestCertificate.make(name: "localhost", dnsNames: ["localhost"])
        let chain = try NIOSSLCertificate.fromPEMFile(cert.certificate)
        let server = try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(try NIOSSLPrivateKey(file: cert.key, format: .pem))))
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates(chain)
        try await withServer(tls: server, client: HTTP1Client(tls: trusting), script: Self.ok) { client, scripted, transport async throws in
            let url = "https://localhost:\(scripted.port)/v2/users/U1/messages"
            for _ in 0..<3 { #expect(try await post(transport, url).status == 200) }
            #expect(scripted.connections == 1)
            #expect(scripted.requests.first?.headers["host"] == "localhost:\(scripted.port)")
            #expect(client.keptConnections(to: url) == 1)
        }
        try await withServer(tls: server, script: Self.ok) { _, scripted, transport async throws in
            await #expect { _ = try await post(transport, "https://localhost:\(scripted.port)/v2/users/U1/messages") } throws: { error in
                let qq = error as? QQError
                return qq?.kind == .transport && qq?.message.lowercased().contains("certificate") == true
                    && qq?.message.contains("QQBot") == false
            }
            #expect(scripted.requests.isEmpty)
        }
    }

    @Test("URLs: origin and target; anything but an absolute http(s) URL is refused")
    func origins() {
        func split(_ url: String) -> String? {
            HTTPOrigin.split(url).map { "\($0.origin.secure ? "s" : "-") \($0.origin.host) \($0.origin.port) \($0.target) \($0.origin.hostHeader)" }
        }
        #expect(split("https://api.sgroup.qq.com/v2/users/U1/messages") == "s api.sgroup.qq.com 443 /v2/users/U1/messages api.sgroup.qq.com")
        #expect(split("HTTPS://Bots.QQ.com") == "s bots.qq.com 443 / bots.qq.com")
        #expect(split("http://127.0.0.1:8080?a=1") == "- 127.0.0.1 8080 /?a=1 127.0.0.1:8080")
        #expect(split("http://[::1]:9000/x") == "- ::1 9000 /x [::1]:9000")
        #expect(split("https://h:443/") == "s h 443 / h")
        for bad in ["ftp://h/x", "//h/x", "http://", "http://:80/", "http://h:0/", "http://h:65536/", "http://h:x/", "http://u:p@h/",
                    "http://h/a#b", "http://h/a b", "http://h/a\tb", "http://h/a\u{7F}", "http://h/é", "http://é/",
                    "http://h/%", "http://h/%4g", "http://h/a{b}", "http://h/[x]", "http://h::80/", "http://a:b:80/", "http://[::1/x", "http://[::1]x/", "/v2/users"] {
            #expect(split(bad) == nil, "accepted \(bad)")
        }
        #expect(HTTPOrigin(secure: true, host: "127.0.0.1", port: 1).hostIsAddress)
        #expect(HTTPOrigin(secure: true, host: "::1", port: 1).hostIsAddress)
        #expect(!HTTPOrigin(secure: true, host: "api.sgroup.qq.com", port: 1).hostIsAddress)
    }
}
