/// Gateway intents: the bitmask in Identify that says which events the bot subscribes to.
public struct Intents: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let guilds = Intents(rawValue: 1 << 0)
    public static let guildMembers = Intents(rawValue: 1 << 1)
    public static let guildMessages = Intents(rawValue: 1 << 9)
    public static let guildMessageReactions = Intents(rawValue: 1 << 10)
    public static let directMessage = Intents(rawValue: 1 << 12)
    public static let openForumsEvent = Intents(rawValue: 1 << 18)
    public static let audioOrLiveChannelMember = Intents(rawValue: 1 << 19)
    /// `GROUP_AND_C2C_EVENT` (1<<25): C2C, group @-messages, friend and group robot events.
    public static let groupAndC2C = Intents(rawValue: 1 << 25)
    public static let interaction = Intents(rawValue: 1 << 26)
    public static let messageAudit = Intents(rawValue: 1 << 27)
    public static let forumsEvent = Intents(rawValue: 1 << 28)
    public static let audioAction = Intents(rawValue: 1 << 29)
    public static let publicGuildMessages = Intents(rawValue: 1 << 30)

    /// Names accepted in the config (`intents = ["group_and_c2c"]`), with the SDKs' aliases.
    public static let byName: [String: Intents] = [
        "guilds": .guilds,
        "guild_members": .guildMembers,
        "guild_messages": .guildMessages,
        "guild_message_reactions": .guildMessageReactions,
        "direct_message": .directMessage,
        "open_forums_event": .openForumsEvent,
        "audio_or_live_channel_member": .audioOrLiveChannelMember,
        "group_and_c2c": .groupAndC2C,
        "group_and_c2c_event": .groupAndC2C,
        "public_messages": .groupAndC2C,
        "c2c_group_at_messages": .groupAndC2C,
        "interaction": .interaction,
        "message_audit": .messageAudit,
        "forums_event": .forumsEvent,
        "audio_action": .audioAction,
        "public_guild_messages": .publicGuildMessages,
    ]

    /// Every bit the platform documents; anything else is refused at config load.
    public static let documented: Intents = byName.values.reduce(Intents()) { $0.union($1) }

    /// Parses a list of names; returns the first unknown name on failure.
    public static func parse(names: [String]) -> Result<Intents, UnknownIntent> {
        var out = Intents()
        for raw in names {
            let name = raw.lowercased().replacingOccurrences(of: "-", with: "_")
            guard let bit = byName[name] else { return .failure(UnknownIntent(name: raw)) }
            out.formUnion(bit)
        }
        return .success(out)
    }

    /// An intent name that is not in ``byName``.
    public struct UnknownIntent: Error, Sendable { public let name: String }
}
