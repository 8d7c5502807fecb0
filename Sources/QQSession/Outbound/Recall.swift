import Foundation

/// A message the bot sent and then took back from the user's chat (`DELETE …/messages/{id}`).
public struct Recall: Sendable, Hashable, Codable {
    /// The conversation it was sent to.
    public var conversation: ConversationID
    /// The local `out-…` id of the message.
    public var outboundID: String
    /// The platform's ids that were recalled (one per part that was delivered).
    public var qqMessageIDs: [String]
    /// The operator who recalled it (nil: a command line or the session itself).
    public var operatorName: String?
    /// When.
    public var at: Date

    public init(conversation: ConversationID, outboundID: String, qqMessageIDs: [String], operatorName: String?, at: Date) {
        self.conversation = conversation
        self.outboundID = outboundID
        self.qqMessageIDs = qqMessageIDs
        self.operatorName = operatorName
        self.at = at
    }
}

/// What the platform says about recalls (2026 documents).
public enum RecallRules {
    /// A message can be recalled this long after it was sent.
    public static let window: TimeInterval = 120
    /// The platform's code for a recall after the window.
    public static let tooLateCode = 40064004
}

extension OutboundSender {
    /// Recalls every delivered part of a sent message. Parts already recalled are skipped by the
    /// caller; each DELETE is tried once (a recall is not worth repeating past the window).
    func recall(_ ids: [String], in conversation: ConversationID) async -> (recalled: [String], error: QQError?) {
        var recalled: [String] = []
        for id in ids {
            let path = Self.base(conversation) + "/messages/" + Self.pathComponent(id)
            do {
                _ = try await rest.requestData(.DELETE, path, context: "recall \(id)")
                recalled.append(id)
            } catch let error as QQError where error.kind == .malformedResponse && (200..<300).contains(error.httpStatus ?? 0) {
                recalled.append(id)  // done; the answer just is not the JSON object it should be
            } catch let error as QQError {
                return (recalled, Self.explainRecall(error, part: recalled.count, of: ids.count))
            } catch {
                return (recalled, QQError.transport(error, context: "recall \(id)"))
            }
        }
        return (recalled, nil)
    }

    /// The platform's refusal, said in words an operator acts on.
    static func explainRecall(_ error: QQError, part: Int, of total: Int) -> QQError {
        var e = error
        if error.qqCode == RecallRules.tooLateCode {
            e.message = "too late to recall: QQ allows it within 2 minutes of sending (\(error.message))"
        } else {
            e.message = "QQ refused the recall: \(error.message)"
        }
        if total > 1 { e.message += "; \(part) of \(total) parts were recalled" }
        return e
    }
}
