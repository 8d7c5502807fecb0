import FuzzSupport
@testable import QQSession
import Testing

/// Seeded random group messages built from mentions (the bot's, other members', unknown), blanks,
/// decoys that only look like mentions, and hostile text, against an independent reading of what a
/// mention is: only the bot's mentions and blanks ever leave, from the two ends, and a second pass
/// changes nothing.
@Suite("Fuzz: mention stripper", Fuzz.backstop)
struct FuzzMentionStripperTests {
    static let botIDs: Set<String> = ["B0T", "102000001"]
    static let otherIDs: Set<String> = ["U1", "U2"]

    @Test("removes only blanks and the bot's mentions, only at the ends, all of them there; stable")
    func strip() async {
        let report = await Fuzz.run("mention-stripper", iterations: 3000) { c in
            let input = Self.content(&c.rng)
            let atEvent = c.rng.chance(0.6)
            c.input = "atEvent=\(atEvent) " + input
            let output = MentionStripper.strip(input, botIDs: Self.botIDs, otherIDs: Self.otherIDs, atEvent: atEvent)
            let oracle = MentionOracle(botIDs: Self.botIDs, otherIDs: Self.otherIDs)
            c.check(oracle.isSound(input: Array(input), output: Array(output), atEvent: atEvent),
                    "removed something that is not a blank or the bot's mention at an end → \(output)")
            c.check(oracle.isComplete(Array(output)), "a blank or the bot's mention is left at an end → \(output)")
            c.check(MentionStripper.strip(output, botIDs: Self.botIDs, otherIDs: Self.otherIDs, atEvent: false) == output,
                    "a second pass changed \(output)")
        }
        #expect(report.passed, "\(report)")
    }

    @Test("long and repetitive content finishes quickly (no quadratic blow-up)")
    func long() async {
        let report = await Fuzz.run("mention-stripper-long", iterations: 6, cap: 50) { c in
            let unit = c.rng.pick(["<@B0T>", "<@", " ", "<qqbot-at-user id=\"B0T\" ", "<@B0T> ", "中<", ">"])
            let input = c.rng.pick(["", "<@B0T> "]) + String(repeating: unit, count: 200_000 / unit.count) + c.rng.pick(["", " <@B0T>", "x"])
            c.input = "\(unit) × \(200_000 / unit.count)"
            let clock = ContinuousClock()
            let elapsed = clock.measure { _ = MentionStripper.strip(input, botIDs: Self.botIDs, atEvent: true) }
            // Linear work on 200 kB takes milliseconds; a quadratic one takes minutes.
            c.check(elapsed < .seconds(5), "took \(elapsed)")
        }
        #expect(report.passed, "\(report)")
    }

    /// A message: mentions, decoys, blanks and words in random order.
    static func content<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        let ids = Array(botIDs) + Array(otherIDs) + ["X9", "b0t"]
        var out = ""
        for _ in 0..<rng.small(0...8) {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0, 1:
                let id = rng.pick(ids)
                out += rng.pick(["<@\(id)>", "<@!\(id)>", "<qqbot-at-user id=\"\(id)\" />", "<qqbot-at-user id=\"\(id)\"/>",
                                 "<qqbot-at-user id=\"\(id)\">", "<qqbot-at-user nick=\"x y\" id=\"\(id)\" />"])
            case 2:
                out += rng.pick(["<qqbot-at-user uid=\"B0T\" />", "<qqbot-at-userx id=\"B0T\" />", "<@B0T", "B0T>", "<@ B0T>",
                                 "<@>", "<qqbot-at-user id=\"B0T\" ", "/>", ">", "<", "<@B0T<@U1>", "<qqbot-at-user id=\"B0T\"> hi />",
                                 "<qqbot-at-user id=\"\" />", "<qqbot-at-user id=\"B0T />", "<@B0T>\u{301}", "<@!!B0T>", "<@B\"0T>"])
            case 3:
                out += String(repeating: rng.pick([" ", "\u{A0}", "\u{3000}", "\t", "\n", "\r", "\r\n", "\u{2028}", "\u{B}"]),
                              count: rng.small(1...3))
            default:
                out += Hostile.string(&rng, maxLength: 12)
            }
        }
        return out
    }
}

