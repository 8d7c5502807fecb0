import Foundation
import QQSession
import QQSimulator
import Testing

@Suite("Gateway login and events", .timeLimit(.minutes(1)))
struct GatewayLoginTests {
    @Test("logs in, reaches READY and receives a C2C message")
    func loginAndReceive() async throws {
        try await SimHarness.run { h in
            #expect(await h.recorder.waitForReady())
            let status = h.session.status
            #expect(status.isReady)
            #expect(status.botID == h.simulator.configuration.botID)
            let sent = await h.platform.userSendsC2C(userOpenID: "U1", content: "你好 hello")
            #expect(await h.recorder.waitForMessages(1))
            let message = try #require(await h.recorder.messages.first)
            #expect(message.id == sent.id)
            #expect(message.eventID == sent.eventID)
            #expect(message.conversation == .c2c("U1"))
            #expect(message.text == "你好 hello")
            #expect(message.source == .c2c)
        }
    }
}
