import Foundation

/// The path and body of one C2C stream frame, for either API (the reply writer's frames and the
/// closing frame a restart sends for a stream a crash left open).
enum StreamFrameBody {
    static func make(sender: OutboundSender, conversation: ConversationID, text: String, state: Int, index: Int,
                     streamID: String?, msgID: String, seq: Int?) -> (path: String, body: [String: JSONValue]) {
        let base = OutboundSender.base(conversation)
        let markdown = sender.useMarkdown
        var body: [String: JSONValue]
        let path: String
        if sender.configuration.stream.api == .streamMessages {
            path = base + "/stream_messages"
            body = ["input_mode": .string("append"), "input_state": .number(Double(state)),
                    "index": .number(Double(index)), "content_type": .string(markdown ? "markdown" : "text"),
                    "content_raw": .string(text), "msg_id": .string(msgID)]
            if let streamID { body["stream_msg_id"] = .string(streamID) }
        } else {
            path = base + "/messages"
            body = sender.textBody(text, markdown: markdown)
            body["msg_id"] = .string(msgID)
            var stream: [String: JSONValue] = ["state": .number(Double(state)), "index": .number(Double(index)),
                                               "reset": .bool(false)]
            if let streamID { stream["id"] = .string(streamID) }   // the first frame has no id key at all
            body["stream"] = .object(stream)
        }
        if let seq { body["msg_seq"] = .number(Double(seq)) }
        return (path, body)
    }
}
