import Foundation
@testable import QQSession

/// A store in a fresh temporary folder.
struct TempStore {
    let directory: String
    var path: String { directory + "/qqtui.sqlite" }

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-store-\(UUID().uuidString)").path
    }

    func open(_ mode: MessageStore.Mode = .session, clock: SessionClock = .continuous) throws -> MessageStore {
        try MessageStore.open(path: path, mode: mode, clock: clock)
    }

    static func inbound(_ id: String, _ text: String, in c: ConversationID = .c2c("U1"), author: String = "U1",
                        at: Date = Date()) -> InboundMessage {
        InboundMessage(id: id, eventID: "E-\(id)", conversation: c, source: c.isGroup ? .groupAt : .c2c,
                       author: .init(openID: author), text: text, rawContent: text, timestamp: at, receivedAt: at,
                       attachments: [], messageType: 0, referencedMessageID: nil, seq: 1, replyWindowEnds: at + 300)
    }
}
