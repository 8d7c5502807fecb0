import Foundation
import FuzzSupport
@testable import QQSession
import Testing

/// Seeded random gateway frames, valid and mangled, through the frame decoder and the gateway state
/// machine: nothing traps, a frame is refused only when its envelope is broken, and every field of a
/// valid frame comes out as it went in. (`QQTUI_FUZZ_SEED`, `QQTUI_FUZZ_ITERATIONS`: see FuzzRun.)
@Suite("Fuzz: gateway frames", Fuzz.backstop)
struct FuzzGatewayFrameTests {
    typealias Machine = GatewayStateMachine<ContinuousClock.Instant>

    @Test("a valid message frame round-trips every field, whatever the strings hold")
    func roundTrip() async {
        let report = await Fuzz.run("frame-round-trip", iterations: 400) { c in
            let model = MessageFrameModel.random(&c.rng)
            let text = model.json.text
            c.input = text
            guard let frame = try? GatewayFrame.decode(text) else { return c.check(false, "a valid frame was refused") }
            c.check(frame.op == 0 && frame.s == model.s && frame.t == model.t && Self.same(frame.id, model.eventID), "envelope changed")
            guard case .message(let p) = frame.payload else {
                // The one legal refusal of a valid frame: a group_openid the model wrote with a wrong type never happens,
                // so anything but .message is a decoder bug.
                return c.check(false, "payload is \(frame.payload), not a message")
            }
            Self.compare(p, model, &c)
        }
        #expect(report.passed, "\(report)")
    }

    @Test("mangled frames: decoded or refused, never a trap; refused only when the envelope is not an object with an integer op")
    func mangled() async {
        let report = await Fuzz.run("frame-mangled", iterations: 1500) { c in
            let bytes = Self.mangledFrame(&c.rng)
            c.input = String(decoding: bytes.prefix(2000), as: UTF8.self)
            // As a binary frame the bytes go in raw: anything but a trap will do (a string with invalid
            // UTF-8 fails alone, lazily). As a text frame they arrive as valid UTF-8: the oracle applies.
            _ = try? GatewayFrame.decode(Data(bytes))
            let data = Data(String(decoding: bytes, as: UTF8.self).utf8)
            let frame = try? GatewayFrame.decode(data)
            // The oracle reads the whole text strictly; the decoder reads strings lazily, so it may
            // accept text with a broken string nobody reads (its payload is then undecodable).
            if let envelope = try? JSONDecoder().decode(JSONValue.self, from: data) {
                switch envelope["op"] {
                case .number(let n) where abs(n) >= 9e15:
                    break   // past a Double's integers: the oracle cannot tell
                case .number(let n) where n == n.rounded():
                    c.check(frame?.op == Int(n), "an object with op \(n) was refused or misread (\(String(describing: frame?.op)))")
                default:
                    c.check(frame == nil, "decoded a frame without an integer op: \(String(describing: frame))")
                }
            }
            guard let frame else { return }
            Self.checkPayloadKind(frame, &c)
        }
        #expect(report.passed, "\(report)")
    }

    @Test("deep nesting anywhere in a frame is refused or kept, never a stack overflow")
    func deepNesting() async {
        let report = await Fuzz.run("frame-nesting", iterations: 40, cap: 400) { c in
            let levels = c.rng.pick([10, 100, 511, 512, 513, 1000, 5000, 100_000])
            let inner = JSONText.nested(levels, objects: c.rng.chance(0.5))
            let text = c.rng.pick([
                #"{"op":0,"s":1,"t":"C2C_MESSAGE_CREATE","id":"E","d":{"id":"M","content":"x","author":{"user_openid":"U"},"extra":\#(inner)}}"#,
                #"{"op":0,"t":"SOMETHING_NEW","d":\#(inner)}"#,
                #"{"op":10,"d":{"heartbeat_interval":\#(inner)}}"#,
                inner,
            ])
            c.input = "\(levels) levels: " + text.prefix(120)
            if let frame = try? GatewayFrame.decode(text) { Self.checkPayloadKind(frame, &c) }
        }
        #expect(report.passed, "\(report)")
    }

