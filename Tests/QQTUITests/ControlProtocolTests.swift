import Foundation
import FuzzSupport
@testable import QQSession
@testable import QQTUI
import Testing

/// The control protocol's lines on their own: every console effect survives the trip to serve, and
/// dates keep their order to the millisecond.
@Suite("Control protocol lines")
struct ControlProtocolTests {
    @Test("every effect a console sends to serve comes back from its line as the same effect; the console's own effects stay home")
    func effectsRoundTrip() throws {
        let id = ConversationID.group("G1")
        let draft = UUID()
        let effects: [Effect] = [
            .send("你好\n第二行 \"quoted\"", to: .c2c("U1")), .resend("再发", replyTo: "m1", to: id),
            .sendFileData(Data([0, 1, 2, 255]), filename: "a.png", kind: .image, to: id),
            .sendFileData(Data([9]), filename: "v.mp4", kind: .video, to: id), .recall(nil, id), .recall("out-1", id), .sendDraft(draft, "草稿", replyTo: nil, to: id),
            .discardDraft(draft, id), .setOwner(.draft, id), .answerPermission(requestID: "r1", optionID: nil, id),
            .loadPage(id, before: "m9"), .loadThrough(id, uid: "m3", before: nil), .markRead(id),
            .setAlias(openID: "U1", name: nil), .search("退款", in: nil), .reconnect,
        ]
        for effect in effects {
            let line = try #require(ConsoleCommands.line(for: effect), "\(effect) has no line")
            let data = ControlProtocol.line(line)
            #expect(data.last == 0x0A && !data.dropLast().contains(0x0A), "not one line: \(effect)")
            let back = try ControlProtocol.decoder.decode(ClientLine.self, from: data.dropLast())
            guard case .effect(let decoded) = ConsoleCommands.effect(from: back) else {
                Issue.record("\(effect) did not come back")
                continue
            }
            #expect(decoded == effect)
        }
        for local in [Effect.bell, .redraw, .quit, .notify(title: "t", body: "b"), .sendFile(path: "/x", kind: nil, to: id)] {
            #expect(ConsoleCommands.line(for: local) == nil, "\(local) would go to serve")
        }
    }

    @Test("dates: written by hand as ISO 8601 with milliseconds, read back to the same millisecond, in order (seeded)")
    func dates() throws {
        var random = SplitMix64(seed: 15)
        var previous: (Date, String)?
        for _ in 0..<5000 {
            let date = Date(timeIntervalSince1970: Double(random.next() % 4_000_000_000_000) / 1000)
            let text = ControlDates.format(date)
            let back = try #require(ControlDates.parse(text), "cannot read \(text)")
            #expect(abs(back.timeIntervalSince1970 - (date.timeIntervalSince1970 * 1000).rounded(.down) / 1000) < 0.0005, "\(text)")
            #expect(text.count == 24 && text.hasSuffix("Z"), "\(text)")
            if let (before, beforeText) = previous { #expect((before < date) == (beforeText < text) || before == date) }
            previous = (date, text)
        }
    }
}
