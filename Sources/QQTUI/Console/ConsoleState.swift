import Foundation
import QQSession

/// Everything the console shows, owned by the UI thread. Events change it through
/// ``apply(_:now:)`` (the reducer, in the `ConsoleState+…` files), which returns the effects to run;
/// views read it. Nothing here does I/O.
struct ConsoleState {
    /// What covers the message pane.
    enum Overlay: Equatable {
        /// The help, scrolled to its line `top`.
        case help(top: Int)
        case search(SearchResults)
    }

    /// `/search` (every conversation) or `/find` (`within` one) results.
    struct SearchResults: Equatable {
        var query: String
        var results: [StoredMessage]?
        var selected = 0
        var within: ConversationID?
    }

    /// A line on the status bar that goes away by itself.
    struct StatusNote: Equatable {
        var text: String
        var level: Notice.Level
        var until: Date
    }

    /// Console settings (from `[notify]` and the command line).
    struct Settings: Sendable {
        /// Ring the bell for a new message in a HUMAN conversation that is not on screen.
        var bell = true
        /// Run the notify command for the same messages.
        var notify = false
        /// Show debug notices too.
        var verbose = false
        /// A burst of messages rings the bell (and runs the notify command) once: again only after
        /// this many seconds without one.
        var burstSeconds = 10.0
        /// The platform's limit per QQ message (longer text goes as several).
        var maxMessageLength = 2000
        /// Passive replies per message (`[replies] c2c_budget`, `group_budget`): the list shows `left/budget`.
        var c2cBudget = 4
        var groupBudget = 5

        func budget(for id: ConversationID) -> Int { id.isGroup ? groupBudget : c2cBudget }
    }

    /// The serve this console is attached to (nil: it runs its own session).
    struct Attach: Sendable, Equatable {
        /// serve's pid.
        var pid: Int32
        /// This console's id at serve.
        var console: Int
        /// False while the link is down (it reconnects by itself).
        var connected = true
        /// Why it went down.
        var lostReason: String?
        /// The other consoles attached, and what they do.
        var others: [PresenceEntry] = []
    }

    var rows = 24
    var cols = 80
    /// Set when attached to a serve.
    var attach: Attach?
    /// The operator at this console (recorded on what they send; shown to the others).
    var operatorName = "operator"
    /// Enter was pressed once while another operator typed in this conversation: a second Enter sends.
    var confirmingSend: ConversationID?
    /// The presence last told to serve: the conversation, whether typing, and when.
    var sentPresence: (open: ConversationID?, typing: Bool, at: Date)?
    var conversations: [ConversationID: ConversationModel] = [:]
    /// Conversations by last activity, newest first.
    private(set) var order: [ConversationID] = []
    private(set) var selected: ConversationID?
    /// openid → the operator's name for it.
    var aliases: [String: String] = [:]
    /// Bumped when an alias changes (laid-out messages show sender names).
    var aliasVersion = 0
    var gateway = GatewayStatus()
    /// The agent backend's name, nil when none is configured.
    var agentName: String?
    /// The demo banner (nil outside the demo).
    var banner: String?
    var composer = Composer()
    /// The agent's draft in the composer (Enter sends it as the reply to its message, Esc drops it).
    var composerDraft: DraftItem?
    var composerHoldsDraft: Bool { composerDraft != nil }
    /// The operator edited the draft in the composer (until then, typing starts their own text).
    var draftEngaged = false
    /// The operator's own text, kept aside while a draft they asked for is in the composer.
    var parkedComposer: Composer?
    /// Action keys (`[keys]`).
    var keys = KeyBindings()
    /// Canned replies by name (`[canned]`).
    var canned: [String: String] = [:]
    /// The conversation on screen was opened (Enter, a command, a key that acts on it, `/goto`,
    /// `/next`, search), not just passed through with Up/Down: its unread count is cleared.
    private(set) var opened = false
    /// Ctrl-C was pressed once with unsent text: a second one quits.
    var confirmingQuit = false
    /// Lines sent before, oldest first (Ctrl-P / Ctrl-N).
    var history: [String] = []
    var historyPosition: Int?
    var note: StatusNote?
    var overlay: Overlay?
    var settings = Settings()
    /// Lays out messages once per width and version.
    let wraps = WrapCache()
    /// Set by Ctrl-C and `/quit`.
    private(set) var quitting = false
    private var localIDs = 0

