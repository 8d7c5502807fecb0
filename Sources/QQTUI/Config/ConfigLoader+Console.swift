/// The console's own tables: `[keys]` and `[canned]`.
extension ConfigLoader {
    /// `[keys]`: `handoff = "F2"` and so on; an unknown action or key name, a fixed editing key and
    /// two actions on one key are errors.
    static func readKeys(_ table: TOMLSection) throws -> KeyBindings {
        var keys = KeyBindings()
        let actions = KeyBindings.Action.allCases
        for action in actions {
            guard let name = try table.string(action.rawValue) else { continue }
            guard let key = KeyBindings.parse(name) else {
                throw table.fail(action.rawValue, "\"\(name)\" is not a key name: use F1…F12, C-x (Ctrl) or M-x (Alt)")
            }
            do { try keys.bind(action, to: key) } catch let e as KeyBindings.BindingError {
                throw table.fail(action.rawValue, e.message)
            }
        }
        try table.rejectUnknownKeys(known: actions.map(\.rawValue))
        return keys
    }

    /// `[canned]`: `name = "text"`.
    static func readCanned(_ table: TOMLSection) throws -> [String: String] {
        var out: [String: String] = [:]
        for name in table.keys {
            guard let text = try table.string(name), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw table.fail(name, "is empty: a canned reply needs its text")
            }
            guard !name.contains(where: \.isWhitespace) else { throw table.fail(name, "a name cannot contain spaces (/canned NAME)") }
            out[name] = text
        }
        return out
    }
}
