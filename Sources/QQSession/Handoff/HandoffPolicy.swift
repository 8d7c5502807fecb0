import Foundation

/// How ownership and agent turns behave.
public struct HandoffPolicy: Sendable, Hashable {
    /// What an agent-owned conversation does with a message that arrives during a turn.
    public enum Busy: String, Sendable, Hashable, Codable {
        /// It goes into the next turn (with any others that arrive meanwhile).
        case queue
        /// The running turn is cancelled and a new one answers everything.
        case interrupt
    }
    /// The owner of a conversation qqtui has not seen before.
    public var defaultOwner: Owner = .human
    public var busy: Busy = .queue
    /// Handing a conversation to the agent while its newest message is an unanswered user message
    /// starts a turn at once (the user is waiting).
    public var answerPendingOnHandover = true
    /// The operator replying by hand in an agent-owned conversation takes it back (the agent stops
    /// talking over a colleague).
    public var operatorReplyTakesOver = true
    /// No first event from the agent within this long: the turn is cancelled.
    public var firstEventTimeout: Duration = .seconds(60)
    /// No event for this long in the middle of a turn: cancelled.
    public var idleTimeout: Duration = .seconds(120)
    /// A whole turn takes at most this long, the delivery of its reply included: a reply still
    /// streaming then is closed validly and marked failed.
    public var turnTimeout: Duration = .seconds(600)
    /// Agent turns running at once; more conversations wait for a free turn, the longest waiting first
    /// (a burst of thousands of questions must not start thousands of agents and streams at once).
    public var maxConcurrentTurns: Int = 64
    /// A reply longer than this many characters is cut there (with ``cutNotice`` for the user) and the
    /// agent is stopped: at one frame a second a runaway reply would otherwise stream for hours.
    public var maxReplyLength: Int = 20_000
    /// What the user reads where a reply was cut.
    public var cutNotice = "\n……（回复过长，已截断）"
    /// Messages of a conversation kept for the agent's context.
    public var historyMessages: Int = 40
    /// Conversations whose state (owner, transcript) stays in memory once idle; beyond about twice
    /// this many, the least recently used idle ones are let go and read back from the store when
    /// they are next used. An always-on bot meets new users every day: without a bound its memory
    /// grew with every user it ever answered.
    public var keptConversations: Int = 1000
    /// In groups, only messages that @-mention the bot start a turn (others are context); off: every
    /// group message the bot receives does.
    public var groupMentionOnly = true
    /// While the agent works on a C2C answer (before its first words reach QQ), show the user "typing"
    /// (`msg_type 6`, refreshed every ``typingRefresh``). It may spend a passive reply (one report
    /// says it shares the budget), so it is only sent while more than two replies are left: one for
    /// the answer and one for the operator. Off here; the app's config turns it on (`[agent] typing`).
    public var typing = false
    /// How often the typing notice is sent again while the agent has not written (it lasts 60 s).
    public var typingRefresh: Duration = .seconds(50)
    /// How long the agent may think before the first typing notice goes (`[agent] typing_after_ms`).
    /// A notice may spend one of the message's passive replies: an agent that answers sooner costs
    /// none, and the user would only have seen "typing" flash before the answer. Zero: at once.
    public var typingDelay: Duration = .seconds(1)
    /// Agent sessions in a group: one per member who addresses the bot (their questions never mix,
    /// each has their own context and, with ACP, their own agent session), or one for the whole group.
    public enum GroupSessions: String, Sendable, Hashable, Codable { case member, group }
    /// One session per group here; the app's config defaults to `member` (`[handoff] group_sessions`).
    public var groupSessions: GroupSessions = .group
    /// The label of a button under the agent's replies that hands the conversation to a person
    /// (`[handoff] human_button`, e.g. "转人工"); nil: no button.
    public var humanButton: String?
    /// The line the button comes with (one message after the agent's reply).
    public var humanButtonPrompt = "需要人工服务请点这里"
    /// What the user is told after pressing it, when that does not take the window's last passive
    /// reply (that one is the operator's); the button itself then reads ``humanButtonPressed``.
    public var humanAnswer = "已为您转接人工客服，请稍候，马上有人回复您。"
    /// The button's label once pressed (QQ shows it without any message: the confirmation that
    /// never costs a reply).
    public var humanButtonPressed = "已通知人工客服"
    /// The callback data of the human button.
    public static let humanButtonData = "qqtui:human"

    /// The human button as a keyboard (nil when there is none).
    public var humanButtonKeyboard: Keyboard? {
        guard let label = humanButton, !label.isEmpty else { return nil }
        return Keyboard(rows: [[.init(id: "qqtui-human", label: label, visitedLabel: humanButtonPressed, action: .callback,
                                      data: Self.humanButtonData, style: 1)]])
    }

    /// The defaults: human, queue, answer pending, operator takes over, 60 s / 120 s / 10 min, 40 messages.
    public init() {}
}
