/// A narrow decoder for the one frame shape that arrives by the thousand: a message dispatch
/// (`C2C_MESSAGE_CREATE`, `GROUP_AT_MESSAGE_CREATE`, `GROUP_MESSAGE_CREATE`) with plain fields, no
/// attachments, mentions or quote. It reads the UTF-8 bytes once, builds the same ``GatewayFrame``
/// the full decoder would, and gives up (nil) on anything else or anything unusual: another frame, a
/// field of an unexpected type, a duplicate key, a number that is not a plain integer, a lone
/// surrogate, invalid JSON anywhere. The caller then uses the full decoder, which decides.
/// FuzzGatewayFrameScannerTests fuzz it against the full decoder.
enum GatewayFrameScanner {
    /// The frame, or nil when the full decoder must decide.
    static func decode(_ text: String) -> GatewayFrame? {
        var text = text
        return text.withUTF8 { buffer in
            var scanner = JSONScanner(buffer)
            return scanner.gatewayFrame()
        }
    }
}

extension JSONScanner {
    // MARK: - The envelope

    mutating func gatewayFrame() -> GatewayFrame? {
        var op: Int?, seq: Int??, t: String??, id: String??, dStart: Int?
        skipSpace()
        let read = members { s, key in
            switch key {
            case "op":
                guard let v = s.integer() else { return false }
                op = v
            case "s":
                guard let v = s.optional({ $0.integer() }) else { return false }
                seq = .some(v)
            case "t":
                guard let v = s.optional({ $0.string() }) else { return false }
                t = .some(v)
            case "id":
                guard let v = s.optional({ $0.string() }) else { return false }
                id = .some(v)
            case "d":
                dStart = s.i
                return s.skipValue(depth: 0)
            default:
                return s.skipValue(depth: 0)
            }
            return true
        }
        guard read else { return nil }
        skipSpace()
        guard i == bytes.count, op == GatewayOpcode.dispatch, let type = t ?? nil,
              GatewayFrame.messageTypes.contains(type), let dStart else { return nil }
        i = dStart
        guard let payload = message() else { return nil }
        return GatewayFrame(op: GatewayOpcode.dispatch, s: seq ?? nil, t: type, id: id ?? nil, payload: .message(payload))
    }

    // MARK: - A message's `d`

    private mutating func message() -> MessagePayload? {
        var id: String?, content: String??, timestamp: String??, author: MessagePayload.Author??
        var groupOpenID: String??, groupID: String??, messageType: Int??
        let read = members { s, key in
            switch key {
            case "id": guard let v = s.string() else { return false }; id = v
            case "content": guard let v = s.optional({ $0.string() }) else { return false }; content = .some(v)
            case "timestamp": guard let v = s.optional({ $0.string() }) else { return false }; timestamp = .some(v)
            case "author": guard let v = s.optional({ $0.author() }) else { return false }; author = .some(v)
            case "group_openid": guard let v = s.optional({ $0.string() }) else { return false }; groupOpenID = .some(v)
            case "group_id": guard let v = s.optional({ $0.string() }) else { return false }; groupID = .some(v)
            case "message_type": guard let v = s.optional({ $0.integer() }) else { return false }; messageType = .some(v)
            // Only none at all: anything in them goes to the full decoder.
            case "attachments", "mentions": return s.emptyArrayOrNull()
            case "message_reference": return s.literal("null")
            default: return s.skipValue(depth: 1)
            }
            return true
        }
        guard read else { return nil }
        guard let id else { return nil }
        let noAuthor = MessagePayload.Author(id: nil, userOpenID: nil, memberOpenID: nil, unionOpenID: nil, username: nil, bot: nil, memberRole: nil)
        return MessagePayload(id: id, content: (content ?? nil) ?? "", timestamp: timestamp ?? nil, author: (author ?? nil) ?? noAuthor,
                              attachments: [], groupOpenID: groupOpenID ?? nil, groupID: groupID ?? nil,
                              messageType: messageType ?? nil, mentions: [], referencedMessageID: nil)
    }

    private mutating func author() -> MessagePayload.Author? {
        var a = MessagePayload.Author(id: nil, userOpenID: nil, memberOpenID: nil, unionOpenID: nil, username: nil, bot: nil, memberRole: nil)
        let read = members { s, key in
            switch key {
            case "id": guard let v = s.optional({ $0.string() }) else { return false }; a.id = v
            case "user_openid": guard let v = s.optional({ $0.string() }) else { return false }; a.userOpenID = v
            case "member_openid": guard let v = s.optional({ $0.string() }) else { return false }; a.memberOpenID = v
            case "union_openid": guard let v = s.optional({ $0.string() }) else { return false }; a.unionOpenID = v
            case "username": guard let v = s.optional({ $0.string() }) else { return false }; a.username = v
            case "member_role": guard let v = s.optional({ $0.string() }) else { return false }; a.memberRole = v
            case "bot": guard let v = s.optional({ $0.boolean() }) else { return false }; a.bot = v
            default: return s.skipValue(depth: 2)
            }
            return true
        }
        guard read else { return nil }
        return a
    }
}
