import Foundation
import GRDB

/// A C2C stream a dead process left open: QQ rolls it back to its first chunk unless it is closed.
struct AbandonedStream: Sendable, Equatable {
    var uid: String
    var conversation: ConversationID
    /// The user message the stream answers (its passive reply).
    var msgID: String
    var streamID: String
    /// The next frame index (frames QQ accepted so far).
    var nextIndex: Int
    /// The msg_seq of the stream's first frame (the stream_messages API keeps it for every frame).
    var firstSeq: Int?
}

extension MessageStore {
    /// What ``recoverInterrupted(_:)`` says about a reply a crash cut short (until its stream is closed).
    static let interruptedDetail = "qqtui stopped before it finished"

    /// The C2C streams still open among the replies a crash interrupted since `since` (also those an
    /// earlier start could not close before it was killed in turn).
    func abandonedStreams(since: Date) throws -> [AbandonedStream] {
        try reading { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT uid, conversation, parts FROM message
                WHERE direction = 'out' AND status = 'interrupted' AND status_detail = ? AND kind = 'reply'
                    AND parts IS NOT NULL AND updated_at >= ?
                """, arguments: [Self.interruptedDetail, since.timeIntervalSince1970])
            return rows.flatMap { row -> [AbandonedStream] in
                let uid: String = row["uid"]
                guard let conversation = ConversationID(row["conversation"] as String), case .c2c = conversation,
                      let text = row["parts"] as String?,
                      let parts = try? StoredMessage.decoder.decode([OutboundMessage.Part].self, from: Data(text.utf8)) else { return [] }
                return parts.compactMap { part in
                    guard case .sending = part.status, let streamID = part.qqMessageID, !streamID.isEmpty,
                          case .passive(let msgID, _, _)? = part.route else { return nil }
                    return AbandonedStream(uid: uid, conversation: conversation, msgID: msgID, streamID: streamID,
                                           nextIndex: part.attempts, firstSeq: part.msgSeq)
                }
            }
        }
    }
}
