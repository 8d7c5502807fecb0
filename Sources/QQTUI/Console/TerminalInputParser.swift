/// Turns the bytes a terminal sends into ``RawInput``: UTF-8 into scalars, and the escape sequences
/// of the keys the console uses (arrows, Home/End, PgUp/PgDn, Delete, Shift-Tab, F1–F12, in the
/// xterm, VT220, tmux/screen and Linux console forms) into keys. The paste markers `ESC[200~` and
/// `ESC[201~` stay plain scalars for ``KeyDecoder``; other sequences are dropped.
///
/// The console reads the terminal's bytes itself, in blocks, and gives them here. ncurses read them
/// one byte per `read`, and `wget_wch` dropped the bytes of a character cut off by the end of what had
/// arrived: under load, a 4.6 kB paste lost characters and lines on the way to the composer.
///
/// A character or a sequence cut off at the end of a block is kept for the next one. A key's sequence
/// and a lone Esc start alike: ``isWaitingForEscape`` tells the loop to call ``flush()`` after
/// ``escapeWait`` with nothing more (ncurses' ESCDELAY), and the Esc is a key of its own.
struct TerminalInputParser: Sendable {
    /// How long an escape sequence's beginning waits for the rest before it counts as typed.
    static let escapeWait = Duration.milliseconds(25)
    /// A sequence longer than this is not a key's: its ESC is a key of its own.
    private static let longestSequence = 16

    /// Bytes cut off at the end of the last block: a character's first bytes, or an escape
    /// sequence's beginning.
    private var pending: [UInt8] = []
    /// True when ``pending`` begins with ESC (the loop must call ``flush()`` in time).
    private(set) var isWaitingForEscape = false

