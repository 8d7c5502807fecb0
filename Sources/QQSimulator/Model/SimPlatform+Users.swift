import Foundation

extension SimPlatform {
    /// Intent bit of group and C2C events.
    static let groupAndC2CIntent = 1 << 25

    /// A simulated user writes to the bot in private: dispatches C2C_MESSAGE_CREATE.
    public func userSendsC2C(userOpenID: String, content: String, attachments: [SimAttachment] = [],
                             messageID: String? = nil) -> SimDispatchResult {
        let id = messageID ?? SimJSON.messageID()
        let eventID = "C2C_MESSAGE_CREATE:" + SimJSON.randomToken(40)
        let d: JSONBody = .object([
            "id": .string(id),
            "content": .string(content),
            "timestamp": .string(SimJSON.timestamp(clock.now())),
            "author": .object(["id": .string(userOpenID), "user_openid": .string(userOpenID),
                               "union_openid": .string(""), "username": .string(""), "bot": .bool(false)]),
            "attachments": .array(attachments.map(attachmentJSON)),
            "message_type": .number(0),
            "message_scene": .object(["source": .string("default"), "ext": .array([])]),
        ])
        remember(UserMessage(id: id, eventID: eventID, isGroup: false, target: userOpenID, createdAt: clock.now()))
        let n = dispatch(type: "C2C_MESSAGE_CREATE", payload: d, intent: Self.groupAndC2CIntent,
                         routeKey: userOpenID, eventID: eventID)
        return SimDispatchResult(id: id, eventID: eventID, delivered: n)
    }

    /// A simulated member writes in a group: GROUP_AT_MESSAGE_CREATE when they @-mention the bot
    /// (content with the platform's leading space, no tag; `inlineMention` puts `<@!botid>` in),
    /// else GROUP_MESSAGE_CREATE.
    public func userSendsGroup(groupOpenID: String, memberOpenID: String, content: String, mentionBot: Bool = true,
                               inlineMention: Bool = false, attachments: [SimAttachment] = [],
                               role: String = "member", messageID: String? = nil) -> SimDispatchResult {
        let id = messageID ?? SimJSON.messageID()
        let type = mentionBot ? "GROUP_AT_MESSAGE_CREATE" : "GROUP_MESSAGE_CREATE"
        let eventID = type + ":" + SimJSON.randomToken(40)
        let text = mentionBot ? (inlineMention ? "<@!\(configuration.botID)> " + content : " " + content) : content
        let d: JSONBody = .object([
            "id": .string(id),
            "content": .string(text),
            "timestamp": .string(SimJSON.timestamp(clock.now())),
            "group_id": .string(groupOpenID),
            "group_openid": .string(groupOpenID),
            "author": .object(["id": .string(memberOpenID), "member_openid": .string(memberOpenID),
                               "union_openid": .string(""), "member_role": .string(role), "bot": .bool(false)]),
            "attachments": .array(attachments.map(attachmentJSON)),
            "mentions": .array(mentions(in: content)),
            "message_type": .number(0),
            "message_scene": .object(["source": .string("default"), "ext": .array([])]),
        ])
        remember(UserMessage(id: id, eventID: eventID, isGroup: true, target: groupOpenID, createdAt: clock.now()))
        let n = dispatch(type: type, payload: d, intent: Self.groupAndC2CIntent, routeKey: groupOpenID, eventID: eventID)
        return SimDispatchResult(id: id, eventID: eventID, delivered: n)
    }

    /// Any dispatch, e.g. GROUP_ADD_ROBOT or FRIEND_ADD, with the group/C2C intent.
    public func dispatchEvent(type: String, payload: JSONBody, intent: Int = 1 << 25) -> SimDispatchResult {
        let eventID = type + ":" + SimJSON.randomToken(40)
        let key = payload["group_openid"]?.string ?? payload["openid"]?.string ?? type
        // Events a bot may answer by event_id (qq-protocol.md §6.2).
        if ["FRIEND_ADD", "C2C_MSG_RECEIVE"].contains(type), let user = payload["openid"]?.string {
            eventsByID[eventID] = UserMessage(id: eventID, eventID: eventID, isGroup: false, target: user, createdAt: clock.now())
        } else if ["GROUP_ADD_ROBOT", "GROUP_MSG_RECEIVE"].contains(type), let group = payload["group_openid"]?.string {
            eventsByID[eventID] = UserMessage(id: eventID, eventID: eventID, isGroup: true, target: group, createdAt: clock.now())
        }
        let n = dispatch(type: type, payload: payload, intent: intent, routeKey: key, eventID: eventID)
        return SimDispatchResult(id: payload["id"]?.string ?? eventID, eventID: eventID, delivered: n)
    }

    /// The platform lists the members tagged in a message (not the bot itself) in `mentions`.
    private func mentions(in content: String) -> [JSONBody] {
        var out: [JSONBody] = []
        var rest = Substring(content)
        while let open = rest.range(of: "<@") {
            let after = rest[open.upperBound...]
            guard let close = after.firstIndex(of: ">") else { break }
            var id = after[..<close]
            if id.hasPrefix("!") { id = id.dropFirst() }
            if !id.isEmpty, id != Substring(configuration.botID) {
                out.append(.object(["scope": .string("single"), "id": .string(String(id)), "member_openid": .string(String(id)),
                                    "is_you": .bool(false), "bot": .bool(false), "username": .string("")]))
            }
            rest = after[after.index(after: close)...]
        }
        return out
    }

    func remember(_ message: UserMessage) {
        userMessages[message.id] = message
        eventsByID[message.eventID] = message
        // Forget what no reply can reference any more.
        // Checked when the count doubles, not on every message: a million recent messages (a
        // benchmark) would otherwise filter the whole table per message.
        if userMessages.count > rememberCheckAt {
            let horizon = clock.now().addingTimeInterval(-configuration.c2cReplyWindow.seconds)
            userMessages = userMessages.filter { $0.value.createdAt > horizon }
            eventsByID = eventsByID.filter { $0.value.createdAt > horizon }
            rememberCheckAt = max(200_000, userMessages.count * 2)
        }
    }

    private func attachmentJSON(_ a: SimAttachment) -> JSONBody {
        var url = a.url ?? ""
        if let data = a.data { url = host(data: data, filename: a.filename, contentType: a.contentType) }
        var o: [String: JSONBody] = ["content_type": .string(a.contentType), "filename": .string(a.filename), "url": .string(url)]
        if let w = a.width { o["width"] = .number(Double(w)) }
        if let h = a.height { o["height"] = .number(Double(h)) }
        if let s = a.size ?? a.data?.count { o["size"] = .number(Double(s)) }
        return .object(o)
    }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
