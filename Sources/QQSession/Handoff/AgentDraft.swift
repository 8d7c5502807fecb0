import Foundation

/// An answer the agent wrote in DRAFT mode, waiting for the operator. It belongs to the user message
/// it answers: sending it replies to that message (passive with its msg_id while its window lasts).
public struct AgentDraft: Sendable, Hashable, Codable, Identifiable {
    /// The turn that wrote it.
    public var id: UUID
    public var conversation: ConversationID
    /// The user message it answers (nil when the turn had none, e.g. a catch-up of bot events).
    public var replyTo: String?
    public var text: String

    public init(id: UUID, conversation: ConversationID, replyTo: String?, text: String) {
        self.id = id
        self.conversation = conversation
        self.replyTo = replyTo
        self.text = text
    }
}
