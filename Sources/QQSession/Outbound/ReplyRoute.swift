import Foundation

/// How a message will reach the platform, decided before it is sent (the console shows it).
public enum ReplyRoute: Sendable, Hashable, Codable {
    /// A passive reply to an inbound message: `msg_id` + the next `msg_seq`.
    case passive(msgID: String, windowEnds: Date, repliesLeft: Int)
    /// A passive reply to an event (friend added, bot added to a group): `event_id`.
    case passiveEvent(eventID: String, windowEnds: Date, repliesLeft: Int)
    /// A proactive message (no `msg_id`): counts against the platform's proactive quota.
    case proactive
    /// Nothing can be sent: every reply window is closed and proactive messages are off.
    case refused(reason: String)

    /// `passive 2/5 · 03:12 left`, `proactive`, `refused: …`.
    public func summary(now: Date = Date()) -> String {
        switch self {
        case .passive(_, let ends, let left), .passiveEvent(_, let ends, let left):
            let seconds = max(0, Int(ends.timeIntervalSince(now)))
            return "passive · \(left) left · " + String(format: "%02d:%02d", seconds / 60, seconds % 60)
        case .proactive: return "proactive"
        case .refused(let reason): return "refused: " + reason
        }
    }

    /// True for the two passive routes.
    public var isPassive: Bool {
        switch self {
        case .passive, .passiveEvent: return true
        default: return false
        }
    }
}

/// A route with its msg_seq taken: what one POST will carry.
struct Reservation: Sendable, Hashable {
    var route: ReplyRoute
    /// The msg_seq for this POST (passive routes).
    var seq: Int?

    /// The ledger key (msg_id or event_id) of a passive route.
    var key: String? {
        switch route {
        case .passive(let id, _, _), .passiveEvent(let id, _, _): return id
        default: return nil
        }
    }
}
