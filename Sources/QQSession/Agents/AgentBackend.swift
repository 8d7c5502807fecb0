import Foundation

/// One message of a conversation as an agent sees it.
public struct ChatMessage: Sendable, Hashable, Codable {
    /// Who spoke, in the terms chat models use: the QQ user is `user`; the operator and the agent are `assistant`.
    public enum Role: String, Sendable, Hashable, Codable { case system, user, assistant }
    public var role: Role
    /// `operator`, `agent`, or the user's openid.
    public var author: String?
    public var text: String
    public var at: Date
    /// Local paths of images the user sent with it (downloaded attachments).
    public var images: [String]

    /// A message.
    public init(role: Role, author: String?, text: String, at: Date = Date(), images: [String] = []) {
        self.role = role
        self.author = author
        self.text = text
        self.at = at
        self.images = images
    }
}

/// What an agent is asked to answer in one turn.
public struct TurnRequest: Sendable {
    /// The conversation.
    public var conversation: ConversationID
    /// Tags every event of the turn; events of an older turn are dropped.
    public var turnID: UUID
    /// What the agent has not seen yet, oldest first: the messages it missed while the operator held
    /// the conversation (user messages and operator replies), then the new user message(s).
    public var newMessages: [ChatMessage]
    /// The bounded transcript before `newMessages`, for backends that keep no state (openai).
    public var history: [ChatMessage]
    /// The openid of the user who wrote the newest message.
    public var user: String?
    /// With member sessions in a group (`[handoff] group_sessions = "member"`): the member this turn
    /// answers. Stateful backends keep one session per conversation and member.
    public var member: String?

    /// Which agent session a turn belongs to: the conversation, and the member in a group with member sessions.
    public struct SessionKey: Sendable, Hashable {
        public var conversation: ConversationID
        public var member: String?
    }

    /// This turn's session.
    public var sessionKey: SessionKey { SessionKey(conversation: conversation, member: member) }

    /// A turn request.
    public init(conversation: ConversationID, turnID: UUID = UUID(), newMessages: [ChatMessage], history: [ChatMessage] = [],
                user: String? = nil, member: String? = nil) {
        self.member = member
        self.conversation = conversation
        self.turnID = turnID
        self.newMessages = newMessages
        self.history = history
        self.user = user
    }

    /// `newMessages` as one prompt for agents that keep their own history (command, ACP): the missed
    /// part is labelled so the agent can tell it from the new message.
    public var promptText: String {
        let newest = newMessages.lastIndex { $0.role == .user } ?? (newMessages.count - 1)
        guard newest > 0 else { return newMessages.map(\.text).joined(separator: "\n") }
        let missed = newMessages[..<newest].map { m in
            "\(m.role == .user ? "user" : (m.author == "agent" ? "agent" : "operator(人工客服)")): \(m.text)"
        }
        let fresh = newMessages[newest...].map(\.text)
        return "[Context since your last reply]\n" + missed.joined(separator: "\n") + "\n[New message]\n" + fresh.joined(separator: "\n")
    }

    /// Image paths of the new messages.
    public var images: [String] { newMessages.flatMap(\.images) }
}

/// Why a turn ended.
public enum StopReason: Sendable, Hashable, Codable {
    case endTurn
    case cancelled
    /// The model hit its length limit: the answer is cut.
    case maxTokens
    /// The agent refused the prompt.
    case refusal
    case other(String)
}

/// A choice offered by an agent's permission request.
public struct PermissionOption: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    /// `allow_once`, `allow_always`, `reject_once`, `reject_always`.
    public var kind: String
    /// An option.
    public init(id: String, name: String, kind: String) { self.id = id; self.name = name; self.kind = kind }
}

/// An agent asks the operator to allow a tool call. Unanswered requests are denied at the turn's end.
public struct PermissionRequest: Sendable, Hashable, Codable {
    public var id: String
    public var title: String
    public var options: [PermissionOption]
    /// A request.
    public init(id: String, title: String, options: [PermissionOption]) { self.id = id; self.title = title; self.options = options }
}

/// What a turn produces, in order. Only `textDelta` (and `segmentBreak`) can reach QQ.
public enum AgentEvent: Sendable, Hashable, Codable {
    /// Text of the answer.
    case textDelta(String)
    /// The answer pauses (a tool call): an open C2C stream is closed and the next text opens a new one.
    case segmentBreak
    /// The agent's thinking (operator only).
    case thought(String)
    /// A tool call started or changed (operator only).
    case tool(id: String, title: String, status: String)
    /// The agent waits for the operator (see ``AgentTurn/answer(_:optionID:)``).
    case permission(PermissionRequest)
    /// Context use, when the agent reports it.
    case usage(used: Int?, size: Int?)
    /// Something the operator should know that is not part of the answer (e.g. an unknown update).
    case note(String)
    /// The turn ended; always the last event of a turn that did not throw.
    case finished(StopReason)
}

/// One running turn of an agent.
public protocol AgentTurn: Sendable {
    /// The turn's events; errors (a dead agent, an HTTP error) end it by throwing a ``QQError`` of kind `.agent`.
    var events: AsyncThrowingStream<AgentEvent, any Error> { get }
    /// Stops the turn for real (signal, aborted request, `session/cancel`). Idempotent.
    func cancel() async
    /// Answers a permission request; nil denies (or, after a cancel, reports it cancelled).
    func answer(_ requestID: String, optionID: String?) async
}

/// A kind of agent (command, openai, acp, echo, demo), shared by every conversation.
public protocol AgentBackend: Sendable {
    /// A short name for the status bar, e.g. `openai qwen2.5` or `command ./bot.sh`.
    var name: String { get }
    /// Starts a turn. Throws a ``QQError`` of kind `.agent` when it cannot start at all.
    func startTurn(_ request: TurnRequest) async throws -> any AgentTurn
    /// The conversation no longer needs its agent state (process, session).
    func endConversation(_ conversation: ConversationID) async
    /// Stops everything the backend runs.
    func shutdown() async
}

extension AgentBackend {
    /// Nothing to release by default.
    public func endConversation(_ conversation: ConversationID) async {}
    /// Nothing to stop by default.
    public func shutdown() async {}
}

extension QQError {
    /// An agent failure: `message` is what the operator reads.
    static func agent(_ message: String, context: String? = "agent") -> QQError {
        QQError(kind: .agent, message: message, context: context)
    }
}
