import Foundation
import FuzzSupport
import Logging
@testable import QQSession
import Synchronization
import Testing

/// Seeded random dispatches through the inbound pipeline (decode → de-duplicate → strip → events):
/// nothing is dropped silently, nothing is delivered twice, no empty message reaches the operator.
@Suite("Fuzz: inbound events", Fuzz.backstop)
struct FuzzInboundEventTests {
    @Test("every dispatch becomes at least one event; a message id is delivered once; no empty message; C2C text is the content trimmed")
    func events() async {
        var configuration = SessionConfiguration(appID: "102000001", appSecret: Secret("fuzz-inbound-secret"))
        configuration.attachments.download = false
        let downloader = AttachmentDownloader(policy: configuration.attachments, transport: HTTPTransport(), logger: Logger(label: "fuzz"))
        let report = await Fuzz.run("inbound-events", iterations: 150) { c in
            let emitted = Mutex<[SessionEvent]>([])
            let processor = InboundProcessor(configuration: configuration, downloader: downloader,
                                             ledger: LedgerBox(window: configuration.replyWindow),
                                             emit: { event in emitted.withLock { $0.append(event) } })
            var ids: [String] = []
            var delivered: Set<String> = []
            for _ in 0..<c.rng.small(1...12) {
                let text: String
                if !ids.isEmpty, c.rng.chance(0.25) {
                    // A message id seen before: a redelivery.
                    var model = MessageFrameModel.random(&c.rng)
                    model.id = c.rng.pick(ids)
                    text = model.json.text
                } else {
                    let bytes = c.rng.chance(0.3) ? FuzzGatewayFrameTests.mangledFrame(&c.rng)
                        : Array(FuzzGatewayFrameTests.protocolFrame(&c.rng).utf8)
                    text = String(decoding: bytes, as: UTF8.self)
                }
                c.input += String(text.prefix(400)) + "\n"
                guard let frame = try? GatewayFrame.decode(text), frame.op == 0, !["READY", "RESUMED"].contains(frame.t) else { continue }
                if case .message(let p) = frame.payload { ids.append(p.id) }
                let before = emitted.withLock { $0.count }
                await processor.handle([.dispatch(frame)])
                let new = emitted.withLock { Array($0[before...]) }
                c.check(!new.isEmpty, "dispatch \(frame.t ?? "nil") produced no event")
                for case .message(let m) in new {
                    c.check(delivered.insert(m.id).inserted, "message \(m.id) delivered twice")
                    c.check(!m.text.isEmpty || !m.attachments.isEmpty, "an empty message was delivered")
                    guard case .message(let p) = frame.payload else { continue }
                    c.check(Array(m.rawContent.unicodeScalars) == Array(p.content.unicodeScalars), "raw content changed")
                    if m.source == .c2c {
                        c.check(m.text == p.content.trimmingCharacters(in: .whitespacesAndNewlines), "C2C text is not the content trimmed")
                    }
                }
            }
        }
        #expect(report.passed, "\(report)")
    }
}
