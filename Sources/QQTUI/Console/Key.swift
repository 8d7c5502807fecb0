/// A key press (or paste) as the console understands it, after the terminal's codes are decoded.
enum Key: Sendable, Hashable {
    /// Printable text typed (one or more characters).
    case text(String)
    /// Text pasted in one go (bracketed paste, or many characters in one read): line breaks kept.
    case paste(String)
    case enter, altEnter, tab, backTab, backspace, altBackspace, delete
    case left, right, up, down, home, end, pageUp, pageDown, escape
    /// Ctrl plus a letter (`ctrl("a")`).
    case ctrl(Character)
    /// Alt (or ESC then) a printable character.
    case alt(Character)
    /// F1…F12.
    case function(Int)
    /// The terminal was resized.
    case resize(rows: Int, cols: Int)
}

/// What the terminal reads: a Unicode scalar, or a key ncurses already decoded.
enum RawInput: Sendable, Equatable {
    case scalar(UInt32)
    case key(Key)
}

/// Turns raw input into ``Key``s: ESC prefixes (Alt), bracketed paste (`ESC [200~ … ESC [201~`),
/// and a paste heuristic for terminals without it (a line break followed by more text in the same
/// read is part of the text, not Enter).
///
/// A paste without brackets can arrive in several reads, split anywhere, right after a line break
/// too. A line break that ends a read right after text is therefore held: text in the next read makes
/// it part of the text; nothing for ``lineBreakHold`` (the console's loop calls
/// ``releaseHeldLineBreak()``) or any other key makes it Enter. A lone Enter is never held.
struct KeyDecoder: Sendable {
    /// How long a held line break waits for more text before it counts as Enter.
    static let lineBreakHold = Duration.milliseconds(40)
    /// How long a bracketed paste may go without input before it counts as ended: a terminal sends a
    /// paste at once, so its end marker was lost, and the console must not take every later key
    /// (Ctrl-C too) as more of it. The loop calls ``endStalledPaste()``.
    static let pasteStall = Duration.seconds(1)
    /// True inside a bracketed paste whose end marker has not come yet.
    var isPasting: Bool { pasting }
    /// True while a line break waits for the next read to tell whether it was Enter.
    private(set) var holdsLineBreak = false
    private var pasting = false
    private var pasteBuffer = String.UnicodeScalarView()
    /// The start of a paste marker cut off at the end of a read, decoded with the next read. A long
    /// paste arrives in several reads and a cut can fall inside `ESC[201~`: not seeing the end, the
    /// console took every later key (Ctrl-C included) as more of the paste.
    private var carried: [RawInput] = []
    private static let pasteStart: [UInt32] = [0x5B, 0x32, 0x30, 0x30, 0x7E]   // [200~
    private static let pasteEnd: [UInt32] = [0x1B, 0x5B, 0x32, 0x30, 0x31, 0x7E] // ESC[201~