    @Test("the state machine takes any decoded frame and any clock jump: the session id only comes from READY, the last seq only from a positive s, the timer never spins")
    func stateMachine() async {
        let report = await Fuzz.run("gateway-state-machine", iterations: 300) { c in
            var m = Machine(intents: 1 << 25, shard: Shard(index: 0, count: 1), helloTimeout: .seconds(15), readyTimeout: .seconds(15))
            var now = ContinuousClock.now
            m.connectionOpened(plan: .identify, now: now)
            var readyIDs: Set<String> = []
            for _ in 0..<c.rng.small(1...40) {
                let bytes = c.rng.chance(0.3) ? Self.mangledFrame(&c.rng) : Array(Self.protocolFrame(&c.rng).utf8)
                c.input += String(decoding: bytes.prefix(300), as: UTF8.self) + "\n"
                if let frame = try? GatewayFrame.decode(Data(bytes)) {
                    let before = m.lastSeq
                    let actions = m.receive(frame, now: now)
                    if case .ready(let r) = frame.payload { readyIDs.insert(r.sessionID) }
                    if let s = frame.s, s > 0, frame.op == 0 { c.check(m.lastSeq == s, "s \(s) not recorded") }
                    // Hello before an Identify starts a new session: the last seq may only be forgotten.
                    else { c.check(m.lastSeq == before || m.lastSeq == nil, "lastSeq moved without a positive s") }
                    if actions.contains(where: { if case .end = $0 { true } else { false } }) {
                        _ = m.connectionEnded(.serverClosed(code: c.rng.pick([nil, 4009, 4004, 1000])))
                        m.connectionOpened(plan: .resume, now: now)
                    }
                }
                now = now.advanced(by: .milliseconds(c.rng.small(0...200_000)))
                if m.tick(now: now).contains(where: { if case .end = $0 { true } else { false } }) {
                    _ = m.connectionEnded(.zombie)
                    m.connectionOpened(plan: .resume, now: now)
                } else {
                    // A wakeup not in the future would make the driver's timer spin.
                    c.check(m.nextWakeup.map { $0 > now } ?? true, "after a tick the next wakeup is not in the future")
                }
                if let id = m.sessionID { c.check(readyIDs.contains(id) && !id.isEmpty, "session id \(id) not from a READY") }
            }
        }
        #expect(report.passed, "\(report)")
    }

    // MARK: - Generators

