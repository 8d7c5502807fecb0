/// Removes the bot's @mention from group content, and the blanks the platform leaves around it.
///
/// Handles `<@!id>`, `<@id>` and `<qqbot-at-user id="id" />` at the start or the end, repeated,
/// with spaces, `U+00A0` and `U+3000` around them. Mentions of other users stay.
enum MentionStripper {
    /// Characters trimmed around the mention.
    static func isBlank(_ c: Character) -> Bool {
        c == " " || c == "\u{00A0}" || c == "\u{3000}" || c == "\t" || c == "\n" || c == "\r" || c == "\r\n"
    }

    /// Characters an id never holds: blanks, and the brackets and quote that delimit tags.
    static func isIDCharacter(_ c: Character) -> Bool {
        !isBlank(c) && c != "<" && c != ">" && c != "\""
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

    /// `(id, rest)` when `text` starts with a mention tag: `<@id>`, `<@!id>`, or a `<qqbot-at-user …>`
    /// element with an `id` attribute (self-closing or not). A tag ends at its first `>`.
    static func leadingMention(_ text: Substring) -> (String, Substring)? {
        if text.hasPrefix("<@") {
            guard let close = text.firstIndex(of: ">") else { return nil }
            var id = text[text.index(text.startIndex, offsetBy: 2)..<close]
            if id.hasPrefix("!") { id = id.dropFirst() }
            guard !id.isEmpty, id.allSatisfy(isIDCharacter) else { return nil }
            return (String(id), text[text.index(after: close)...])
        }
        let element = "<qqbot-at-user"
        if text.hasPrefix(element) {
            // The element's name must end here (`<qqbot-at-userx` is another element), and the tag at
            // the first `>`: text after it is the message, even when a `/>` follows later.
            let afterName = text.dropFirst(element.count)
            guard let next = afterName.first, isBlank(next) || next == "/" || next == ">",
                  let close = afterName.firstIndex(of: ">") else { return nil }
            var attributes = afterName[..<close]
            guard attributes.firstIndex(of: "<") == nil else { return nil }
            if attributes.last == "/" { attributes = attributes.dropLast() }
            guard let id = attribute("id", in: attributes) else { return nil }
            return (id, afterName[afterName.index(after: close)...])
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

    /// The value of the attribute `name="…"` (a whole attribute name: `uid="…"` is not `id`).
    private static func attribute(_ name: String, in attributes: Substring) -> String? {
        var rest = attributes
        // Character by character (`firstRange`, not Foundation's `range(of:)`): a match never ends inside a grapheme.
        while let r = rest.firstRange(of: name + "=\"") {
            let before = rest[..<r.lowerBound]
            if let previous = before.last ?? attributes[..<rest.startIndex].last, isBlank(previous) {
                let after = rest[r.upperBound...]
                guard let end = after.firstIndex(of: "\"") else { return nil }
                let value = after[..<end]
                return !value.isEmpty && value.allSatisfy(isIDCharacter) ? String(value) : nil
            }
            rest = rest[r.upperBound...]
        }
        return nil
    }
}
