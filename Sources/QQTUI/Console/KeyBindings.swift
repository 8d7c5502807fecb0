import Foundation

/// The console's action keys, configurable in the `[keys]` table (`handoff = "F2"`). Editing keys
/// (readline's: Ctrl-A line start, Ctrl-E end, Ctrl-W, …) and Ctrl-C are fixed and cannot be bound.
struct KeyBindings: Sendable, Equatable {
    /// What a bound key does.
    enum Action: String, Sendable, CaseIterable {
        /// Hand the conversation to the agent (AGENT).
        case handoff
        /// Take it back (HUMAN), also mid-stream.
        case takeback
        /// Show the next waiting draft (the operator's own text is kept aside meanwhile).
        case drafts
        /// Open the conversation that has waited longest.
        case next
        /// The help screen.
        case help

        /// Its default key. F2…F4 are unused by readline, shells, screen and tmux.
        var defaultKey: Key {
            switch self {
            case .handoff: return .function(2)
            case .takeback: return .ctrl("t")
            case .drafts: return .function(3)
            case .next: return .function(4)
            case .help: return .function(1)
            }
        }
    }

    private(set) var keys: [Action: Key] = Dictionary(uniqueKeysWithValues: Action.allCases.map { ($0, $0.defaultKey) })

    init() {}

    /// The key of `action`.
    func key(_ action: Action) -> Key { keys[action] ?? action.defaultKey }

    /// The action of `key`, if one is bound to it.
    func action(for key: Key) -> Action? { keys.first { $0.value == key }?.key }

    /// `F2`, `^T`, `Alt-x`.
    func name(_ action: Action) -> String { Self.name(of: key(action)) }

    /// Binds `action` to `key`; throws for a fixed key or one another action already has.
    mutating func bind(_ action: Action, to key: Key) throws {
        if Self.fixed.contains(key) {
            throw BindingError(message: "\(Self.name(of: key)) is an editing key (readline) or quits; choose an F-key or another Ctrl key")
        }
        if let other = keys.first(where: { $0.key != action && $0.value == key })?.key {
            throw BindingError(message: "\(Self.name(of: key)) is already the key of \(other.rawValue)")
        }
        keys[action] = key
    }

    struct BindingError: Error, Equatable { var message: String }

    /// Keys the composer or the console keep for themselves.
    static let fixed: Set<Key> = Set("abcdefhiklmnpuwj".map { Key.ctrl($0) } + [.alt("b"), .alt("f")])

    /// Reads `F1`…`F12`, `C-x` / `Ctrl-x` / `^X`, `M-x` / `Alt-x`; nil for anything else.
    static func parse(_ text: String) -> Key? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let lower = t.lowercased()
        if lower.hasPrefix("f"), let n = Int(lower.dropFirst()), (1...12).contains(n) { return .function(n) }
        for prefix in ["ctrl-", "ctrl+", "c-", "^"] where lower.hasPrefix(prefix) {
            let rest = lower.dropFirst(prefix.count)
            if rest.count == 1, let c = rest.first, c.isASCII, c.isLetter { return .ctrl(c) }
            return nil
        }
        for prefix in ["alt-", "alt+", "m-", "meta-"] where lower.hasPrefix(prefix) {
            let rest = t.dropFirst(prefix.count)
            if rest.count == 1, let c = rest.first, c.isASCII, !c.isWhitespace { return .alt(c) }
            return nil
        }
        return nil
    }

    static func name(of key: Key) -> String {
        switch key {
        case .function(let n): return "F\(n)"
        case .ctrl(let c): return "^" + c.uppercased()
        case .alt(let c): return "Alt-" + String(c)
        default: return "\(key)"
        }
    }
}