    /// Decodes one read's worth of input.
    mutating func decode(_ read: [RawInput]) -> [Key] {
        let input = carried.isEmpty ? read : carried + read
        carried = []
        var keys: [Key] = []
        var text = String.UnicodeScalarView()
        func flushText() {
            if !text.isEmpty { keys.append(.text(String(text))); text = .init() }
        }
        var i = 0
        if holdsLineBreak, !input.isEmpty {
            holdsLineBreak = false
            if case .scalar(let v) = input[0], Self.isText(v) { text.append("\n") } else { keys.append(.enter) }
        }
        reading: while i < input.count {
            if pasting {
                if case .scalar(let v) = input[i] {
                    switch v == 0x1B ? match(input, at: i, Self.pasteEnd) : .no {
                    case .whole:
                        pasting = false
                        keys.append(.paste(String(pasteBuffer)))
                        pasteBuffer = .init()
                        i += Self.pasteEnd.count
                        continue
                    case .cutOff:
                        carried = Array(input[i...])
                        break reading
                    case .no: break
                    }
                    if let s = Unicode.Scalar(v) { pasteBuffer.append(s) }
                }
                i += 1
                continue
            }
            switch input[i] {
            case .key(let key):
                flushText()
                keys.append(key)
                i += 1
            case .scalar(let v):
                switch v {
                case 0x1B:
                    flushText()
                    switch match(input, at: i + 1, Self.pasteStart) {
                    case .whole:
                        pasting = true
                        i += 1 + Self.pasteStart.count
                        continue
                    case .cutOff:   // `ESC [` and more of the start marker, then the read ended
                        carried = Array(input[i...])
                        break reading
                    case .no: break   // a lone ESC at the read's end is the Esc key
                    }
                    // The end marker of a paste already ended as stalled: nothing to type. (Cut off, it
                    // is carried from `ESC[201` on; shorter beginnings are the start marker's.)
                    switch match(input, at: i, Self.pasteEnd) {
                    case .whole:
                        i += Self.pasteEnd.count
                        continue
                    case .cutOff where input.count - i >= 4:
                        carried = Array(input[i...])
                        break reading
                    default: break
                    }
                    if i + 1 < input.count, case .scalar(let next) = input[i + 1] {
                        i += 2
                        switch next {
                        case 0x0D, 0x0A: keys.append(.altEnter)
                        case 0x7F, 0x08: keys.append(.altBackspace)
                        case 0x1B: keys.append(.escape); i -= 1
                        default:
                            if next >= 0x20, let s = Unicode.Scalar(next) { keys.append(.alt(Character(s))) } else { keys.append(.escape); i -= 1 }
                        }
                    } else {
                        keys.append(.escape)
                        i += 1
                    }
                case 0x0D, 0x0A:
                    if followedByText(input, after: i) {
                        text.append("\n")
                    } else if i + 1 == input.count, !text.isEmpty {
                        flushText()
                        holdsLineBreak = true
                    } else {
                        flushText()
                        keys.append(.enter)
                    }
                    i += 1
                case 0x09: flushText(); keys.append(.tab); i += 1
                case 0x7F, 0x08: flushText(); keys.append(.backspace); i += 1
                case 0x01...0x1A:
                    flushText()
                    keys.append(.ctrl(Character(Unicode.Scalar(UInt8(v) + 0x60))))
                    i += 1
                case 0x00...0x1F, 0x80...0x9F:
                    i += 1   // other controls (Ctrl-\, Ctrl-], C1) mean nothing here
                default:
                    if let s = Unicode.Scalar(v) { text.append(s) }
                    i += 1
                }
            }
        }
        flushText()
        return keys
    }

    /// A paste whose end marker never came (nothing arrived for ``pasteStall``): what came is the
    /// paste. Its end marker, should it still come, is dropped. Nothing when no paste is open.
    mutating func endStalledPaste() -> [Key] {
        guard pasting else { return [] }
        pasting = false
        carried = []   // the start of a marker that never finished
        let text = String(pasteBuffer)
        pasteBuffer = .init()
        return [.paste(text)]
    }

    /// The held line break as Enter (no more text came in time); nothing when none is held.
    mutating func releaseHeldLineBreak() -> [Key] {
        guard holdsLineBreak else { return [] }
        holdsLineBreak = false
        return [.enter]
    }

    private static func isText(_ v: UInt32) -> Bool { v >= 0x20 && v != 0x7F }

    private enum Match { case whole, cutOff, no }

    /// Whether `pattern` is at `start`: whole, cut off by the read's end (what input is left is its
    /// beginning), or not.
    private func match(_ input: [RawInput], at start: Int, _ pattern: [UInt32]) -> Match {
        let left = input.count - start
        guard left > 0 else { return .no }
        for k in 0..<min(left, pattern.count) {
            guard case .scalar(let v) = input[start + k], v == pattern[k] else { return .no }
        }
        return left >= pattern.count ? .whole : .cutOff
    }

    private func followedByText(_ input: [RawInput], after index: Int) -> Bool {
        guard index + 1 < input.count, case .scalar(let v) = input[index + 1] else { return false }
        return Self.isText(v)
    }
}
