import Foundation
import QQSession
import Synchronization

/// Serve's side of the attached consoles: it sees every session event once (from serve's own
/// consumer), keeps what a late joiner needs (running turns, routes, presence), and fans each event
/// out to every console's bounded queue. Publishing never waits: a console that cannot keep up is
/// dropped to a snapshot (see ``ConsoleQueue``).
final class ServeHub: Sendable {
    struct Console {
        let queue: ConsoleQueue
        var presence: PresenceEntry
        let connectedAt: Date
    }

    struct State {
        var consoles: [Int: Console] = [:]
        var nextID = 1
        var gateway = GatewayStatus()
        var turns: [UUID: TurnSnapshot] = [:]
        var routes: [ConversationID: ReplyRoute] = [:]
        /// Drafts a console sent or dropped, and by whom (another console's Enter must not send them again).
        var takenDrafts: [UUID: String] = [:]
        var takenOrder: [UUID] = []
    }

    let session: Session
    let socketPath: String
    let storePath: String
    let agentName: String?
    let startedAt = Date()
    /// Bytes held at most for one console before it is dropped to a snapshot.
    let queueLimit: Int
    private let state = Mutex(State())
    /// True while at least one console is attached.
    private let attached = Atomic<Bool>(false)

    init(session: Session, socketPath: String, storePath: String, agentName: String?, queueLimit: Int = 4 << 20) {
        self.session = session
        self.socketPath = socketPath
        self.storePath = storePath
        self.agentName = agentName
        self.queueLimit = queueLimit
        state.withLock { $0.gateway = session.status }
    }

    // MARK: - Events

    /// One session event, in order (serve's event consumer calls this for every event).
    func publish(_ event: SessionEvent) {
        // With no console attached (most of a service's life) only the turns and the gateway are kept.
        guard attached.load(ordering: .acquiring) else {
            state.withLock { track(event, in: &$0) }
            return
        }
        let conversation = Self.conversation(of: event)
        let route = conversation.flatMap { session.route(for: $0) }
        state.withLock { s in
            track(event, in: &s)
            let listening = s.consoles.values.filter { !$0.queue.isLagging }
            guard !s.consoles.isEmpty else { return }
            if !listening.isEmpty {
                var line = ServerLine(t: "event")
                line.event = event
                let data = ControlProtocol.line(line)
                for c in listening { c.queue.push(data) }
            }
            if let conversation, let route, s.routes[conversation] != route {
                s.routes[conversation] = route
                broadcastRoute(conversation, route, in: s)
            }
        }
    }

    /// Re-reads the routes of passive windows that ended (a countdown at zero turns proactive or refused).
    func refreshExpiredRoutes(now: Date = Date()) {
        let expired: [ConversationID] = state.withLock { s in
            s.routes.compactMap { id, route in
                switch route {
                case .passive(_, let ends, _), .passiveEvent(_, let ends, _): return ends <= now ? id : nil
                default: return nil
                }
            }
        }
        guard !expired.isEmpty else { return }
        let fresh = expired.map { ($0, session.route(for: $0)) }
        state.withLock { s in
            for (id, route) in fresh where s.routes[id] != route {
                s.routes[id] = route
                broadcastRoute(id, route, in: s)
            }
        }
    }

    private func broadcastRoute(_ id: ConversationID, _ route: ReplyRoute, in s: State) {
        var line = ServerLine(t: "route")
        line.conversation = id
        line.route = route
        let data = ControlProtocol.line(line)
        for c in s.consoles.values { c.queue.push(data) }
    }

    /// Keeps the running turns (with their text so far) and the gateway status.
    private func track(_ event: SessionEvent, in s: inout State) {
        switch event {
        case .gateway(let status):
            s.gateway = status
        case .agent(let a):
            switch a.kind {
            case .started(let mode, let backend, let outboundID, _):
                s.turns[a.turnID] = TurnSnapshot(conversation: a.conversation, turnID: a.turnID, mode: mode, backend: backend,
                                                 outboundID: outboundID, replyTo: a.replyTo, startedAt: a.at, text: "",
                                                 member: a.member)
            case .event(.textDelta(let text)):
                s.turns[a.turnID]?.text += text
            case .event(.segmentBreak):
                if s.turns[a.turnID]?.text.hasSuffix("\n") == false { s.turns[a.turnID]?.text += "\n" }
            case .finished:
                s.turns[a.turnID] = nil
            default:
                break
            }
        default:
            break
        }
    }

    static func conversation(of event: SessionEvent) -> ConversationID? {
        switch event {
        case .message(let m): return m.conversation
        case .outbound(let m): return m.conversation
        case .streamFrame(let f): return f.conversation
        case .ownership(let c): return c.conversation
        case .agent(let a): return a.conversation
        case .conversation(let e): return e.conversation
        case .recall(let r): return r.conversation
        case .interaction(let i): return i.conversation
        case .gateway, .raw, .notice: return nil
        }
    }

    // MARK: - Consoles

