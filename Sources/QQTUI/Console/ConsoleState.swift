import Foundation
import QQSession

/// Everything the console shows, owned by the UI thread. Events change it through
/// ``apply(_:now:)`` (the reducer, in the `ConsoleState+…` files), which returns the effects to run;
/// views read it. Nothing here does I/O.
struct ConsoleState {
    /// What covers the message pane.
    enum Overlay: Equatable {
        case help
        case search(SearchResults)
    }

    /// `/search` results.
    struct SearchResults: Equatable {
        var query: String
        var results: [StoredMessage]?
        var selected = 0
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
    }

    var rows = 24
    var cols = 80
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
    /// The composer holds the agent's draft (Enter sends it as the draft, Esc drops it).
    var composerHoldsDraft = false
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

    /// Replaces the list (at start, from the store), keeping conversations already seen live.
    mutating func setOrder(from summaries: [ConversationSummary]) {
        for s in summaries where conversations[s.id] == nil {
            var c = ConversationModel(id: s.id, lastActivity: s.lastActivity)
            c.unread = s.unread
            c.owner = Owner(rawValue: s.owner) ?? .human
            conversations[s.id] = c
        }
        order = conversations.values.sorted { $0.lastActivity > $1.lastActivity }.map(\.id)
    }

    /// Shows `id` (saving the composer of the one before) and asks for what it needs.
    mutating func select(_ id: ConversationID?) -> [Effect] {
        guard id != selected else { return [] }
        if let old = selected {
            conversations[old]?.savedComposer = composerHoldsDraft ? Composer() : composer
            if composerHoldsDraft { conversations[old]?.pendingDraft = composer.text }
        }
        selected = id
        composerHoldsDraft = false
        historyPosition = nil
        guard let id, var c = conversations[id] else { composer = Composer(); return [] }
        composer = c.savedComposer
        var effects: [Effect] = []
        if c.unread > 0 { c.unread = 0 }
        effects.append(.markRead(id))
        if !c.requestedFirstPage {
            c.requestedFirstPage = true
            effects.append(.loadPage(id, before: nil))
        }
        conversations[id] = c
        loadPendingDraft()
        return effects
    }

    /// Moves the selection `step` places down the list (wrapping).
    mutating func cycle(_ step: Int) -> [Effect] {
        guard !order.isEmpty else { return [] }
        let i = selected.flatMap { order.firstIndex(of: $0) } ?? -step.signum()
        let next = ((i + step) % order.count + order.count) % order.count
        return select(order[next])
    }

    /// Puts a waiting draft into an empty composer.
    mutating func loadPendingDraft() {
        guard let id = selected, composer.isEmpty, let draft = conversations[id]?.pendingDraft else { return }
        conversations[id]?.pendingDraft = nil
        composer.set(draft)
        composerHoldsDraft = true
    }

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
    func label(of sender: MessageEntry.Sender) -> String {
        switch sender {
        case .user(let openID): return aliases[openID].map(TextSanitizer.line) ?? Self.short(openID)
        case .operatorSide: return "operator"
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