    init() {}

    // MARK: - Conversations

    /// The conversation on screen.
    var current: ConversationModel? { selected.flatMap { conversations[$0] } }

    /// The model of `id`, created (at the top of the list) when new.
    mutating func ensure(_ id: ConversationID, at date: Date) {
        guard conversations[id] == nil else { return }
        conversations[id] = ConversationModel(id: id, lastActivity: date)
        order.insert(id, at: 0)
    }

    /// Moves a conversation to the top of the list.
    mutating func touch(_ id: ConversationID, at date: Date) {
        guard var c = conversations[id] else { return }
        if date > c.lastActivity { c.lastActivity = date }
        conversations[id] = c
        if order.first != id, let i = order.firstIndex(of: id) {
            order.remove(at: i)
            order.insert(id, at: 0)
        }
    }

    /// Starts over from a snapshot of serve's conversations: message windows reload, the composers
    /// (and the conversation on screen) stay.
    mutating func reset(to summaries: [ConversationSummary]) {
        var fresh: [ConversationID: ConversationModel] = [:]
        for s in summaries {
            var c = ConversationModel(id: s.id, lastActivity: s.lastActivity)
            c.unread = s.unread
            c.owner = Owner(rawValue: s.owner) ?? .human
            c.waitingSince = s.waitingSince
            c.savedComposer = conversations[s.id]?.savedComposer ?? Composer()
            fresh[s.id] = c
        }
        // A conversation on screen that is not in the snapshot (nothing stored yet) stays listed.
        if let id = selected, fresh[id] == nil, let old = conversations[id] {
            var c = ConversationModel(id: id, lastActivity: old.lastActivity)
            c.owner = old.owner
            fresh[id] = c
        }
        conversations = fresh
        order = conversations.values.sorted { $0.lastActivity > $1.lastActivity }.map(\.id)
    }

    /// Replaces the list (at start, from the store), keeping conversations already seen live.
    mutating func setOrder(from summaries: [ConversationSummary]) {
        for s in summaries where conversations[s.id] == nil {
            var c = ConversationModel(id: s.id, lastActivity: s.lastActivity)
            c.unread = s.unread
            c.owner = Owner(rawValue: s.owner) ?? .human
            c.waitingSince = s.waitingSince
            conversations[s.id] = c
        }
        order = conversations.values.sorted { $0.lastActivity > $1.lastActivity }.map(\.id)
    }

    /// Shows `id` (saving the composer of the one before) and asks for what it needs. `open`: the
    /// operator opened it (its unread count clears); false when passing through with Up/Down.
    mutating func select(_ id: ConversationID?, open: Bool = true) -> [Effect] {
        guard id != selected else { return open ? markOpened() : [] }
        if let old = selected { stashComposer(in: old) }
        selected = id
        opened = false
        historyPosition = nil
        guard let id, var c = conversations[id] else { composer = Composer(); return [] }
        composer = c.savedComposer
        c.savedComposer = Composer()
        var effects: [Effect] = []
        if !c.requestedFirstPage {
            c.requestedFirstPage = true
            effects.append(.loadPage(id, before: nil))
        }
        conversations[id] = c
        loadPendingDraft()
        if open { effects += markOpened() }
        return effects
    }

    /// Marks the conversation on screen opened: its unread count clears (here and in the store).
    mutating func markOpened() -> [Effect] {
        guard let id = selected, !opened else { return [] }
        opened = true
        conversations[id]?.unread = 0
        return [.markRead(id)]
    }

    /// Keeps the composer of a conversation that goes off screen; a draft in it goes back to the
    /// front of its queue (with the operator's edits).
    private mutating func stashComposer(in id: ConversationID) {
        if var draft = composerDraft {
            draft.text = composer.text
            conversations[id]?.drafts.insert(draft, at: 0)
            conversations[id]?.savedComposer = parkedComposer ?? Composer()
        } else {
            conversations[id]?.savedComposer = composer
        }
        composerDraft = nil
        draftEngaged = false
        parkedComposer = nil
    }

