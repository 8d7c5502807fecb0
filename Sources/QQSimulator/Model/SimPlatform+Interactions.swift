import Foundation

/// A button press the simulator dispatched, and whether the bot acknowledged it.
public struct SimInteraction: Sendable, Codable, Hashable {
    public var id: String
    public var isGroup: Bool
    public var target: String
    public var user: String
    public var buttonID: String
    public var data: String
    public var at: Date
    /// When `PUT /interactions/{id}` arrived, and the code it carried.
    public var ackedAt: Date?
    public var ackCode: Int?
}

extension SimPlatform {
    /// Intent bit of INTERACTION_CREATE.
    static let interactionIntent = 1 << 26

    /// Why the platform refuses a message's `keyboard` (nil: it is valid). Keyboards go with markdown.
    func keyboardProblem(_ keyboard: JSONBody, msgType: Int) -> String? {
        guard msgType == 2 else { return "keyboard 只能随 markdown 消息发送" }
        guard let rows = keyboard["content"]?["rows"]?.array, !rows.isEmpty else { return "keyboard.content.rows 为空" }
        guard rows.count <= 5 else { return "keyboard 最多 5 行" }
        var ids: Set<String> = []
        for row in rows {
            guard let buttons = row["buttons"]?.array, !buttons.isEmpty, buttons.count <= 5 else { return "每行 1 到 5 个按钮" }
            for b in buttons {
                guard let id = b["id"]?.string, !id.isEmpty, ids.insert(id).inserted else { return "按钮 id 缺失或重复" }
                guard let label = b["render_data"]?["label"]?.string, !label.isEmpty else { return "按钮 render_data.label 缺失" }
                guard let type = b["action"]?["type"]?.int, (0...2).contains(type) else { return "按钮 action.type 无效" }
                guard let data = b["action"]?["data"]?.string, !data.isEmpty else { return "按钮 action.data 缺失" }
                guard b["action"]?["permission"]?["type"]?.int != nil else { return "按钮 action.permission 缺失" }
                if type == 0, !(data.hasPrefix("http://") || data.hasPrefix("https://")) { return "链接按钮的 data 须为 URL" }
            }
        }
        return nil
    }

    /// Keeps the callback buttons of an accepted message (a press must name one the bot sent).
    func rememberButtons(_ keyboard: JSONBody?, isGroup: Bool, target: String) {
        guard let rows = keyboard?["content"]?["rows"]?.array else { return }
        for b in rows.compactMap({ $0["buttons"]?.array }).joined() where b["action"]?["type"]?.int == 1 {
            if let id = b["id"]?.string, let data = b["action"]?["data"]?.string {
                sentButtons.append((isGroup, target, id, data, b["render_data"]?["label"]?.string ?? id))
            }
        }
    }

    /// A simulated user presses a callback button the bot sent them (by label, id or data): dispatches
    /// INTERACTION_CREATE to sessions subscribed to the interaction intent. Nil when the bot never
    /// sent such a button to that conversation.
    public func userPresses(button: String, user: String, group: String? = nil) -> SimInteraction? {
        let isGroup = group != nil
        let target = group ?? user
        guard let sent = sentButtons.last(where: {
            $0.isGroup == isGroup && $0.target == target && ($0.label == button || $0.id == button || $0.data == button)
        }) else { return nil }
        let id = "INTERACTION_CREATE:" + SimJSON.randomToken(32)
        var d: [String: JSONBody] = [
            "id": .string(id), "type": .number(11), "chat_type": .number(isGroup ? 1 : 2),
            "scene": .string(isGroup ? "group" : "c2c"), "timestamp": .string(SimJSON.timestamp(clock.now())),
            "version": .number(1), "application_id": .string(configuration.appID),
            "data": .object(["type": .number(11), "resolved": .object([
                "button_data": .string(sent.data), "button_id": .string(sent.id), "user_id": .string(user)])]),
        ]
        if let group {
            d["group_openid"] = .string(group)
            d["group_member_openid"] = .string(user)
        } else {
            d["user_openid"] = .string(user)
        }
        let press = SimInteraction(id: id, isGroup: isGroup, target: target, user: user, buttonID: sent.id, data: sent.data, at: clock.now())
        interactions.append(press)
        _ = dispatch(type: "INTERACTION_CREATE", payload: .object(d), intent: Self.interactionIntent, routeKey: target, eventID: id)
        return press
    }

    /// `PUT /interactions/{id}`: the bot acknowledges a press.
    func acknowledge(interaction id: String, body: JSONBody?, path: String) -> SendOutcome {
        let outcome: SendOutcome
        if let i = interactions.firstIndex(where: { $0.id == id }) {
            if interactions[i].ackedAt == nil {
                interactions[i].ackedAt = clock.now()
                interactions[i].ackCode = body?["code"]?.int
            }
            outcome = SendOutcome(status: 200)
        } else {
            // Undocumented on the platform; the simulator's choice.
            outcome = .refused(11255, "interaction 不存在", status: 404)
        }
        record(method: "PUT", path: path, body: body, status: outcome.status, code: outcome.code, message: outcome.message, id: nil)
        return outcome
    }

    /// Every press dispatched, with its acknowledgement.
    public func pressed() -> [SimInteraction] { interactions }
}
