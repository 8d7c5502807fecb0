import Foundation
import QQSession

/// Everything the console reacts to: the session's events, keys, and answers to its own effects.
enum AppEvent: Sendable {
    case session(SessionEvent)
    case key(Key)
    /// The store's conversation list at start (with the operator's aliases).
    case conversationsLoaded([ConversationSummary], aliases: [String: String])
    /// A page of a conversation, newest first; `complete` when nothing older is left.
    case pageLoaded(ConversationID, [StoredMessage], complete: Bool)
    /// `/search` results, newest first.
    case searchResults(query: String, [StoredMessage])
    /// An alias was saved.
    case aliasSet(openID: String, name: String?)
    /// A store read or write the console asked for failed.
    case storeFailed(String)
    /// A line for the status bar from the effect side (e.g. the notify command failed).
    case status(String, Notice.Level)
    /// SIGTERM, SIGHUP or SIGINT: leave cleanly.
    case quit
}

/// What the console asks the outside world to do (the runner performs it off the UI thread).
enum Effect: Sendable, Equatable {
    case send(String, to: ConversationID)
    case sendImage(path: String, to: ConversationID)
    /// Send the agent's draft as edited by the operator.
    case sendDraft(String, to: ConversationID)
    case discardDraft(ConversationID)
    case setOwner(Owner, ConversationID)
    case answerPermission(requestID: String, optionID: String?, ConversationID)
    /// Load a page older than the message `before` (nil: the newest page).
    case loadPage(ConversationID, before: String?)
    case markRead(ConversationID)
    case setAlias(openID: String, name: String?)
    case search(String)
    case reconnect
    case bell
    case notify(title: String, body: String)
    /// Repaint everything (Ctrl-L).
    case redraw
    case quit
}
