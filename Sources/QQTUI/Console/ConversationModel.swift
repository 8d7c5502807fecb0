import Foundation
import QQSession

/// One conversation as the console holds it: a window of its messages (older pages load from the
/// store on demand), who answers it, the agent's turn, and where the operator scrolled.
struct ConversationModel: Sendable {
    /// The bottom line the operator scrolled to: an entry and a line inside it (from its top).
    /// Nil follows the newest message.
    struct Anchor: Sendable, Equatable {
        var uid: String
        var line: Int
    }

    let id: ConversationID
    var lastActivity: Date
    var unread = 0
    var owner: Owner = .human
    private(set) var entries: [MessageEntry] = []
    private var index: [String: Int] = [:]
    /// The first page was asked for (nothing more to ask until the operator scrolls up).
    var requestedFirstPage = false
    /// The store may hold older messages than `entries`.
    var hasOlder = true
    /// An older page is on its way.
    var loadingOlder = false
    /// The running agent turn and the entry its text goes to.
    var turn: (id: UUID, uid: String, mode: Owner)?
    /// A permission request the agent waits on.
    var permission: PermissionRequest?
    /// Finished drafts not in the composer (DRAFT mode), oldest first: one per user message.
    var drafts: [DraftItem] = []
    /// The user message the running turn answers.
    var turnReplyTo: String?
    /// Since when the user waits for an answer (their last message is unanswered); nil when nobody waits.
    var waitingSince: Date?
    /// When the last message addressed to the bot arrived (a reply created before it does not answer it).
    var lastAddressed: Date?
    /// The last text that failed to go out, the parts QQ did not get (`/retry` sends them again).
    var failedText: (uid: String, text: String, replyTo: String?)?
    /// When the last message arrived here (a burst rings the bell once).
    var lastArrival: Date?
    /// A message to show and mark (a search hit); `jumpPending` until its page is loaded.
    var highlight: String?
    var jumpPending = false
    /// The composer's text while another conversation is on screen.
    var savedComposer = Composer()
    /// Where the operator scrolled (nil: at the bottom).
    var anchor: Anchor?
    /// Messages that arrived below the scrolled-to position.
    var newBelow = 0

    /// At most this many messages stay in memory; older ones are read back from the store.
    static let memoryLimit = 2000

    init(id: ConversationID, lastActivity: Date) {
        self.id = id
        self.lastActivity = lastActivity
    }

    /// The entry with this uid.
    func entry(_ uid: String) -> MessageEntry? { index[uid].map { entries[$0] } }

    /// The position of an entry.
    func position(of uid: String) -> Int? { index[uid] }

    /// Adds an entry at the bottom, or updates it when the uid is known (a live event after a page).
    mutating func upsert(_ entry: MessageEntry) {
        if let i = index[entry.uid] {
            entries[i] = entry
            return
        }
        index[entry.uid] = entries.count
        entries.append(entry)
        if anchor != nil { newBelow += 1 }
        trimIfNeeded()
    }

    /// Changes an entry in place; false when the uid is unknown.
    @discardableResult
    mutating func update(_ uid: String, _ body: (inout MessageEntry) -> Void) -> Bool {
        guard let i = index[uid] else { return false }
        body(&entries[i])
        return true
    }

    /// Puts an older page (newest first, as the store returns it) above the entries; uids already
    /// shown (a live event that raced the page) are skipped.
    mutating func prepend(page: [MessageEntry], complete: Bool) {
        let fresh = page.reversed().filter { index[$0.uid] == nil }
        entries.insert(contentsOf: fresh, at: 0)
        reindex()
        hasOlder = !complete
        loadingOlder = false
    }

    /// Since when the user still waits once `reply` went out: nil when it answers their last message;
    /// else from the first message to the bot after the one it answers (a draft for an older
    /// question), or the one that came after the reply was written.
    func stillWaiting(after reply: OutboundMessage) -> Date? {
        if let answered = reply.replyTo, let i = position(of: answered) {
            let next = entries[(i + 1)...].first { entry in
                if case .user = entry.sender { return entry.address != .context }
                return false
            }
            return next?.at
        }
        guard let later = lastAddressed, later > reply.createdAt else { return nil }
        return later
    }

    /// The oldest entry that is in the store (older pages are read before it).
    var oldestStoredUID: String? { entries.first { $0.isStored }?.uid }

    private mutating func trimIfNeeded() {
        // Drops the oldest when far over the limit (never the scrolled-to entry); they stay in the store.
        guard entries.count > Self.memoryLimit + Self.memoryLimit / 4 else { return }
        var drop = entries.count - Self.memoryLimit
        if let anchor, let a = index[anchor.uid] { drop = min(drop, a) }
        guard drop > 0 else { return }
        entries.removeFirst(drop)
        hasOlder = true
        reindex()
    }

    private mutating func reindex() {
        index = Dictionary(entries.enumerated().map { ($1.uid, $0) }, uniquingKeysWith: { _, last in last })
    }
}