    /// Decodes one block of bytes.
    mutating func parse(_ block: some Collection<UInt8>) -> [RawInput] {
        let bytes = pending.isEmpty ? Array(block) : pending + block
        pending = []
        isWaitingForEscape = false
        var out: [RawInput] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x1B {
                switch sequence(bytes, at: i) {
                case .cutOff:
                    pending = Array(bytes[i...])
                    isWaitingForEscape = true
                    return out
                case .key(let key, let length):
                    out.append(.key(key))
                    i += length
                case .character(let value, let length):
                    out.append(.scalar(value))
                    i += length
                case .marker(let length):
                    out.append(contentsOf: bytes[i..<i + length].map { .scalar(UInt32($0)) })
                    i += length
                case .unknown(let length):
                    i += length
                case .none:
                    out.append(.scalar(0x1B))
                    i += 1
                }
            } else if b < 0x80 {
                out.append(.scalar(UInt32(b)))
                i += 1
            } else {
                switch Self.character(bytes, at: i) {
                case .cutOff:
                    pending = Array(bytes[i...])
                    return out
                case .scalar(let value, let length):
                    out.append(.scalar(value))
                    i += length
                case .invalid:
                    out.append(.scalar(0xFFFD))
                    i += 1
                }
            }
        }
        return out
    }

    /// The escape sequence's beginning that waited ``escapeWait`` for its rest: its bytes as typed
    /// (a lone ESC is the Esc key; ESC and a character, Alt and that character).
    mutating func flush() -> [RawInput] {
        guard isWaitingForEscape else { return [] }
        isWaitingForEscape = false
        let bytes = pending
        pending = []
        // ESC goes out alone; the bytes after it are parsed again (they hold no ESC of their own).
        return [.scalar(0x1B)] + parse(bytes.dropFirst())
    }

    private enum Sequence {
        case key(Key, length: Int)
        /// A keypad key that types a character.
        case character(UInt32, length: Int)
        /// A bracketed-paste marker: passed on as scalars.
        case marker(length: Int)
        /// A complete sequence of no key the console uses.
        case unknown(length: Int)
        case cutOff
        /// Not a sequence: ESC is a key of its own.
        case none
    }

    /// The escape sequence at `start` (an ESC).
    private func sequence(_ bytes: [UInt8], at start: Int) -> Sequence {
        guard start + 1 < bytes.count else { return .cutOff }
        switch bytes[start + 1] {
        case 0x5B:   // CSI: ESC [ parameters intermediates final
            var j = start + 2
            if j < bytes.count, bytes[j] == 0x5B {   // the Linux console's F1–F5: ESC [ [ A…E
                guard j + 1 < bytes.count else { return .cutOff }
                let n = Int(bytes[j + 1]) - 0x40
                return (1...5).contains(n) ? .key(.function(n), length: 4) : .none
            }
            // Parameters, then intermediates; rxvt ends its Shift variants with `$` (ESC [ 7 $).
            while j < bytes.count, (0x30...0x3F).contains(bytes[j]) { j += 1 }
            let rxvtShift = j > start + 2 && j < bytes.count && bytes[j] == 0x24
            while !rxvtShift, j < bytes.count, (0x20...0x2F).contains(bytes[j]) { j += 1 }
            if j - start > Self.longestSequence { return .none }
            guard j < bytes.count else { return .cutOff }
            guard rxvtShift || (0x40...0x7E).contains(bytes[j]) else { return .none }
            let length = j - start + 1
            let parameters = Array(bytes[(start + 2)..<j])
            if bytes[j] == 0x7E, parameters == [0x32, 0x30, 0x30] || parameters == [0x32, 0x30, 0x31] {
                return .marker(length: length)
            }
            guard let key = Self.csiKey(parameters: parameters, final: bytes[j]) else { return .unknown(length: length) }
            return .key(key, length: length)
        case 0x4F:   // SS3: ESC O final
            guard start + 2 < bytes.count else { return .cutOff }
            let final = bytes[start + 2]
            if let key = Self.ss3Key(final) { return .key(key, length: 3) }
            if let c = Self.keypadCharacter(final) { return .character(c, length: 3) }
            return (0x40...0x7E).contains(final) ? .unknown(length: 3) : .none
        case 0x09:   // the Linux console's Shift-Tab
            return .key(.backTab, length: 2)
        case 0xC2...0xF4:
            // Alt and a character whose rest has not arrived: wait for it, as for a sequence.
            if case .cutOff = Self.character(bytes, at: start + 1) { return .cutOff }
            return .none
        default:
            return .none
        }
    }

    /// The character a keypad key in application mode stands for (`ESC O p` is 0); nil for none.
    private static func keypadCharacter(_ final: UInt8) -> UInt32? {
        switch final {
        case 0x70...0x79: return UInt32(final) - 0x70 + 0x30   // p…y: 0…9
        case 0x6A: return 0x2A   // j: *
        case 0x6B: return 0x2B   // k: +
        case 0x6C: return 0x2C   // l: ,
        case 0x6D: return 0x2D   // m: -
        case 0x6E: return 0x2E   // n: .
        case 0x6F: return 0x2F   // o: /
        case 0x58: return 0x3D   // X: =
        default: return nil
        }
    }

    /// The key of `CSI parameters final`; nil for one the console does not use. Ctrl or Alt with
    /// Left/Right (`1;5D`) moves by word, as Alt-B/Alt-F do; other modifiers give the plain key.
    private static func csiKey(parameters: [UInt8], final: UInt8) -> Key? {
        let numbers = parameters.split(separator: 0x3B, omittingEmptySubsequences: false)
            .map { Int(String(decoding: $0, as: UTF8.self)) }
        let first = numbers.first ?? nil
        let byWord = numbers.count > 1 && [3, 5, 7].contains(numbers[1])
        switch final {
        case 0x41: return .up
        case 0x42: return .down
        case 0x43: return byWord ? .alt("f") : .right
        case 0x44: return byWord ? .alt("b") : .left
        case 0x61 where parameters.isEmpty: return .up      // rxvt's Shift-arrows: ESC [ a…d
        case 0x62 where parameters.isEmpty: return .down
        case 0x63 where parameters.isEmpty: return .right   // (ESC [ ? 1 ; 2 c is a terminal's answer)
        case 0x64 where parameters.isEmpty: return .left
        case 0x48: return .home
        case 0x46: return .end
        case 0x5A: return .backTab
        case 0x50, 0x51, 0x52, 0x53: return .function(Int(final) - 0x4F)   // CSI 1;2P: a modified F1–F4
        case 0x7E, 0x24, 0x5E, 0x40:   // VT220's `~`; rxvt's `$` (Shift), `^` (Ctrl), `@` (both)
            guard let n = first else { return nil }
            switch n {
            case 1, 7: return .home
            case 4, 8: return .end
            case 3: return .delete
            case 5: return .pageUp
            case 6: return .pageDown
            case 11...15: return .function(n - 10)
            case 17...21: return .function(n - 11)
            case 23, 24: return .function(n - 12)
            default: return nil
            }
        default: return nil
        }
    }

    /// The key of `SS3 final` (application cursor and keypad mode); nil for none.
    private static func ss3Key(_ final: UInt8) -> Key? {
        switch final {
        case 0x41: return .up
        case 0x42: return .down
        case 0x43: return .right
        case 0x44: return .left
        case 0x48: return .home
        case 0x46: return .end
        case 0x4D: return .enter   // the keypad's Enter
        case 0x50, 0x51, 0x52, 0x53: return .function(Int(final) - 0x4F)
        case 0x61: return .up      // rxvt's Ctrl-arrows: ESC O a…d
        case 0x62: return .down
        case 0x63: return .alt("f")
        case 0x64: return .alt("b")
        default: return nil
        }
    }

    private enum Decoded {
        case scalar(UInt32, length: Int)
        case cutOff
        case invalid
    }

    /// The UTF-8 character at `start` (a byte of 0x80 or more).
    private static func character(_ bytes: [UInt8], at start: Int) -> Decoded {
        let lead = bytes[start]
        let length: Int
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; value = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; value = UInt32(lead & 0x07)
        default: return .invalid
        }
        for k in 1..<length {
            guard start + k < bytes.count else { return .cutOff }
            let b = bytes[start + k]
            guard b & 0xC0 == 0x80 else { return .invalid }
            if k == 1 {   // overlong forms, surrogates and beyond U+10FFFF show in the second byte
                switch lead {
                case 0xE0 where b < 0xA0, 0xED where b > 0x9F, 0xF0 where b < 0x90, 0xF4 where b > 0x8F:
                    return .invalid
                default: break
                }
            }
            value = value << 6 | UInt32(b & 0x3F)
        }
        return .scalar(value, length: length)
    }
}
