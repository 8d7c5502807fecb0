/// A conversation: a private chat with one user, or a group.
public enum ConversationID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// C2C (private) chat with the user of this openid.
    case c2c(String)
    /// The group of this group_openid.
    case group(String)

    /// `c2c:<openid>` or `group:<group_openid>` (also the agent's `QQTUI_CONVERSATION`).
    public var description: String {
        switch self {
        case .c2c(let id): return "c2c:" + id
        case .group(let id): return "group:" + id
        }
    }

    /// Parses the `description` form.
    public init?(_ text: String) {
        if text.hasPrefix("c2c:"), text.count > 4 { self = .c2c(String(text.dropFirst(4))) }
        else if text.hasPrefix("group:"), text.count > 6 { self = .group(String(text.dropFirst(6))) }
        else { return nil }
    }

    /// The openid part.
    public var openID: String {
        switch self { case .c2c(let id), .group(let id): return id }
    }

    /// True for a group.
    public var isGroup: Bool { if case .group = self { return true }; return false }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = ConversationID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a conversation id: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
