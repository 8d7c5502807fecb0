import Foundation

/// Lays a message out in lines for a width: time, status glyph, sender, wrapped text, attachments,
/// and a status line when something went wrong. Cached per entry until its text, status, the
/// width or the aliases change (gomuks' idea), so a growing stream only re-wraps itself.
final class WrapCache {
    private struct Key: Equatable { var width: Int; var version: Int; var aliases: Int }
    private var cache: [String: (key: Key, lines: [StyledLine])] = [:]
    /// For a reply still streaming: its text as last wrapped, the width, and the wrapped lines.
    private var streams: [String: (text: String, width: Int, pieces: [TextWrap.Piece])] = [:]

    /// Entries laid out in total (benchmarks and tests watch this).
    private(set) var layouts = 0

    init() {}

    /// The lines of `entry` in `width` cells.
    func lines(_ entry: MessageEntry, width: Int, state: ConsoleState) -> [StyledLine] {
        let key = Key(width: width, version: entry.version, aliases: state.aliasVersion)
        if let hit = cache[entry.uid], hit.key == key { return hit.lines }
        if cache.count > 20_000 { cache.removeAll(keepingCapacity: true); streams.removeAll() }
        let lines: [StyledLine]
        if entry.isStreaming {
            lines = MessageLayout.lines(entry, width: width, label: state.label(for: entry)) { text, textWidth in
                wrapGrowing(entry.uid, text: text, width: textWidth)
            }
        } else {
            streams[entry.uid] = nil
            lines = MessageLayout.lines(entry, width: width, label: state.label(for: entry))
        }
        layouts += 1
        cache[entry.uid] = (key, lines)
        return lines
    }

    /// Wraps a streaming reply's text, re-wrapping only its tail when it grew since the last frame.
    private func wrapGrowing(_ uid: String, text: String, width: Int) -> [String] {
        let pieces: [TextWrap.Piece]
        if let last = streams[uid], last.width == width, text.utf8.count >= last.text.utf8.count,
           text.utf8.starts(with: last.text.utf8.dropLast(MessageLayout.streamMarker.utf8.count)) {
            pieces = TextWrap.extend(last.pieces, to: text, width: width)
        } else {
            pieces = TextWrap.pieces(text, width: width)
        }
        streams[uid] = (text, width, pieces)
        return pieces.map(\.text)
    }

    /// How many lines `entry` takes.
    func count(_ entry: MessageEntry, width: Int, state: ConsoleState) -> Int {
        lines(entry, width: width, state: state).count
    }
}

/// The line format of one message.
enum MessageLayout {
    /// Cells of the sender column.
    static let senderWidth = 9

    /// `10:01 ✓ operator  text…` with continuation lines under the text.
    /// Drawn after a reply that is still streaming.
    static let streamMarker = "▌"

    static func lines(_ entry: MessageEntry, width: Int, label: String,
                      wrapBody: (String, Int) -> [String] = { TextWrap.lines($0, width: $1) }) -> [StyledLine] {
        let compact = width < 36
        var prefix = StyledLine()
        if !compact { prefix.add(clock(entry.at) + " ", .dim) }
        // `@` marks a group message that @-mentions the bot; overheard group talk is dimmed.
        if entry.address == .mention { prefix.add("@", .accent) }
        else if entry.recalledBy != nil { prefix.add(recalledGlyph, .warning) }
        else { prefix.add(glyph(entry.status), statusStyle(entry.status)) }
        let name = TextWidth.clip(label, to: senderWidth)
        prefix.add(" " + name + String(repeating: " ", count: max(0, senderWidth - TextWidth.cells(name))) + " ",
                   senderStyle(entry.sender))
        let indent = TextWidth.cells(prefix.text)
        let textWidth = max(1, width - indent)
        let pad = String(repeating: " ", count: indent)
        let quiet = entry.sender == .system || entry.status == .draft || entry.status == .draftHandled || entry.address == .context
            || entry.recalledBy != nil
        let bodyStyle: Style = quiet ? .dim : .normal
        var text = entry.text
        if entry.isStreaming { text += streamMarker }
        var out: [StyledLine] = []
        for (i, piece) in wrapBody(text, textWidth).enumerated() {
            var line = i == 0 ? prefix : StyledLine(pad)
            line.add(piece, bodyStyle)
            out.append(line)
        }
        for attachment in entry.attachments {
            for piece in TextWrap.lines(attachment, width: textWidth) {
                var line = StyledLine(pad)
                line.add(piece, .accent)
                out.append(line)
            }
        }
        if let by = entry.recalledBy {
            let text = "recalled" + (by.isEmpty ? "" : " by " + TextSanitizer.line(by)) + ": the user no longer sees it"
            for piece in TextWrap.lines(text, width: textWidth) {
                var line = StyledLine(pad)
                line.add(piece, .warning)
                out.append(line)
            }
        } else if let progress = entry.progress {
            var line = StyledLine(pad)
            line.add(TextWidth.clip(progress, to: textWidth), .dim)
            out.append(line)
        } else if let detail = detail(entry.status) {
            for piece in TextWrap.lines(detail.text, width: textWidth) {
                var line = StyledLine(pad)
                line.add(piece, detail.style)
                out.append(line)
            }
        }
        return out
    }

    /// `HH:mm` today, the date (`MM-dd`) before: always 5 cells.
    static func clock(_ date: Date, now: Date = Date()) -> String {
        let calendar = Calendar.current
        if !calendar.isDate(date, inSameDayAs: now) {
            let c = calendar.dateComponents([.month, .day], from: date)
            return String(format: "%02d-%02d", c.month ?? 0, c.day ?? 0)
        }
        let c = calendar.dateComponents([.hour, .minute], from: date)
        return String(format: "%02d:%02d", c.hour ?? 0, c.minute ?? 0)
    }

    /// The status glyph of a recalled message.
    static let recalledGlyph = "↶"

    private static func glyph(_ status: MessageEntry.Status) -> String {
        switch status {
        case .received, .draft, .draftHandled: return " "
        case .sending, .streaming: return "…"
        case .sent: return "✓"
        case .failed, .refused: return "✗"
        case .cancelled, .interrupted: return "⊘"
        }
    }

    private static func statusStyle(_ status: MessageEntry.Status) -> Style {
        switch status {
        case .sent: return .ok
        case .failed, .refused: return .error
        case .cancelled, .interrupted: return .warning
        default: return .dim
        }
    }

    /// A user's colour, stable for their openid (FNV-1a), so group members tell apart at a glance.
    static func memberStyle(_ openID: String) -> Style {
        var hash: UInt32 = 2_166_136_261
        for byte in openID.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return Style.members[Int(hash % UInt32(Style.members.count))]
    }

    private static func senderStyle(_ sender: MessageEntry.Sender) -> Style {
        switch sender {
        case .user(let openID): return memberStyle(openID)
        case .operatorSide: return .human
        case .agent: return .agent
        case .system: return .dim
        }
    }

    private static func detail(_ status: MessageEntry.Status) -> (text: String, style: Style)? {
        switch status {
        case .failed(let reason): return ("not delivered: " + reason, .error)
        case .refused(let reason): return ("not sent: " + reason, .error)
        case .cancelled: return ("stopped by take-back (what QQ got stays)", .warning)
        case .interrupted: return ("interrupted: qqtui stopped while sending", .warning)
        case .draft: return ("draft for the operator: Enter sends it, Esc drops it", .draft)
        default: return nil
        }
    }
}
