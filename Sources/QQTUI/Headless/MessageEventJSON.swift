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
        out += #","openID":"#; string(m.author.openID, into: &out)
        if let role = m.author.role { out += #","role":"#; string(role, into: &out) }
        if let username = m.author.username { out += #","username":"#; string(username, into: &out) }
        out += #"},"conversation":"#; string(m.conversation.description, into: &out)
        if let eventID = m.eventID { out += #","eventID":"#; string(eventID, into: &out) }
        out += #","id":"#; string(m.id, into: &out)
        if let type = m.messageType { out += #","messageType":"#; out += String(type) }
        out += #","rawContent":"#; string(m.rawContent, into: &out)
        out += #","receivedAt":""#; out += ISO8601Seconds.string(m.receivedAt); out += "\""
        if let quoted = m.referencedMessageID { out += #","referencedMessageID":"#; string(quoted, into: &out) }
        out += #","replyWindowEnds":""#; out += ISO8601Seconds.string(m.replyWindowEnds); out += "\""
        if let seq = m.seq { out += #","seq":"#; out += String(seq) }
        out += #","source":"#; string(m.source.rawValue, into: &out)
        out += #","text":"#; string(m.text, into: &out)
        out += #","timestamp":""#; out += ISO8601Seconds.string(m.timestamp); out += "\""
        out += #"},"type":"message"}"#
        return out
    }

    /// A JSON string as JSONEncoder writes it: `"` and `\` escaped, control characters as \b \f \n \r
    /// \t or \u00XX, everything else (slashes and non-ASCII included) as is.
    static func string(_ s: String, into out: inout String) { DirectJSON.string(s, into: &out) }
}
