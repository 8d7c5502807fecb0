import Foundation

/// Everything the session tells its owner (console, `serve`, tests), in order, on one stream.
public enum SessionEvent: Sendable, Hashable, Codable {
    /// The gateway changed state (or a heartbeat ACK updated the RTT).
    case gateway(GatewayStatus)
    /// A user message that passed the inbound filters.
    case message(InboundMessage)
    /// The bot joined or left a group, a user added or removed it as a friend.
    case conversation(ConversationEvent)
    /// Any other dispatch, kept as raw JSON (never dropped silently).
    case raw(RawEvent)
    /// Something the operator may want to know: a skipped message, a malformed frame, a failed download.
    case notice(Notice)
    /// A message qqtui sends changed state (sending, sent, failed, refused, cancelled).
    case outbound(OutboundMessage)
    /// A C2C stream frame went to QQ (or failed).
    case streamFrame(StreamFrameEvent)
    /// A conversation changed owner (human, agent, draft): who, when and why.
    case ownership(OwnershipChange)
    /// An agent turn started, streamed, asked, or ended.
    case agent(AgentActivity)
    /// A sent message was recalled from the user's chat.
    case recall(Recall)
    /// A user pressed a button under one of the bot's messages.
    case interaction(Interaction)

    /// The `type` tag of the JSON form.
    public var type: String {
        switch self {
        case .gateway: return "gateway"
        case .message: return "message"
        case .conversation: return "conversation"
        case .raw: return "raw"
        case .notice: return "notice"
        case .outbound: return "outbound"
        case .streamFrame: return "stream_frame"
        case .ownership: return "ownership"
        case .agent: return "agent"
        case .recall: return "recall"
        case .interaction: return "interaction"
        }
    }

    private enum CodingKeys: String, CodingKey { case type, gateway, message, conversation, raw, notice, outbound, streamFrame = "stream_frame", ownership, agent, recall, interaction }

    /// `{"type": "message", "message": {…}}`: one flat tag, the payload under a key of the same name.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        switch self {
        case .gateway(let v): try c.encode(v, forKey: .gateway)
        case .message(let v): try c.encode(v, forKey: .message)
        case .conversation(let v): try c.encode(v, forKey: .conversation)
        case .raw(let v): try c.encode(v, forKey: .raw)
        case .notice(let v): try c.encode(v, forKey: .notice)
        case .outbound(let v): try c.encode(v, forKey: .outbound)
        case .streamFrame(let v): try c.encode(v, forKey: .streamFrame)
        case .ownership(let v): try c.encode(v, forKey: .ownership)
        case .agent(let v): try c.encode(v, forKey: .agent)
        case .recall(let v): try c.encode(v, forKey: .recall)
        case .interaction(let v): try c.encode(v, forKey: .interaction)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .type) {
        case "gateway": self = .gateway(try c.decode(GatewayStatus.self, forKey: .gateway))
        case "message": self = .message(try c.decode(InboundMessage.self, forKey: .message))
        case "conversation": self = .conversation(try c.decode(ConversationEvent.self, forKey: .conversation))
        case "raw": self = .raw(try c.decode(RawEvent.self, forKey: .raw))
        case "notice": self = .notice(try c.decode(Notice.self, forKey: .notice))
        case "outbound": self = .outbound(try c.decode(OutboundMessage.self, forKey: .outbound))
        case "stream_frame": self = .streamFrame(try c.decode(StreamFrameEvent.self, forKey: .streamFrame))
        case "ownership": self = .ownership(try c.decode(OwnershipChange.self, forKey: .ownership))
        case "agent": self = .agent(try c.decode(AgentActivity.self, forKey: .agent))
        case "recall": self = .recall(try c.decode(Recall.self, forKey: .recall))
        case "interaction": self = .interaction(try c.decode(Interaction.self, forKey: .interaction))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown event type \(other)")
        }
    }
}

/// Lifecycle of a conversation, from the platform's events.
public struct ConversationEvent: Sendable, Hashable, Codable {
    /// What happened.
    public enum Kind: String, Sendable, Hashable, Codable {
        case groupAddRobot = "GROUP_ADD_ROBOT"
        case groupDelRobot = "GROUP_DEL_ROBOT"
        case groupMsgReject = "GROUP_MSG_REJECT"
        case groupMsgReceive = "GROUP_MSG_RECEIVE"
        case friendAdd = "FRIEND_ADD"
        case friendDel = "FRIEND_DEL"
        case c2cMsgReject = "C2C_MSG_REJECT"
        case c2cMsgReceive = "C2C_MSG_RECEIVE"
    }
    /// What happened.
    public var kind: Kind
    /// The group or the user.
    public var conversation: ConversationID
    /// The member who did it (group events), or the user (friend events).
    public var operatorOpenID: String?
    /// The dispatch's envelope id.
    public var eventID: String?
    /// When qqtui received it.
    public var receivedAt: Date

    /// A lifecycle event.
    public init(kind: Kind, conversation: ConversationID, operatorOpenID: String?, eventID: String?, receivedAt: Date) {
        self.kind = kind
        self.conversation = conversation
        self.operatorOpenID = operatorOpenID
        self.eventID = eventID
        self.receivedAt = receivedAt
    }
}

/// A dispatch qqtui does not interpret.
public struct RawEvent: Sendable, Hashable, Codable {
    /// The dispatch type (`t`).
    public var type: String
    /// The gateway sequence number (`s`).
    public var seq: Int?
    /// The envelope id.
    public var eventID: String?
    /// `d` as it came (null when it could not be read).
    public var payload: JSONValue
    /// When qqtui received it.
    public var receivedAt: Date
}

/// A message for the operator about something that did not become a normal event.
public struct Notice: Sendable, Hashable, Codable {
    /// How much it matters.
    public enum Level: String, Sendable, Hashable, Codable { case debug, info, warning, error }
    /// What kind of thing happened.
    public enum Kind: String, Sendable, Hashable, Codable {
        case skippedEmpty = "skipped_empty"
        case duplicate
        case notAllowed = "not_allowed"
        case malformedFrame = "malformed_frame"
        case unknownOpcode = "unknown_opcode"
        case downloadFailed = "download_failed"
        case gatewayError = "gateway_error"
        case tokenError = "token_error"
        case sendFallback = "send_fallback"
        case storeError = "store_error"
        case agentError = "agent_error"
        /// A user pressed the human button: they wait for a person.
        case humanRequested = "human_requested"
        /// A button press could not be acknowledged.
        case interactionError = "interaction_error"
    }
    /// How much it matters.
    public var level: Level
    /// What happened.
    public var kind: Kind
    /// A sentence for the operator.
    public var message: String
    /// A message id, openid or event type the notice is about.
    public var subject: String?
    /// When.
    public var at: Date

    /// A notice.
    public init(level: Level, kind: Kind, message: String, subject: String? = nil, at: Date = Date()) {
        self.level = level
        self.kind = kind
        self.message = Redactor.shared.redact(message)   // notices quote frames and answers from outside
        self.subject = subject
        self.at = at
    }
}
