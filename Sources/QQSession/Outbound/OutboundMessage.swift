import Foundation

/// Something qqtui sends to QQ: an operator's line, an image, or an agent's reply; with the route
/// and fate of every part. A `SessionEvent.outbound` carries a fresh copy at each change.
public struct OutboundMessage: Sendable, Hashable, Codable {
    /// What is sent.
    public enum Kind: String, Sendable, Hashable, Codable {
        case text, image, video, voice, file
        /// An agent's reply: streamed in C2C, accumulated in groups.
        case reply
    }

    /// Where the message stands.
    public enum Status: Sendable, Hashable, Codable {
        /// Being sent (or streamed).
        case sending
        /// Every part was accepted.
        case sent
        /// Some part could not be delivered; `error` says why (QQ code, trace id).
        case failed(reason: String)
        /// Not sent at all: no route (windows closed, proactive off). The text is kept in `text`.
        case refused(reason: String)
        /// Stopped by the operator (take-back): what was delivered stays, the rest was not sent.
        case cancelled
    }

    /// One POST's worth: a split part, a media message, or a streamed segment.
    public struct Part: Sendable, Hashable, Codable {
        public enum Status: Sendable, Hashable, Codable { case pending, sending, sent, failed(reason: String), skipped }
        /// Position in the message.
        public var index: Int
        /// Its text (or the file name of a media part).
        public var text: String
        /// The route it took.
        public var route: ReplyRoute?
        /// The msg_seq it carried.
        public var msgSeq: Int?
        /// The platform's message id once accepted.
        public var qqMessageID: String?
        /// Its status.
        public var status: Status
        /// POSTs made for it (retries included).
        public var attempts: Int
        /// A file's upload: bytes sent so far and its size (nil: not a file, or not started).
        public var uploaded: Int? = nil
        public var size: Int? = nil
    }

    /// Local id (`out-…`), stable across updates.
    public var id: String
    public var conversation: ConversationID
    public var kind: Kind
    /// `operator` or `agent`.
    public var origin: String
    /// The operator who sent it (their console's `--operator` name); nil for the agent's replies.
    public var operatorName: String?
    /// The whole text (for a reply: everything the agent produced that was meant for QQ).
    public var text: String
    /// Buttons under the message (sent with its last part, as markdown).
    public var keyboard: Keyboard? = nil
    /// The inbound message it answers, when known.
    public var replyTo: String?
    public var status: Status
    public var parts: [Part]
    /// The last error, with QQ code, err_code and trace id.
    public var error: QQError?
    public var createdAt: Date
    public var updatedAt: Date

    /// A new message about to be sent (status `.sending`, a fresh `out-…` id unless given), created at
    /// `createdAt` on the session's clock: every later `updatedAt` comes from the same clock, and the
    /// store keeps only the newest state of a message by it.
    static func new(_ kind: Kind, to conversation: ConversationID, text: String, replyTo: String?, origin: String,
                    id: String = OutboundSender.newID(), operatorName: String? = nil, createdAt: Date) -> OutboundMessage {
        OutboundMessage(id: id, conversation: conversation, kind: kind, origin: origin, operatorName: operatorName, text: text,
                        replyTo: replyTo, status: .sending, parts: [], error: nil, createdAt: createdAt, updatedAt: createdAt)
    }

    /// True once nothing more will happen to it.
    public var isFinal: Bool {
        if case .sending = status { return false }
        return true
    }
}

/// One frame of a C2C stream as it went to QQ (for the stream inspector and the tests).
public struct StreamFrameEvent: Sendable, Hashable, Codable {
    /// The outbound message the frame belongs to.
    public var outboundID: String
    public var conversation: ConversationID
    /// Which stream of the reply (a segment break starts the next one).
    public var segment: Int
    /// `stream.index`.
    public var index: Int
    /// `stream.state`: 1 while generating, 10 for the closing frame.
    public var state: Int
    /// The text this frame added.
    public var text: String
    /// The platform's stream id (nil until the first response gave one).
    public var streamID: String?
    public var msgSeq: Int?
    /// HTTP round trip.
    public var latencyMs: Int?
    /// Nil when accepted; else why not.
    public var error: String?
    public var at: Date
}
