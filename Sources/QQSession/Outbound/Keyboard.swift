import Foundation

/// Rows of buttons under a message (the platform's `keyboard`, open to every bot since 2026-04).
/// A callback button's press comes back as an ``Interaction``; a link button opens its URL.
public struct Keyboard: Sendable, Hashable, Codable {
    public struct Button: Sendable, Hashable, Codable {
        public enum Action: String, Sendable, Hashable, Codable {
            /// Opens `data` (a URL).
            case link
            /// Sends `data` back to the bot as `INTERACTION_CREATE`.
            case callback
            /// Puts `data` in the user's input box (a command to send).
            case command

            /// `action.type` on the wire.
            var wire: Int {
                switch self {
                case .link: return 0
                case .callback: return 1
                case .command: return 2
                }
            }
        }
        /// Unique in the keyboard.
        public var id: String
        public var label: String
        /// Shown after a press (the label when nil).
        public var visitedLabel: String?
        public var action: Action
        /// The URL, the callback data or the command.
        public var data: String
        /// 1 blue, 0 grey.
        public var style: Int

        public init(id: String, label: String, visitedLabel: String? = nil, action: Action = .callback, data: String, style: Int = 1) {
            self.id = id
            self.label = label
            self.visitedLabel = visitedLabel
            self.action = action
            self.data = data
            self.style = style
        }
    }

    public var rows: [[Button]]

    public init(rows: [[Button]]) { self.rows = rows }

    /// The platform's limits (qq-platform-2026.md §3; hermes-agent's keyboards): 5 rows of 5 buttons.
    public static let maxRows = 5
    public static let maxButtonsPerRow = 5
    /// Callback data the platform accepts (bytes).
    public static let maxData = 128

    /// Why the platform would refuse it (nil: it would not).
    public var problem: String? {
        if rows.isEmpty || rows.contains(where: \.isEmpty) { return "a keyboard needs at least one button in every row" }
        if rows.count > Self.maxRows { return "at most \(Self.maxRows) rows of buttons" }
        if rows.contains(where: { $0.count > Self.maxButtonsPerRow }) { return "at most \(Self.maxButtonsPerRow) buttons in a row" }
        var ids: Set<String> = []
        for b in rows.joined() {
            if b.label.trimmingCharacters(in: .whitespaces).isEmpty { return "a button has no label" }
            if b.data.isEmpty { return "button “\(b.label)” has no data" }
            if b.data.utf8.count > Self.maxData { return "button “\(b.label)”: data over \(Self.maxData) bytes" }
            if b.action == .link, !(b.data.hasPrefix("https://") || b.data.hasPrefix("http://")) {
                return "button “\(b.label)”: a link needs an http(s) URL"
            }
            if !ids.insert(b.id).inserted { return "two buttons have the id \(b.id)" }
        }
        return nil
    }

    /// The `keyboard` field of a message body.
    var json: JSONValue {
        .object(["content": .object(["rows": .array(rows.map { row in
            .object(["buttons": .array(row.map { b in
                .object([
                    "id": .string(b.id),
                    "render_data": .object(["label": .string(b.label), "visited_label": .string(b.visitedLabel ?? b.label),
                                            "style": .number(Double(b.style))]),
                    "action": .object(["type": .number(Double(b.action.wire)), "data": .string(b.data),
                                       "permission": .object(["type": .number(2)]), "unsupport_tips": .string(b.label)]),
                ])
            })])
        })])])
    }

    /// Buttons from the command line's short form: rows split by `;`, buttons by `,`, each `LABEL`
    /// (callback data = the label), `LABEL=DATA` (callback) or `LABEL=https://…` (a link).
    public static func parse(_ spec: String) throws(QQError) -> Keyboard {
        var rows: [[Button]] = []
        var n = 0
        for rowSpec in spec.split(separator: ";", omittingEmptySubsequences: true) {
            var row: [Button] = []
            for item in rowSpec.split(separator: ",", omittingEmptySubsequences: true) {
                let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                let label = pair[0], data = pair.count > 1 ? pair[1] : pair[0]
                n += 1
                let link = data.hasPrefix("https://") || data.hasPrefix("http://")
                row.append(Button(id: "b\(n)", label: label, action: link ? .link : .callback, data: data))
            }
            if !row.isEmpty { rows.append(row) }
        }
        let keyboard = Keyboard(rows: rows)
        if let problem = keyboard.problem { throw QQError(kind: .configuration, message: "buttons \"\(spec)\": \(problem)") }
        return keyboard
    }
}
