/// How a cell is drawn. The terminal maps each style to attributes and a colour pair; snapshots ignore it.
enum Style: UInt8, Sendable, CaseIterable {
    case normal, bold, dim, reverse
    /// The top status bar.
    case bar
    /// The selected conversation in the list.
    case selected
    /// Owner badges.
    case human, agent, draft
    /// Errors, warnings, good news.
    case error, warning, ok
    /// Sender names, headers.
    case accent
    /// The demo banner.
    case banner
    /// Group members' names (one colour each, picked by openid).
    case member1, member2, member3, member4, member5
    /// A search hit in the messages.
    case highlight

    static let members: [Style] = [.member1, .member2, .member3, .member4, .member5]
}

/// A rectangle of cells on the screen.
struct Rect: Sendable, Hashable {
    var row: Int
    var col: Int
    var height: Int
    var width: Int

    /// True when it has no cells.
    var isEmpty: Bool { height <= 0 || width <= 0 }
}
