import Foundation

/// What an agent is doing in a conversation, for the operator's screen and `serve`'s log.
public struct AgentActivity: Sendable, Hashable, Codable {
    /// How a turn ended.
    public enum Outcome: Sendable, Hashable, Codable {
        /// The agent finished; `cut` when the model hit its length limit.
        case completed(cut: Bool)
        /// Taken back by the operator (or interrupted by a newer message, or qqtui stopping).
        case cancelled(reason: String)
        /// The agent failed, broke its protocol or timed out; the conversation stays usable.
        case failed(reason: String)
        /// The agent refused to answer.
        case refused
    }

    /// What happened.
    public enum Kind: Sendable, Hashable, Codable {
        /// A turn started: `mode` agent (streams to QQ) or draft (to the operator only); `outboundID`
        /// names the reply message when it goes to QQ.
        case started(mode: Owner, backend: String, outboundID: String?, messages: Int)
        /// What the agent sent, as it sent it: answer text (shown live; in AGENT mode it also goes to
        /// QQ), segment breaks, thoughts, tool calls, permission requests, usage, notes. Never `.finished`.
        case event(AgentEvent)
        /// A message arrived during a turn and waits for the next one.
        case queued(messageID: String, waiting: Int)
        /// The turn ended. For a draft, `text` is the draft now waiting for the operator.
        case finished(Outcome, text: String)
    }

    public var conversation: ConversationID
    /// The turn (events of one turn share it).
    public var turnID: UUID
    public var kind: Kind
    public var at: Date
    /// The user message the turn answers (set on `.started`): a draft sent later replies to it.
    public var replyTo: String?
    /// With member sessions in a group: the member the turn answers (set on `.started`).
    public var member: String? = nil

    /// An activity record.
    public init(conversation: ConversationID, turnID: UUID, kind: Kind, at: Date = Date(), replyTo: String? = nil) {
        self.replyTo = replyTo
        self.conversation = conversation
        self.turnID = turnID
        self.kind = kind
        self.at = at
    }
}
