/// Gateway intents: the bitmask in Identify that says which events the bot subscribes to.
public struct Intents: OptionSet, Sendable, Hashable, Codable {
    /// The bitmask sent in Identify.
    public let rawValue: Int
    /// Intents from a bitmask.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// GUILDS (1<<0): guild and channel changes.
    public static let guilds = Intents(rawValue: 1 << 0)
    /// GUILD_MEMBERS (1<<1).
    public static let guildMembers = Intents(rawValue: 1 << 1)
    /// GUILD_MESSAGES (1<<9), private-domain bots only.
    public static let guildMessages = Intents(rawValue: 1 << 9)
    /// GUILD_MESSAGE_REACTIONS (1<<10).
    public static let guildMessageReactions = Intents(rawValue: 1 << 10)
    /// DIRECT_MESSAGE (1<<12): guild direct messages.
    public static let directMessage = Intents(rawValue: 1 << 12)
    /// OPEN_FORUMS_EVENT (1<<18).
    public static let openForumsEvent = Intents(rawValue: 1 << 18)
    /// AUDIO_OR_LIVE_CHANNEL_MEMBER (1<<19).
    public static let audioOrLiveChannelMember = Intents(rawValue: 1 << 19)
    /// ENTER_AIO (1<<23): named by botgo only, not in the official list.
    public static let enterAIO = Intents(rawValue: 1 << 23)
    /// GROUP_MEMBER_ADD/REMOVE (1<<24): named by nonebot only, not in the official list.
    public static let groupMembers = Intents(rawValue: 1 << 24)
    /// `GROUP_AND_C2C_EVENT` (1<<25): C2C, group @-messages, friend and group robot events.
    public static let groupAndC2C = Intents(rawValue: 1 << 25)
    /// INTERACTION (1<<26): button callbacks.
    public static let interaction = Intents(rawValue: 1 << 26)
    /// MESSAGE_AUDIT (1<<27).
    public static let messageAudit = Intents(rawValue: 1 << 27)
    /// FORUMS_EVENT (1<<28), private-domain bots only.
    public static let forumsEvent = Intents(rawValue: 1 << 28)
    /// AUDIO_ACTION (1<<29).
    public static let audioAction = Intents(rawValue: 1 << 29)
    /// PUBLIC_GUILD_MESSAGES (1<<30): @-messages in guild channels.
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
        "enter_aio": .enterAIO,
        "group_members": .groupMembers,
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
    public struct UnknownIntent: Error, Sendable {
        /// The name as written.
        public let name: String
    }
}
