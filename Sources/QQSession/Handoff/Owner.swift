import Foundation

/// Who answers a conversation.
public enum Owner: String, Sendable, Hashable, Codable, CaseIterable {
    /// The operator answers; the agent never sees the messages as they come.
    case human
    /// The agent answers by itself; its reply streams to QQ.
    case agent
    /// The agent writes a draft for the operator; nothing reaches QQ until the operator sends it.
    case draft
}
