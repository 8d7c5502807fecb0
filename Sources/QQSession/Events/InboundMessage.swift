import Foundation

/// A message from a QQ user, after filtering: allowed, not a duplicate, @mention stripped, not empty.
public struct InboundMessage: Sendable, Hashable, Codable {
    /// Where it came from.
    public enum Source: String, Sendable, Hashable, Codable {
        /// C2C_MESSAGE_CREATE.
        case c2c
        /// GROUP_AT_MESSAGE_CREATE (the bot was @-mentioned).
        case groupAt = "group_at"
        /// GROUP_MESSAGE_CREATE (all messages of a group that allows it).
        case group
    }

    /// The platform's message id: the `msg_id` of passive replies.
    public var id: String
    /// The envelope id of the dispatch (`event_id` for event-based replies).
    public var eventID: String?
    /// The conversation.
    public var conversation: ConversationID
    /// The event type.
    public var source: Source
    /// Who wrote it.
    public var author: Author
    /// The text, @mention and leading blanks removed.
    public var text: String
    /// The content exactly as the platform sent it.
    public var rawContent: String
    /// The platform's timestamp (receipt time when absent or unparsable).
    public var timestamp: Date
    /// When qqtui received it.
    public var receivedAt: Date
    /// Attachments (images, files, voice, video), downloaded when they are images.
    public var attachments: [Attachment]
    /// `message_type` (0 text, 103 quote, …) when given.
    public var messageType: Int?
    /// The id of a quoted message, when given.
    public var referencedMessageID: String?
    /// Gateway sequence number of the dispatch.
    public var seq: Int?
    /// When passive replies to it stop being accepted (reply window).
    public var replyWindowEnds: Date

    /// The author of an inbound message.
    public struct Author: Sendable, Hashable, Codable {
        /// `user_openid` (C2C) or `member_openid` (group).
        public var openID: String
        /// `member_role` in groups (`member`, `admin`, `owner`).
        public var role: String?
        /// True when the platform says the author is a bot.
        public var isBot: Bool
        /// A username, when the platform sends one (it rarely does).
        public var username: String?

        /// An author.
        public init(openID: String, role: String? = nil, isBot: Bool = false, username: String? = nil) {
            self.openID = openID
            self.role = role
            self.isBot = isBot
            self.username = username
        }
    }

    /// A message (normally built by the inbound processor; public for tests, replays and the store).
    public init(id: String, eventID: String?, conversation: ConversationID, source: Source, author: Author,
                text: String, rawContent: String, timestamp: Date, receivedAt: Date, attachments: [Attachment],
                messageType: Int?, referencedMessageID: String?, seq: Int?, replyWindowEnds: Date) {
        self.id = id
        self.eventID = eventID
        self.conversation = conversation
        self.source = source
        self.author = author
        self.text = text
        self.rawContent = rawContent
        self.timestamp = timestamp
        self.receivedAt = receivedAt
        self.attachments = attachments
        self.messageType = messageType
        self.referencedMessageID = referencedMessageID
        self.seq = seq
        self.replyWindowEnds = replyWindowEnds
    }
}
