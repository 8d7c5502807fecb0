import Foundation
import QQSession

/// The `serve --json` lines of the events every reply is made of (`outbound`, and `agent` turns
/// started, text, queued and finished), written directly: the same bytes ``EventPrinter/jsonEncoder``
/// writes (sorted keys, nil fields left out, enums as `{"case":{…}}`, dates as ISO 8601 seconds). An
/// outbound message with buttons or an error, and agent events other than text, go through the
/// encoder. FuzzEventLineJSONTests check both against the encoder on random values.
enum ReplyEventJSON {
    /// The line of an `outbound` event, or nil when the encoder writes it.
    static func line(_ m: OutboundMessage) -> String? {
        guard m.keyboard == nil, m.error == nil else { return nil }
        var out = ""
        out.reserveCapacity(320 + 2 * m.text.utf8.count + m.parts.count * 260)
        out += #"{"outbound":{"conversation":"#; string(m.conversation.description, &out)
        out += #","createdAt":"#; date(m.createdAt, &out)
        out += #","id":"#; string(m.id, &out)
        out += #","kind":"#; string(m.kind.rawValue, &out)
        if let name = m.operatorName { out += #","operatorName":"#; string(name, &out) }
        out += #","origin":"#; string(m.origin, &out)
        out += #","parts":"#; DirectJSON.parts(m.parts, into: &out)
        if let replyTo = m.replyTo { out += #","replyTo":"#; string(replyTo, &out) }
        out += #","status":"#
        switch m.status {
        case .sending: tagged("sending", &out)
        case .sent: tagged("sent", &out)
        case .failed(let reason): tagged("failed", reason: reason, &out)
        case .refused(let reason): tagged("refused", reason: reason, &out)
        case .cancelled: tagged("cancelled", &out)
        }
        out += #","text":"#; string(m.text, &out)
        out += #","updatedAt":"#; date(m.updatedAt, &out)
        out += #"},"type":"outbound"}"#
        return out
    }

    /// The line of an `agent` event, or nil when the encoder writes it (thoughts, tools, permissions,
    /// usage, notes, segment breaks).
    static func line(_ a: AgentActivity) -> String? {
        var out = ""
        out.reserveCapacity(280)
        out += #"{"agent":{"at":"#; date(a.at, &out)
        out += #","conversation":"#; string(a.conversation.description, &out)
        out += #","kind":"#
        switch a.kind {
        case .started(let mode, let backend, let outboundID, let messages):
            out += #"{"started":{"backend":"#; string(backend, &out)
            out += #","messages":"#; out += String(messages)
            out += #","mode":"#; string(mode.rawValue, &out)
            if let outboundID { out += #","outboundID":"#; string(outboundID, &out) }
            out += "}}"
        case .event(.textDelta(let text)):
            out += #"{"event":{"_0":{"textDelta":{"_0":"#; string(text, &out); out += "}}}}"
        case .event:
            return nil
        case .queued(let messageID, let waiting):
            out += #"{"queued":{"messageID":"#; string(messageID, &out)
            out += #","waiting":"#; out += String(waiting); out += "}}"
        case .finished(let outcome, let text):
            out += #"{"finished":{"_0":"#
            switch outcome {
            case .completed(let cut): out += cut ? #"{"completed":{"cut":true}}"# : #"{"completed":{"cut":false}}"#
            case .cancelled(let reason): tagged("cancelled", reason: reason, &out)
            case .failed(let reason): tagged("failed", reason: reason, &out)
            case .refused: tagged("refused", &out)
            }
            out += #","text":"#; string(text, &out); out += "}}"
        }
        if let member = a.member { out += #","member":"#; string(member, &out) }
        if let replyTo = a.replyTo { out += #","replyTo":"#; string(replyTo, &out) }
        out += #","turnID":""#; out += a.turnID.uuidString; out += "\""
        out += #"},"type":"agent"}"#
        return out
    }

    private static func string(_ s: String, _ out: inout String) { DirectJSON.string(s, into: &out) }

    private static func tagged(_ name: String, reason: String? = nil, _ out: inout String) {
        DirectJSON.tagged(name, reason: reason, into: &out)
    }

    private static func date(_ d: Date, _ out: inout String) { DirectJSON.date(d, into: &out) }
}
