import Foundation
@testable import QQSession
@testable import QQTUI
import QQSimulator
import Testing
import TestSupport

/// `qqtui serve`'s control socket with real consoles' ends: the protocol, its refusals, several
/// operators, and a console that stops reading.
@Suite("serve's control socket")
struct ServeControlTests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    /// A serve against `sim`, READY, with its socket path.
    func serve(_ sim: QQSimulator, extra: String = "") async throws -> (ChildProcess, socket: String, dir: String) {
        let dir = TestConfig.tempDir("ctl")
        let path = try TestConfig.write(sim: sim, dir: dir, extra: extra)
        let serve = try ChildProcess(try binary(), ["serve", "--json", "--config", path])
        #expect(await serve.waitForOutput { $0.contains { $0.contains(#""ready""#) } }, "\(serve.stdout)\(serve.stderr)")
        return (serve, dir + "/run/store.sock", dir)
    }

    @Test("the socket is owner-only (0600 in a 0700 folder), a console of another protocol version is refused clearly, serve goes on", .timeLimit(.minutes(2)))
    func socketModeAndVersion() async throws {
        let sim = try await QQSimulator.start()
        let (serve, socket, _) = try await serve(sim)
        defer { serve.send(SIGKILL) }
        var info = stat()
        #expect(lstat(socket, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600, "socket mode \(String(info.st_mode & 0o777, radix: 8))")
        #expect(info.st_uid == getuid())
        var folder = stat()
        #expect(lstat((socket as NSString).deletingLastPathComponent, &folder) == 0)
        #expect(folder.st_mode & 0o777 == 0o700, "folder mode \(String(folder.st_mode & 0o777, radix: 8))")

        let old = try RawControlSocket(path: socket)
        old.write(#"{"t":"hello","protocol":99,"operator":"future"}"# + "\n")
        let (lines, closed) = old.readUntilClosed()
        #expect(closed, "serve kept a console of another version connected")
        let refusal = try #require(lines.first.flatMap { try? ControlProtocol.decoder.decode(ServerLine.self, from: Data($0.utf8)) })
        #expect(refusal.t == "refused")
        #expect(refusal.reason?.contains("protocol 1") == true && refusal.reason?.contains("99") == true, "\(refusal.reason ?? "")")

        // serve is unaffected: a console of the right version attaches and sees the next message.
        let console = try ControlTestClient(socket: socket, operatorName: "alice")
        defer { console.close() }
        #expect(console.welcome.t == "welcome")
        #expect(console.welcome.pid == serve.pid)
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "still here?")
        #expect(await console.waitFor { _ in console.messageTexts.contains("still here?") })
        #expect(await serve.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: socket), "serve left its socket behind")
        await sim.stop()
    }

    @Test("malformed lines: a clear error naming the line, that connection closed, the other consoles and the session unaffected", .timeLimit(.minutes(2)))
    func malformedLines() async throws {
        let sim = try await QQSimulator.start()
        let (serve, socket, _) = try await serve(sim)
        defer { serve.send(SIGKILL) }
        let good = try ControlTestClient(socket: socket, operatorName: "alice")
        defer { good.close() }
        #expect(await good.waitFor { $0.contains { $0.t == "snapshot" } })

        let cases: [(lines: String, expect: String)] = [
            ("this is not json\n", "the first line must be a hello"),
            (#"{"t":"hello","protocol":1,"operator":"bob"}"# + "\n" + "{not json\n", "line 2: not a command"),
            (#"{"t":"hello","protocol":1,"operator":"bob"}"# + "\n" + #"{"t":"send","conversation":"c2c:U1"}"# + "\n", "line 2: send: text is missing"),
            (#"{"t":"hello","protocol":1,"operator":"bob"}"# + "\n" + #"{"t":"fly","conversation":"c2c:U1"}"# + "\n", "unknown command"),
            (#"{"t":"hello","protocol":1,"operator":"bob"}"# + "\n" + #"{"t":"send","conversation":"nowhere","text":"x"}"# + "\n", "line 2: not a command"),
            (#"{"t":"hello","protocol":1,"operator":""}"# + "\n", "operator name"),
        ]
        for c in cases {
            let raw = try RawControlSocket(path: socket)
            raw.write(c.lines)
            let (lines, closed) = raw.readUntilClosed()
            #expect(closed, "serve kept the connection after: \(c.lines)")
            let last = lines.last.flatMap { try? ControlProtocol.decoder.decode(ServerLine.self, from: Data($0.utf8)) }
            #expect(last?.t == "error" || last?.t == "refused", "\(lines.suffix(1))")
            #expect(last?.reason?.contains(c.expect) == true, "expected “\(c.expect)”, got: \(last?.reason ?? "nothing")")
        }
        // Nothing reached QQ, and the session and the good console go on.
        #expect(await sim.platform.sent().isEmpty)
        _ = await sim.platform.userSendsC2C(userOpenID: "U2", content: "after the noise")
        #expect(await good.waitFor { _ in good.messageTexts.contains("after the noise") })
        #expect(good.endedReason == nil)
        #expect(await serve.stop() == 0)
        await sim.stop()
    }

    @Test("two operators: A's reply goes out as a passive reply and reaches B with A's name; B's take-back is recorded as B's; a draft is sent once", .timeLimit(.minutes(2)))
    func twoOperators() async throws {
        let sim = try await QQSimulator.start()
        let (serve, socket, dir) = try await serve(sim, extra: "[handoff]\ndefault_owner = \"draft\"\n[agent]\nbackend = \"echo\"\n")
        defer { serve.send(SIGKILL) }
        let a = try ControlTestClient(socket: socket, operatorName: "alice")
        let b = try ControlTestClient(socket: socket, operatorName: "bob")
        defer { a.close(); b.close() }
        // B sees both consoles: in its snapshot, or in the presence line that followed it.
        #expect(await b.waitFor { lines in
            lines.last { $0.t == "presence" || $0.t == "snapshot" }.map { ($0.consoles ?? $0.snapshot?.consoles)?.count == 2 } ?? false
        })

        let msgID = await sim.platform.userSendsC2C(userOpenID: "U1", content: "退款怎么办").id
        // The agent drafts (DRAFT mode): both consoles get the draft.
        func draftID(_ c: ControlTestClient) -> UUID? {
            c.lines.lazy.compactMap { line -> UUID? in
                if case .agent(let activity)? = line.event, case .finished(.completed, let text) = activity.kind, !text.isEmpty { return activity.turnID }
                return nil
            }.first
        }
        #expect(await a.waitFor { _ in draftID(a) != nil })
        #expect(await b.waitFor { _ in draftID(b) != nil })
        let draft = try #require(draftID(a))
        a.send(.sendDraft(draft, "您好，退款请走这里", replyTo: msgID, to: .c2c("U1")))
        #expect(await b.waitFor { $0.contains { $0.t == "draft_taken" && $0.draft == draft && $0.by == "alice" } })
        // B's Enter on the same draft (its copy was still on screen): refused, nothing sent twice.
        b.send(.sendDraft(draft, "您好，退款请走这里", replyTo: msgID, to: .c2c("U1")))
        #expect(await b.waitFor { $0.contains { $0.t == "status_note" && $0.message?.contains("alice already answered") == true } })
        #expect(await b.waitFor { lines in
            lines.contains { line in
                if case .outbound(let m)? = line.event { return m.operatorName == "alice" && m.status == .sent && m.text == "您好，退款请走这里" }
                return false
            }
        })
        let sent = await sim.platform.sent().filter { $0.path == "/v2/users/U1/messages" }
        #expect(sent.count == 1, "\(sent.count) messages reached the user")
        #expect(sent.first?.body?["msg_id"]?.string == msgID, "not a passive reply to the user's message")

        b.send(.setOwner(.human, .c2c("U1")))
        #expect(await a.waitFor { lines in
            lines.contains { line in
                if case .ownership(let change)? = line.event { return change.actor == "bob" && change.owner == "human" }
                return false
            }
        })
        #expect(await serve.stop() == 0)
        let store = try MessageStore.open(path: dir + "/store.sqlite", mode: .readOnly)
        let reply = try #require(await store.messages(in: .c2c("U1")).first { $0.direction == "out" })
        #expect(reply.operatorName == "alice")
        #expect(try await store.ownershipLog(.c2c("U1")).last?.actor == "bob")
        await sim.stop()
    }

    @Test("a burst of lines from a console reaches the user in the order typed: texts and an image, passive first, each once", .timeLimit(.minutes(2)))
    func burstOrder() async throws {
        let sim = try await QQSimulator.start()
        let (serve, socket, _) = try await serve(sim)
        defer { serve.send(SIGKILL) }
        let watcher = try ControlTestClient(socket: socket, operatorName: "watcher")
        defer { watcher.close() }
        #expect(await watcher.waitFor { $0.contains { $0.t == "snapshot" } })
        let asked = await sim.platform.userSendsC2C(userOpenID: "U1", content: "在吗").id
        #expect(await watcher.waitFor { _ in watcher.messageTexts.contains("在吗") })
        // One write: serve reads the lines in a row and starts every send at once.
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]).base64EncodedString()
        var lines = [#"{"t":"hello","protocol":1,"operator":"bob"}"#]
        var expected: [String] = []
        for i in 1...24 {
            if i == 12 {
                lines.append(#"{"t":"image","conversation":"c2c:U1","data":"\#(png)","filename":"a.png","kind":"image"}"#)
                expected.append("[image]")
            }
            lines.append(#"{"t":"send","conversation":"c2c:U1","text":"第\#(i)句"}"#)
            expected.append("第\(i)句")
        }
        let raw = try RawControlSocket(path: socket)
        raw.write(lines.joined(separator: "\n") + "\n")
        func received() async -> [SentRecord] {
            await sim.platform.sent().filter { $0.path == "/v2/users/U1/messages" && $0.status == 200 }
        }
        let arrived = await eventually(timeout: .seconds(30)) { await received().count >= expected.count }
        let sent = await received()
        #expect(arrived, "\(sent.count) of \(expected.count)")
        #expect(sent.map { $0.body?["msg_type"]?.int == 7 ? "[image]" : $0.body?["content"]?.string ?? "?" } == expected)
        // The user's message had four passive replies: the first four lines answer it, the rest go proactively.
        #expect(sent.map { $0.body?["msg_id"]?.string } == Array(repeating: asked, count: 4) + Array(repeating: nil, count: expected.count - 4))
        #expect(await serve.stop() == 0)
        await sim.stop()
    }

    @Test("a console that stops reading is dropped to a snapshot: its queue stays bounded, the other console and the store get every message", CPUGate.backstop)
    func slowConsumer() async throws {
        try await CPUGate.run(limit: .seconds(120)) { try await slowConsumerAlone() }
    }

    func slowConsumerAlone() async throws {
        let sim = try await QQSimulator.start()
        // 4,000 events are about 3 MB of lines: more than the sleeping console's 1 MiB, kernel buffers included.
        let (serve, socket, dir) = try await serve(sim, extra: "[serve]\nconsole_queue_kb = 1024\n")
        defer { serve.send(SIGKILL) }
        let slow = try ControlTestClient(socket: socket, operatorName: "asleep", start: false)
        let awake = try ControlTestClient(socket: socket, operatorName: "awake")
        defer { slow.close(); awake.close() }
        #expect(await awake.waitFor { $0.contains { $0.t == "snapshot" } })
        let count = 4000
        _ = await sim.platform.burst(SimBurst(count: count, users: 50, tag: "slow"))
        #expect(await awake.waitFor(timeout: .seconds(60)) { _ in awake.messageTexts.count >= count }, "\(awake.messageTexts.count) of \(count)")
        let texts = awake.messageTexts
        #expect(Set(texts).count == count, "the reading console lost or repeated messages")

        // What serve holds for the sleeping console stays under its limit; it fell behind at least once.
        let status = try #require(try await Self.status(socket))
        let asleep = try #require(status.consoles.first { $0.operatorName == "asleep" })
        #expect(asleep.queuedBytes <= 1 << 20, "\(asleep.queuedBytes) bytes queued")
        #expect(asleep.resyncs >= 1)
        // It wakes up: after what was already on its way, a fresh snapshot with every conversation.
        slow.startReading()
        #expect(await slow.waitFor { lines in lines.contains { $0.t == "snapshot" && ($0.snapshot?.conversations.count ?? 0) >= 50 } })
        #expect(slow.messageTexts.count < count, "it was sent the whole backlog")
        #expect(await serve.stop() == 0)
        let store = try MessageStore.open(path: dir + "/store.sqlite", mode: .readOnly)
        let stored = try await store.conversations(limit: 100).reduce(0) { $0 + $1.messageCount }
        #expect(stored == count)
        await sim.stop()
    }

    @Test("qqtui status and qqtui attach with nothing serving: exit 3 / exit 1 with a clear message", .timeLimit(.minutes(2)))
    func nothingServing() async throws {
        let dir = TestConfig.tempDir("ctl-none")
        let path = try TestConfig.write(sim: nil, dir: dir)
        let status = try ChildProcess(try binary(), ["status", "--config", path])
        #expect(await status.waitForExit() == 3)
        #expect(status.stderr.contains("no serve is running"), "\(status.stderr)")
        let json = try ChildProcess(try binary(), ["status", "--json", "--config", path])
        #expect(await json.waitForExit() == 3)
        #expect(json.stdout.contains(#""running":false"#), "\(json.stdout)")
        let attach = try ChildProcess(try binary(), ["attach", "--config", path, "--operator", "alice"])
        #expect(await attach.waitForExit() == 1)
        #expect(attach.stderr.contains("cannot attach to serve") && attach.stderr.contains("nothing is serving there"), "\(attach.stderr)")
    }

    /// `qqtui status --json`, decoded.
    static func status(_ socket: String) async throws -> ServeStatus? {
        let (link, line) = try AttachTarget.socket(socket).open(operatorName: "status", role: "status")
        link.close()
        return line.status
    }
}
