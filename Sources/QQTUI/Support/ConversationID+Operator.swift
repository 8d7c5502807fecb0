import QQSession

extension ConversationID {
    /// Parses a conversation the operator typed (`--to`, `--conversation`): nil unless it is
    /// `c2c:<openid>` or `group:<group_openid>` with an openid made of what openids are made of
    /// (letters, digits, `.`, `_`, `-`), so no control character reaches a URL path or the terminal.
    init?(operatorTarget text: String) {
        guard let parsed = ConversationID(text), Self.isPlainOpenID(parsed.openID) else { return nil }
        self = parsed
    }

    /// What `--to`/`--conversation` must look like, with the operator's text made safe to print.
    static func targetProblem(_ option: String, _ text: String) -> String {
        "\(option) \(TextSanitizer.line(text)): expected c2c:<openid> or group:<group_openid>, "
            + "the openid made of letters, digits, '.', '_' and '-'"
    }

    /// True for 1–128 ASCII letters, digits, `.`, `_` and `-`.
    static func isPlainOpenID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.unicodeScalars.allSatisfy { c in
            switch c {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": true
            default: false
            }
        }
    }
}