/// What a mention is, read independently of `MentionStripper`, one character (grapheme) at a time.
struct MentionOracle {
    let botIDs: Set<String>
    let otherIDs: Set<String>

    static func isBlank(_ c: Character) -> Bool { [" ", "\u{A0}", "\u{3000}", "\t", "\n", "\r", "\r\n"].contains(c) }
    static func isIDCharacter(_ c: Character) -> Bool { !isBlank(c) && c != "<" && c != ">" && c != "\"" }

    /// The id and length of the mention tag `chars` starts with: `<@id>`, `<@!id>`, or
    /// `<qqbot-at-user …>` (ending at its first `>`) with a whole `id="…"` attribute.
    func tag(_ chars: ArraySlice<Character>) -> (id: String, length: Int)? {
        let s = chars.startIndex
        guard let close = chars.firstIndex(of: ">") else { return nil }
        let body = chars[s..<close]
        if body.starts(with: ["<", "@"]) {
            var id = body.dropFirst(2)
            if id.first == "!" { id = id.dropFirst() }
            guard !id.isEmpty, id.allSatisfy(Self.isIDCharacter) else { return nil }
            return (String(id), close - s + 1)
        }
        let name = Array("<qqbot-at-user")
        guard body.starts(with: name) else { return nil }
        var attributes = Array(body.dropFirst(name.count))
        guard let first = attributes.first ?? chars[close...].first, Self.isBlank(first) || first == "/" || first == ">",
              !attributes.contains("<") else { return nil }
        if attributes.last == "/" { attributes.removeLast() }
        // The first `id="` preceded by a blank.
        let key = Array("id=\"")
        for i in attributes.indices where i > 0 && Self.isBlank(attributes[i - 1]) && attributes[i...].starts(with: key) {
            let value = attributes[(i + key.count)...].prefix { $0 != "\"" }
            guard i + key.count + value.count < attributes.count, !value.isEmpty, value.allSatisfy(Self.isIDCharacter) else { return nil }
            return (String(value), close - s + 1)
        }
        return nil
    }

    /// True when `part` is only blanks and mentions of the bot (in a leading part of an @-event, the
    /// first mention may be of anyone the platform did not list as another member).
    func isRemovable(_ part: ArraySlice<Character>, leading: Bool, atEvent: Bool) -> Bool {
        var i = part.startIndex
        var first = true
        while i < part.endIndex {
            if Self.isBlank(part[i]) { i += 1; continue }
            guard let (id, length) = tag(part[i...]) else { return false }
            let isBot = botIDs.contains(id) || (leading && first && atEvent && !otherIDs.contains(id))
            guard isBot else { return false }
            i += length
            first = false
        }
        return true
    }

    /// True when `output` is `input` with a removable head and tail taken off.
    func isSound(input: [Character], output: [Character], atEvent: Bool) -> Bool {
        guard output.count <= input.count else { return false }
        for start in 0...(input.count - output.count) where input[start..<(start + output.count)].elementsEqual(output) {
            if isRemovable(input[..<start], leading: true, atEvent: atEvent),
               isRemovable(input[(start + output.count)...], leading: false, atEvent: atEvent) { return true }
        }
        return false
    }

    /// True when `output` neither starts nor ends with a blank or a mention of a known bot id.
    func isComplete(_ output: [Character]) -> Bool {
        guard let first = output.first, let last = output.last else { return true }
        if Self.isBlank(first) || Self.isBlank(last) { return false }
        if let (id, _) = tag(output[...]), botIDs.contains(id) { return false }
        if let open = output.lastIndex(of: "<"), let (id, length) = tag(output[open...]), open + length == output.count,
           botIDs.contains(id) { return false }
        return true
    }
}