    /// A frame from one of several families, then maybe mangled: byte edits, a field of the wrong
    /// type, invalid UTF-8, plain random bytes.
    static func mangledFrame<R: RandomNumberGenerator>(_ rng: inout R) -> [UInt8] {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return Hostile.bytes(&rng, maxLength: 300)
        case 1, 2: return Array(wrongTypes(&rng).utf8)
        case 3: return Array(protocolFrame(&rng).utf8)
        default: return Hostile.mutate(Array(protocolFrame(&rng).utf8), &rng)
        }
    }

    /// A plausible frame of any opcode (messages, READY, Hello, op 9, ACKs, robot and friend events, unknown types).
    static func protocolFrame<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        switch Int.random(in: 0..<8, using: &rng) {
        case 0, 1: return MessageFrameModel.random(&rng).json.text
        case 2:
            let id = rng.chance(0.8) ? "S-" + Hostile.string(&rng, maxLength: 10) : ""
            return #"{"op":0,"s":\#(rng.small(0...100)),"t":"READY","d":{"version":1,"session_id":\#(quoted(id)),"user":{"id":"B","username":"bot","bot":true},"shard":[0,1]}}"#
        case 3: return #"{"op":10,"d":{"heartbeat_interval":\#(rng.pick(["1", "0", "-5", "41250", "9223372036854775807", "1e300", "\"x\""]))}}"#
        case 4: return #"{"op":\#(rng.pick([1, 7, 9, 11, 2, 6, 42])),"d":\#(JSONText.random(&rng, depth: 1).text)}"#
        case 5:
            let t = rng.pick(Array(GatewayFrameTypes.groupRobot.union(GatewayFrameTypes.friend)))
            return #"{"op":0,"s":\#(rng.small(0...100)),"t":"\#(t)","id":\#(quoted(Hostile.string(&rng))),"d":{"group_openid":\#(quoted(Hostile.string(&rng))),"openid":\#(quoted(Hostile.string(&rng))),"op_member_openid":"M","timestamp":\#(JSONText.random(&rng, depth: 1).text)}}"#
        case 6: return #"{"op":0,"s":\#(rng.small(0...100)),"t":\#(quoted(rng.pick(Array(GatewayFrameTypes.all)))),"d":\#(JSONText.random(&rng).text)}"#
        default: return #"{"op":\#(rng.pick(Hostile.numbers)),"s":\#(rng.pick(Hostile.numbers)),"t":"RESUMED"}"#
        }
    }

    /// A message frame with one field (anywhere, envelope included) replaced by a value of another type.
    static func wrongTypes<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        func replace(_ value: JSONText, _ rng: inout R, depth: Int) -> JSONText {
            guard depth < 4, case .object(var members) = value, !members.isEmpty else { return JSONText.random(&rng, depth: 2) }
            let i = Int.random(in: 0..<members.count, using: &rng)
            members[i].1 = rng.chance(0.4) ? JSONText.random(&rng, depth: 2) : replace(members[i].1, &rng, depth: depth + 1)
            return .object(members)
        }
        return replace(MessageFrameModel.random(&rng).json, &rng, depth: 0).text
    }

    static func quoted(_ s: String) -> String { JSONText.string(s).text }

    // MARK: - Oracles

    /// The payload kind the op and t call for; an undecodable payload always says why.
    static func checkPayloadKind(_ frame: GatewayFrame, _ c: inout FuzzCase) {
        switch (frame.op, frame.payload) {
        case (10, .hello), (9, .invalidSession): break
        case (10, _), (9, _): c.check(false, "op \(frame.op) decoded as \(frame.payload)")
        case (0, .undecodable(let reason, _)): c.check(!reason.isEmpty, "undecodable without a reason")
        case (0, .message): c.check(GatewayFrameTypes.messages.contains(frame.t ?? ""), "\(frame.t ?? "nil") decoded as a message")
        case (0, .ready): c.check(frame.t == "READY", "\(frame.t ?? "nil") decoded as READY")
        case (0, .raw), (0, .none), (0, .groupRobot), (0, .friend): break
        case (0, _): c.check(false, "dispatch decoded as \(frame.payload)")
        case (_, .none): break
        default: c.check(false, "op \(frame.op) decoded as \(frame.payload)")
        }
    }

    static func same(_ a: String?, _ b: String?) -> Bool {
        a.map { Array($0.unicodeScalars) } == b.map { Array($0.unicodeScalars) }
    }

    static func compare(_ p: MessagePayload, _ m: MessageFrameModel, _ c: inout FuzzCase) {
        c.check(same(p.id, m.id), "id")
        c.check(same(p.content, m.content ?? ""), "content")
        c.check(same(p.timestamp, m.timestamp), "timestamp")
        c.check(same(p.author.id, m.authorID) && same(p.author.userOpenID, m.userOpenID) && same(p.author.memberOpenID, m.memberOpenID)
                    && same(p.author.username, m.username) && p.author.bot == m.bot && same(p.author.memberRole, m.role), "author")
        c.check(same(p.groupOpenID, m.groupOpenID) && same(p.groupID, m.groupID), "group ids")
        c.check(p.messageType == m.messageType, "message_type")
        c.check(same(p.referencedMessageID, m.referencedID), "message_reference")
        c.check(p.attachments.count == m.attachments.count, "attachment count")
        for (a, b) in zip(p.attachments, m.attachments) {
            c.check(same(a.contentType, b.contentType) && same(a.filename, b.filename) && same(a.url, b.url), "attachment strings")
            c.check(a.size == b.size && a.width == b.width && a.height == b.height, "attachment numbers \(a) vs \(b)")
        }
        c.check(p.mentions.count == m.mentions.count, "mention count")
        for (a, b) in zip(p.mentions, m.mentions) {
            c.check(same(a.id, b.id) && same(a.memberOpenID, b.memberOpenID) && a.isYou == b.isYou, "mention")
        }
    }
}
