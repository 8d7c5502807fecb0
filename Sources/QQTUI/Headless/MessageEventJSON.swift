import Foundation
import QQSession

/// The `serve --json` line of a message event without attachments, written directly: the same bytes
/// ``EventPrinter/jsonEncoder`` writes (sorted keys, nil fields left out, dates as ISO 8601 seconds),
/// at a fraction of the cost, for the event a burst is made of. MessageEventJSONTests check it against
/// the encoder on random messages.
enum MessageEventJSON {
    /// The line, or nil when the message has attachments (the encoder writes those).
    static func line(_ m: InboundMessage) -> String? {
        guard m.attachments.isEmpty else { return nil }
        var out = ""
        out.reserveCapacity(320 + 2 * (m.text.utf8.count + m.rawContent.utf8.count))
        out += #"{"message":{"attachments":[],"author":{"isBot":"#
        out += m.author.isBot ? "true" : "false"
        out += #","openID":"#; DirectJSON.string(m.author.openID, into: &out)
        if let role = m.author.role { out += #","role":"#; DirectJSON.string(role, into: &out) }
        if let username = m.author.username { out += #","username":"#; DirectJSON.string(username, into: &out) }
        out += #"},"conversation":"#; DirectJSON.string(m.conversation.description, into: &out)
        if let eventID = m.eventID { out += #","eventID":"#; DirectJSON.string(eventID, into: &out) }
        out += #","id":"#; DirectJSON.string(m.id, into: &out)
        if let type = m.messageType { out += #","messageType":"#; out += String(type) }
        out += #","rawContent":"#; DirectJSON.string(m.rawContent, into: &out)
        out += #","receivedAt":"#; DirectJSON.date(m.receivedAt, into: &out)
        if let quoted = m.referencedMessageID { out += #","referencedMessageID":"#; DirectJSON.string(quoted, into: &out) }
        out += #","replyWindowEnds":"#; DirectJSON.date(m.replyWindowEnds, into: &out)
        if let seq = m.seq { out += #","seq":"#; out += String(seq) }
        out += #","source":"#; DirectJSON.string(m.source.rawValue, into: &out)
        out += #","text":"#; DirectJSON.string(m.text, into: &out)
        out += #","timestamp":"#; DirectJSON.date(m.timestamp, into: &out)
        out += #"},"type":"message"}"#
        return out
    }
}
