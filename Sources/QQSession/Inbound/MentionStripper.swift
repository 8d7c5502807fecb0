/// Removes the bot's @mention from group content, and the blanks the platform leaves around it.
///
/// Handles `<@!id>`, `<@id>` and `<qqbot-at-user id="id" />` at the start or the end, repeated,
/// with spaces, `U+00A0` and `U+3000` around them. Mentions of other users stay.
enum MentionStripper {
    /// Characters trimmed around the mention.
    static func isBlank(_ c: Character) -> Bool {
        c == " " || c == "\u{00A0}" || c == "\u{3000}" || c == "\t" || c == "\n" || c == "\r"
    }

    /// The text without the bot's mention. `botIDs` are the bot's ids (READY's user id, the AppID,
    /// mentions marked `is_you`); `otherIDs` are mentions the platform lists as other members. In an
    /// @-event (`atEvent`) a leading tag of an unknown id is the bot (the way cc-connect reads it),
    /// unless the platform listed that id as someone else.
    static func strip(_ content: String, botIDs: Set<String>, otherIDs: Set<String> = [], atEvent: Bool) -> String {
        var text = Substring(content)
        trimLeading(&text)
        var first = true
        while let (id, rest) = leadingMention(text) {
            let isBot = botIDs.contains(id) || (first && atEvent && !otherIDs.contains(id))
            guard isBot else { break }
            text = rest
            trimLeading(&text)
            first = false
        }
        while let (id, rest) = trailingMention(text), botIDs.contains(id) {
            text = rest
        }
        trimTrailing(&text)
        return String(text)
    }

    private static func trimLeading(_ text: inout Substring) {
        while let c = text.first, isBlank(c) { text = text.dropFirst() }
    }

    private static func trimTrailing(_ text: inout Substring) {
        while let c = text.last, isBlank(c) { text = text.dropLast() }
    }

    /// `(id, rest)` when `text` starts with a mention tag.
    static func leadingMention(_ text: Substring) -> (String, Substring)? {
        if text.hasPrefix("<@") {
            guard let close = text.firstIndex(of: ">") else { return nil }
            var id = text[text.index(text.startIndex, offsetBy: 2)..<close]
            if id.hasPrefix("!") { id = id.dropFirst() }
            guard !id.isEmpty, !id.contains(where: isBlank) else { return nil }
            return (String(id), text[text.index(after: close)...])
        }
        if text.hasPrefix("<qqbot-at-user") {
            guard let close = text.range(of: "/>") ?? text.range(of: ">") else { return nil }
            let tag = text[text.startIndex..<close.lowerBound]
            guard let id = attribute("id", in: tag) else { return nil }
            return (id, text[close.upperBound...])
        }
        return nil
    }

    /// `(id, rest)` when `text` ends with a mention tag (blanks before it are trimmed from `rest`).
    static func trailingMention(_ text: Substring) -> (String, Substring)? {
        var t = text
        trimTrailing(&t)
        guard t.hasSuffix(">"), let open = t.lastIndex(of: "<") else { return nil }
        guard let (id, rest) = leadingMention(t[open...]), rest.allSatisfy(isBlank) else { return nil }
        var before = t[..<open]
        trimTrailing(&before)
        return (id, before)
    }

    private static func attribute(_ name: String, in tag: Substring) -> String? {
        guard let r = tag.range(of: name + "=\"") else { return nil }
        let after = tag[r.upperBound...]
        guard let end = after.firstIndex(of: "\"") else { return nil }
        let value = after[..<end]
        return value.isEmpty ? nil : String(value)
    }
}