    /// Moves the selection `step` places down the list (wrapping), passing through: unread stays.
    mutating func cycle(_ step: Int) -> [Effect] {
        guard !order.isEmpty else { return [] }
        let i = selected.flatMap { order.firstIndex(of: $0) } ?? -step.signum()
        let next = ((i + step) % order.count + order.count) % order.count
        return select(order[next], open: false)
    }

    /// Puts the oldest waiting draft into an empty composer, cursor at its start (its first lines show).
    mutating func loadPendingDraft() {
        guard let id = selected, composerDraft == nil, composer.isEmpty,
              let draft = conversations[id]?.drafts.first else { return }
        conversations[id]?.drafts.removeFirst()
        composer.set(draft.text)
        composer.moveToStart()
        composerDraft = draft
        draftEngaged = false
    }

    /// Takes the draft out of the composer (sent or dropped): the operator's parked text comes
    /// back, else the next draft comes up.
    mutating func finishDraft() {
        composerDraft = nil
        draftEngaged = false
        composer = parkedComposer ?? Composer()
        parkedComposer = nil
        loadPendingDraft()
    }

    /// Puts the draft in the composer back at the front of its queue (the operator started typing
    /// their own text over it).
    mutating func setDraftAside() {
        guard let id = selected, var draft = composerDraft else { return }
        draft.text = composer.text
        conversations[id]?.drafts.insert(draft, at: 0)
        composerDraft = nil
        draftEngaged = false
        composer = parkedComposer ?? Composer()
        parkedComposer = nil
    }

    /// Drafts waiting in the conversation on screen (not counting the one in the composer).
    var waitingDrafts: Int { current?.drafts.count ?? 0 }

    /// Shows `text` on the status bar for a while.
    mutating func say(_ text: String, _ level: Notice.Level = .info, now: Date, seconds: Double? = nil) {
        let duration = seconds ?? (level == .error || level == .warning ? 12 : 6)
        note = StatusNote(text: TextSanitizer.line(text), level: level, until: now.addingTimeInterval(duration))
    }

    /// A fresh id for entries that are not in the store.
    mutating func localID(_ prefix: String) -> String {
        localIDs += 1
        return "\(prefix)-\(localIDs)"
    }

    /// The conversations whose user waits for an answer, longest-waiting first.
    var waiting: [ConversationID] {
        let pairs: [(id: ConversationID, since: Date)] = conversations.values.compactMap { c in
            guard let since = c.waitingSince else { return nil }
            return (c.id, since)
        }
        return pairs.sorted { a, b in a.since != b.since ? a.since < b.since : a.id.description < b.id.description }.map(\.id)
    }

    /// How many conversations wait (the status bar's total; cheaper than sorting ``waiting``).
    var waitingCount: Int { conversations.values.reduce(0) { $0 + ($1.waitingSince == nil ? 0 : 1) } }

    /// Unread messages in every conversation.
    var unreadTotal: Int { conversations.values.reduce(0) { $0 + $1.unread } }

    /// Marks the console as leaving.
    mutating func quit() -> [Effect] {
        quitting = true
        return [.quit]
    }

    // MARK: - Names

    /// The list name: alias, else a short openid.
    func name(of id: ConversationID) -> String {
        aliases[id.openID].map(TextSanitizer.line) ?? Self.short(id.openID)
    }

    /// A sender's label.
    /// The sender column of an entry: an agent reply to one member of a group reads `→张三`.
    func label(for entry: MessageEntry) -> String {
        if entry.sender == .agent, let member = entry.answering { return "→" + label(of: .user(openID: member)) }
        return label(of: entry.sender)
    }

    func label(of sender: MessageEntry.Sender) -> String {
        switch sender {
        case .user(let openID): return aliases[openID].map(TextSanitizer.line) ?? Self.short(openID)
        case .operatorSide(let name): return name.map(TextSanitizer.line) ?? "operator"
        case .agent: return "agent"
        case .system: return "·"
        }
    }

    /// `E4F4AE…` for long openids.
    static func short(_ openID: String) -> String {
        let clean = TextSanitizer.line(openID)
        return clean.count > 8 ? String(clean.prefix(6)) + "…" : clean
    }
}
