import Foundation
@testable import QQSession
@testable import QQTUI
import Testing

/// Builds console states from session events, the way the running console gets them.
struct ConsoleFixture {
    var state = ConsoleState()
    /// Today at 10:01 (messages show `10:01`).
    static let morning: Date = Calendar.current.date(bySettingHour: 10, minute: 1, second: 0, of: Date()) ?? Date()

    init(rows: Int = 20, cols: Int = 80, agent: String? = "demo") {
        _ = TextWidth.ensureUTF8Locale()
        state.rows = rows
        state.cols = cols
        state.agentName = agent
        var g = GatewayStatus(phase: .ready(sessionID: "S1"))
        g.lastSeq = 1234
        g.heartbeatRTTMs = 38
        g.botName = "MyBot"
        state.gateway = g
    }

    static func inbound(_ conversation: ConversationID, from author: String, _ text: String, id: String,
                        at: Date = morning, attachments: [QQSession.Attachment] = []) -> InboundMessage {
        InboundMessage(id: id, eventID: nil, conversation: conversation, source: conversation.isGroup ? .groupAt : .c2c,
                       author: .init(openID: author), text: text, rawContent: text, timestamp: at, receivedAt: at,
                       attachments: attachments, messageType: 0, referencedMessageID: nil, seq: nil,
                       replyWindowEnds: at.addingTimeInterval(300))
    }

    @discardableResult
    mutating func apply(_ event: SessionEvent) -> [Effect] { state.apply(.session(event), now: Self.morning) }

    @discardableResult
    mutating func key(_ key: Key) -> [Effect] { state.apply(.key(key), now: Self.morning) }

    @discardableResult
    mutating func receive(_ conversation: ConversationID, from author: String, _ text: String, id: String,
                          attachments: [QQSession.Attachment] = []) -> [Effect] {
        apply(.message(Self.inbound(conversation, from: author, text, id: id, attachments: attachments)))
    }

    mutating func agent(_ conversation: ConversationID, turn: UUID, _ kind: AgentActivity.Kind, replyTo: String? = nil) {
        apply(.agent(AgentActivity(conversation: conversation, turnID: turn, kind: kind, at: Self.morning, replyTo: replyTo)))
    }

    /// A DRAFT turn from start to finish: the agent drafts `text` answering the message `replyTo`.
    mutating func draft(_ conversation: ConversationID, _ text: String, replyTo: String, turn: UUID = UUID()) {
        agent(conversation, turn: turn, .started(mode: .draft, backend: "demo", outboundID: nil, messages: 1), replyTo: replyTo)
        agent(conversation, turn: turn, .event(.textDelta(text)))
        agent(conversation, turn: turn, .finished(.completed(cut: false), text: text))
    }

    func render(routes: [ConversationID: ReplyRoute] = [:]) -> ScreenBuffer {
        ConsoleView.render(state, now: Self.morning) { routes[$0] }
    }
}

/// Compares a screen with `Tests/QQTUITests/Snapshots/<name>.txt`; `QQTUI_RECORD_SNAPSHOTS=1` rewrites it.
func assertSnapshot(_ screen: ScreenBuffer, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let path = BuildPaths.packageRoot.appendingPathComponent("Tests/QQTUITests/Snapshots/\(name).txt").path
    let text = screen.snapshot + "\n"
    if ProcessInfo.processInfo.environment["QQTUI_RECORD_SNAPSHOTS"] == "1" {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return
    }
    guard FileManager.default.fileExists(atPath: path) else {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        Issue.record("no snapshot \(name).txt yet: recorded it now; check it and commit it", sourceLocation: sourceLocation)
        return
    }
    let expected = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text == expected, "screen differs from \(name).txt (QQTUI_RECORD_SNAPSHOTS=1 records it):\n\(text)",
            sourceLocation: sourceLocation)
}