    /// Adds a console; it gets a snapshot first.
    func attach(operatorName: String) -> (id: Int, queue: ConsoleQueue) {
        let queue = ConsoleQueue(limit: queueLimit)
        let id: Int = state.withLock { s in
            let id = s.nextID
            s.nextID += 1
            s.consoles[id] = Console(queue: queue, presence: PresenceEntry(console: id, operatorName: operatorName), connectedAt: Date())
            // Routes were not followed while nobody watched (and the new console's snapshot reads them
            // fresh): the next event of each conversation sends its route again.
            s.routes.removeAll()
            attached.store(true, ordering: .releasing)
            return id
        }
        queue.ring()
        broadcastPresence()
        return (id, queue)
    }

    /// Removes a console (closed, killed or refused).
    func detach(_ id: Int) {
        let queue: ConsoleQueue? = state.withLock { s in
            let queue = s.consoles.removeValue(forKey: id)?.queue
            if s.consoles.isEmpty { attached.store(false, ordering: .releasing) }
            return queue
        }
        queue?.close()
        if queue != nil { broadcastPresence() }
    }

    /// The conversation a console shows and whether its operator types there.
    func setPresence(_ id: Int, open: ConversationID?, typing: Bool) {
        let changed: Bool = state.withLock { s in
            guard var c = s.consoles[id] else { return false }
            let before = c.presence
            c.presence.open = open
            c.presence.typingAt = typing ? Date() : nil
            s.consoles[id] = c
            return before.open != open || (before.typingAt != nil) != typing || typing
        }
        if changed { broadcastPresence() }
    }

    /// A line for every console.
    func broadcast(_ line: ServerLine) {
        let data = ControlProtocol.line(line)
        state.withLock { s in for c in s.consoles.values { c.queue.push(data) } }
    }

    private func broadcastPresence() {
        state.withLock { s in
            var line = ServerLine(t: "presence")
            line.consoles = s.consoles.values.map(\.presence).sorted { $0.console < $1.console }
            let data = ControlProtocol.line(line)
            for c in s.consoles.values { c.queue.push(data) }
        }
    }

    /// What to write to console `id` next: the in-memory part of a snapshot when it needs one (taken
    /// under the lock every event passes, so no event falls between it and the lines after), else lines.
    func next(for id: Int) -> (snapshot: PartialSnapshot?, lines: [Data]) {
        state.withLock { s in
            guard let c = s.consoles[id] else { return (nil, []) }
            return c.queue.take {
                PartialSnapshot(gateway: s.gateway, turns: s.turns.values.sorted { $0.startedAt < $1.startedAt },
                                consoles: s.consoles.values.map(\.presence).sorted { $0.console < $1.console })
            }
        }
    }

    /// The part of a snapshot serve holds in memory.
    struct PartialSnapshot: Sendable {
        var gateway: GatewayStatus
        var turns: [TurnSnapshot]
        var consoles: [PresenceEntry]
    }

    /// Completes a snapshot from the store and the session.
    func complete(_ part: PartialSnapshot) async -> ControlSnapshot {
        var conversations: [ConversationSummary] = []
        var aliases: [String: String] = [:]
        if let store = session.store {
            conversations = (try? await store.conversations(limit: 5000)) ?? []
            aliases = (try? await store.aliases()) ?? [:]
        }
        let drafts = await session.allDrafts().values.flatMap { $0 }
        let taken = state.withLock { $0.takenDrafts }
        let routes: [ControlSnapshot.RouteEntry] = conversations.map { .init(conversation: $0.id, route: session.route(for: $0.id)) }
        return ControlSnapshot(gateway: part.gateway, agentName: agentName, conversations: conversations, aliases: aliases,
                               routes: routes, drafts: drafts.filter { taken[$0.id] == nil }, turns: part.turns,
                               consoles: part.consoles, c2cBudget: session.configuration.replyWindow.c2cBudget,
                               groupBudget: session.configuration.replyWindow.groupBudget)
    }

    /// Claims a draft for a console: nil when it is free (now taken), else who took it before.
    func claimDraft(_ draft: UUID, in conversation: ConversationID, by name: String, console: Int) -> String? {
        let previous: String? = state.withLock { s in
            if let who = s.takenDrafts[draft] { return who }
            s.takenDrafts[draft] = name
            s.takenOrder.append(draft)
            if s.takenOrder.count > 2000 { s.takenDrafts[s.takenOrder.removeFirst()] = nil }
            return nil
        }
        guard previous == nil else { return previous }
        var line = ServerLine(t: "draft_taken")
        line.conversation = conversation
        line.draft = draft
        line.by = name
        let data = ControlProtocol.line(line)
        state.withLock { s in
            for (id, c) in s.consoles where id != console { c.queue.push(data) }
        }
        return nil
    }

    /// `qqtui status`.
    func status() async -> ServeStatus {
        var waiting = 0
        if let store = session.store, let list = try? await store.conversations(limit: 100_000) {
            waiting = list.filter { $0.waitingSince != nil }.count
        }
        return state.withLock { s in
            ServeStatus(pid: getpid(), startedAt: startedAt, appID: session.configuration.appID, socket: socketPath, store: storePath,
                        gateway: s.gateway, agent: agentName,
                        consoles: s.consoles.values.sorted { $0.presence.console < $1.presence.console }.map {
                            .init(console: $0.presence.console, operatorName: $0.presence.operatorName, open: $0.presence.open,
                                  connectedAt: $0.connectedAt, queuedBytes: $0.queue.queuedBytes, resyncs: $0.queue.resyncs)
                        },
                        waiting: waiting, agentTurns: s.turns.count)
        }
    }
}
