import Foundation

/// An agent's draft as the console holds it: the turn that wrote it, the user message it answers
/// (its msg_id, and its first line to show above the composer), and the text.
struct DraftItem: Sendable, Equatable {
    /// The agent turn (the session's draft id).
    var id: UUID
    /// The msg_id of the user message it answers.
    var replyTo: String?
    /// That message's first line (sanitized), or nil when it is not on screen.
    var question: String?
    var text: String
}
