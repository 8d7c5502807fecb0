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
    /// The pages back to a search hit (for ``Effect/loadThrough``), newest first.
    case jumpLoaded(ConversationID, [StoredMessage], complete: Bool)
    /// `/search` results, newest first.
    case searchResults(query: String, [StoredMessage])
    /// An alias was saved.
    case aliasSet(openID: String, name: String?)
    /// A store read or write the console asked for failed.
    case storeFailed(String)
    /// A line for the status bar from the effect side (e.g. the notify command failed).
    case status(String, Notice.Level)
    /// From the serve this console is attached to.
    case attach(AttachEvent)
    /// SIGTERM, SIGHUP or SIGINT: leave cleanly.
    case quit
}

/// What the console asks the outside world to do (the runner performs it off the UI thread).
enum Effect: Sendable, Equatable {
    case send(String, to: ConversationID)
    /// Send again what failed, as the reply to the message it answered (`/retry`).
    case resend(String, replyTo: String?, to: ConversationID)
    /// Send a local file as `kind` (nil: from its name).
    case sendFile(path: String, kind: MediaKind?, to: ConversationID)
    /// An image's bytes (an attached console reads its file and sends them to serve).
    case sendFileData(Data, filename: String, kind: MediaKind, to: ConversationID)
    /// Send the agent's draft `id` (as edited by the operator) as the reply to the message it answers.
    case sendDraft(UUID, String, replyTo: String?, to: ConversationID)
    /// Drop the agent's draft `id` (the others stay).
    case discardDraft(UUID, ConversationID)
    case setOwner(Owner, ConversationID)
    /// Recall a sent message (its `out-…` or QQ id; nil: the last one sent here that can be).
    case recall(String?, ConversationID)
    case answerPermission(requestID: String, optionID: String?, ConversationID)
    /// Load a page older than the message `before` (nil: the newest page).
    case loadPage(ConversationID, before: String?)
    case markRead(ConversationID)
    case setAlias(openID: String, name: String?)
    /// Search every stored message, or one conversation's.
    case search(String, in: ConversationID?)
    /// Load pages older than `before` (nil: from the newest) until the message `uid` is among them.
    case loadThrough(ConversationID, uid: String, before: String?)
    case reconnect
    /// Tells the other consoles which conversation is on screen and whether a reply is being typed.
    case presence(ConversationID?, typing: Bool)
    case bell
    case notify(title: String, body: String)
    /// Repaint everything (Ctrl-L).
    case redraw
    case quit
}

extension Effect {
    /// The conversation this effect sends something to (nil: it sends nothing to QQ).
    var sendsTo: ConversationID? {
        switch self {
        case .send(_, let id), .resend(_, _, let id), .sendFile(_, _, let id), .sendFileData(_, _, _, let id),
             .sendDraft(_, _, _, let id):
            id
        default:
            nil
        }
    }
}
