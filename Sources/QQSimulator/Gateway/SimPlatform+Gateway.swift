import Foundation

extension SimPlatform {
    // MARK: - Sockets

    /// True when the socket was frozen by the freeze fault (its reader must stop reading).
    func isFrozen(_ id: Int) -> Bool { !stopping && (connections[id]?.frozen ?? false) }

    /// Whether a WebSocket upgrade must be refused now (the refuse_connections fault).
    func shouldRefuseUpgrade() -> Bool {
        let now = clock.now()
        var refuse = refuseForever
        if let until = refuseUntil {
            if now < until { refuse = true } else { refuseUntil = nil }
        }
        if let count = refuseCount {
            if count > 0 { refuse = true; refuseCount = count > 1 ? count - 1 : nil } else { refuseCount = nil }
        }
        if refuse { stats.upgradesRefused += 1 }
        return refuse
    }

    /// Registers a new socket; Hello is queued first.
    func openConnection() -> (id: Int, outbox: AsyncStream<Outgoing>) {
        nextConnectionID += 1
        let (stream, continuation) = AsyncStream.makeStream(of: Outgoing.self)
        let connection = Connection(id: nextConnectionID, outbox: continuation)
        connection.lastHeartbeat = clock.now()
        connections[connection.id] = connection
        stats.connectionsOpened += 1
        stats.maxConcurrentConnections = max(stats.maxConcurrentConnections, connections.count)
        if withholdHellos > 0 {
            withholdHellos -= 1
            connection.silent = true
        } else {
            connection.send(#"{"op":10,"d":{"heartbeat_interval":\#(configuration.heartbeatIntervalMs)}}"#)
        }
        return (connection.id, stream)
    }

    /// The socket is gone; its session stays resumable for `resumeWindow`.
    func connectionClosed(_ id: Int) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        connection.outbox.finish()
        if let sid = connection.sessionID, let session = sessions[sid], session.connectionID == id {
            session.connectionID = nil
            session.disconnectedAt = clock.now()
        }
    }

    // MARK: - Frames from the client

    /// Applies one frame a client sent.
    func receive(_ text: String, from id: Int) {
        guard let connection = connections[id], !connection.frozen else { return }
        if connection.closing {
            // A Resume that crossed a non-resumable op 9 on the wire names the session the platform refused.
            if connection.refusesResume, let frame = JSONBody.parse(Data(text.utf8)), frame["op"]?.int == 6,
               let sid = frame["d"]?["session_id"]?.string {
                discardSession(sid)
            }
            return
        }
        guard let frame = JSONBody.parse(Data(text.utf8)), let op = frame["op"]?.int else {
            connection.close(4002, "invalid payload")
            return
        }
        if connection.silent { return }
        switch op {
        case 1:
            stats.heartbeats += 1
            connection.lastHeartbeat = clock.now()
            if let seq = frame["d"]?.int, let sid = connection.sessionID { sessions[sid]?.confirm(seq) }
            if !connection.stalled {
                stats.acks += 1
                connection.send(#"{"op":11}"#)
            }
        case 2:
            identify(frame["d"], connection)
        case 6:
            resume(frame["d"], connection)
        default:
            connection.close(4001, "invalid opcode \(op)")
        }
    }

    private func bareToken(_ value: String?) -> String? {
        guard let value else { return nil }
        return value.hasPrefix("QQBot ") ? String(value.dropFirst(6)) : value
    }

    /// The reject_identify fault: true when this Identify/Resume was closed with its code.
    private func rejectedByFault(_ connection: Connection) -> Bool {
        guard let reject = rejectIdentify else { return false }
        rejectIdentify = reject.count > 1 ? (reject.code, reject.count - 1) : nil
        connection.close(reject.code, "rejected by simulator fault")
        return true
    }

    private func identify(_ d: JSONBody?, _ connection: Connection) {
        guard connection.sessionID == nil else { return connection.close(4005, "already authenticated") }
        if rejectedByFault(connection) { return }
        guard let token = bareToken(d?["token"]?.string), isValid(token: token) else {
            return connection.close(4004, "invalid token")
        }
        guard let intents = d?["intents"]?.int, intents > 0 else { return connection.close(4013, "invalid intent") }
        guard intents & ~configuration.permittedIntents == 0 else {
            return connection.close(4014, "intent not permitted")
        }
        let shard = d?["shard"]?.array?.compactMap(\.int) ?? [0, 1]
        guard shard.count == 2, shard[1] >= 1, shard[0] >= 0, shard[0] < shard[1] else {
            return connection.close(4010, "invalid shard")
        }
        stats.identifies += 1
        let session = GatewaySession(id: UUID().uuidString.lowercased(), intents: intents, shard: shard)
        sessions[session.id] = session
        bind(session, connection)
        let ready = #"{"version":1,"session_id":"\#(session.id)","user":{"id":"\#(configuration.botID)","username":\#(JSONBody.string(configuration.botName).text),"bot":true,"status":1},"shard":[\#(shard[0]),\#(shard[1])]}"#
        append(to: session, type: "READY", payload: ready, replayable: false)
    }

    private func resume(_ d: JSONBody?, _ connection: Connection) {
        guard connection.sessionID == nil else { return connection.close(4005, "already authenticated") }
        if rejectedByFault(connection) { return }
        // botgo sends the bare token in Resume, everyone else `QQBot <token>`: accept both.
        guard let token = bareToken(d?["token"]?.string), isValid(token: token) else {
            return connection.close(4004, "invalid token")
        }
        expireSessions()
        if ignoreResumes > 0 {
            ignoreResumes -= 1
            connection.silent = true
            return
        }
        guard let sid = d?["session_id"]?.string, let session = sessions[sid], let seq = d?["seq"]?.int else {
            return invalidate(connection, resumable: false)
        }
        guard seq <= session.seq else { return connection.close(4007, "invalid seq") }
        // Events older than what is kept cannot be replayed: refuse rather than lose them silently.
        if let first = session.log.first, seq < first.seq - 1 {
            discardSession(sid)
            return invalidate(connection, resumable: false)
        }
        session.confirm(seq)
        if let old = session.connectionID, let oldConnection = connections[old] {
            oldConnection.sessionID = nil
            oldConnection.close(4009, "session resumed elsewhere")
        }
        stats.resumes += 1
        bind(session, connection)
        for entry in session.log where entry.seq > seq {
            connection.send(entry.text)
            stats.replayed += 1
        }
        append(to: session, type: "RESUMED", payload: #""""#, replayable: false)
    }

    private func invalidate(_ connection: Connection, resumable: Bool) {
        stats.invalidSessions += 1
        connection.send(#"{"op":9,"d":\#(resumable)}"#)
        connection.close(resumable ? 4009 : 4006, resumable ? "session timed out" : "session no longer valid")
    }

    private func bind(_ session: GatewaySession, _ connection: Connection) {
        connection.sessionID = session.id
        session.connectionID = connection.id
        session.disconnectedAt = nil
    }

    private func expireSessions() {
        let now = clock.now()
        let limit = Double(configuration.resumeWindow.components.seconds)
        for (sid, s) in sessions where s.connectionID == nil {
            if let at = s.disconnectedAt, now.timeIntervalSince(at) >= limit { discardSession(sid) }
        }
    }

    // MARK: - Dispatch

    /// Appends a dispatch to a session's log and sends it if the session has a socket.
    @discardableResult
    private func append(to session: GatewaySession, type: String, payload: String, eventID: String? = nil,
                        replayable: Bool = true) -> Int {
        session.seq += 1
        let id = eventID ?? "\(type):\(SimJSON.randomToken(24))"
        let text = #"{"op":0,"s":\#(session.seq),"t":"\#(type)","id":"\#(id)","d":\#(payload)}"#
        if replayable { session.log.append((session.seq, text, id)) }
        // Trimmed in steps, not per event: removing the head of a 10,000-entry array each time
        // made a burst quadratic.
        if session.log.count > configuration.replayLimit + configuration.replayLimit / 4 + 1 {
            session.log.removeFirst(session.log.count - configuration.replayLimit)
        }
        if let cid = session.connectionID { connections[cid]?.send(text) }
        return session.seq
    }

    /// Delivers an event to every session subscribed to `intent` whose shard owns `routeKey`.
    /// Returns how many sessions got it (live or queued for resume).
    func dispatch(type: String, payload: JSONBody, intent: Int, routeKey: String, eventID: String) -> Int {
        dispatch(type: type, payloadText: payload.text, intent: intent, routeKey: routeKey, eventID: eventID)
    }

    /// ``dispatch(type:payload:intent:routeKey:eventID:)`` with the payload already as JSON text.
    func dispatch(type: String, payloadText text: String, intent: Int, routeKey: String, eventID: String) -> Int {
        expireSessions()
        var delivered = 0
        for session in sessions.values.sorted(by: { $0.id < $1.id }) where session.intents & intent != 0 {
            guard Self.shard(of: routeKey, count: session.shard[1]) == session.shard[0] else { continue }
            append(to: session, type: type, payload: text, eventID: eventID)
            delivered += 1
        }
        stats.dispatched += delivered
        if webhookURL != nil {
            queueWebhook(type: type, payloadText: text, eventID: eventID)
            delivered += 1
        }
        return delivered
    }

    /// Close codes after which the platform keeps the session resumable (qq-protocol.md §3.5).
    static func allowsResume(_ code: Int) -> Bool {
        [4008, 4009].contains(code) || (1000...3999).contains(code)
    }

    /// Closes `id` with 4009 if it has not sent a heartbeat for `heartbeatTimeoutIntervals` intervals.
    /// Returns false once the socket is gone.
    func checkHeartbeat(_ id: Int) -> Bool {
        let now = clock.now()
        guard let c = connections[id], !c.closing else { return false }
        let limit = Double(configuration.heartbeatTimeoutIntervals * configuration.heartbeatIntervalMs) / 1000
        if limit > 0, !c.frozen, now.timeIntervalSince(c.lastHeartbeat) > limit {
            stats.heartbeatTimeouts += 1
            c.close(4009, "heartbeat timeout")
            return false
        }
        return true
    }

    /// Shard owning `key`: FNV-1a, stable across runs.
    static func shard(of key: String, count: Int) -> Int {
        guard count > 1 else { return 0 }
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        return Int(hash % UInt64(count))
    }

    /// Sends raw bytes to every live socket, bypassing the protocol (malformed-frame tests).
    public func sendRaw(text: String? = nil, binary: Data? = nil, textBytes: Data? = nil) -> Int {
        for connection in connections.values where !connection.closing {
            if let text { connection.outbox.yield(.text(text)) }
            if let binary { connection.outbox.yield(.binary(binary)) }
            if let textBytes { connection.outbox.yield(.rawText(textBytes)) }
        }
        return connections.count
    }

    // MARK: - Faults

    /// Injects a fault into the live gateway.
    public func apply(_ fault: SimFault) {
        let live = connections.values.filter { !$0.closing }
        switch fault {
        case .close(let code):
            guard SimFault.isSendableCloseCode(code) else { return }
            for c in live {
                // After a code that forbids Resume, the session is gone on the server too.
                if !Self.allowsResume(code), let sid = c.sessionID { discardSession(sid); c.sessionID = nil }
                c.close(code, "closed by simulator")
            }
        case .reconnect:
            for c in live { c.send(#"{"op":7}"#); c.close(4009, "reconnect") }
        case .invalidSession(let resumable):
            // A dead socket carries no op 9 (its session is not told, so it is not ended either).
            for c in live where !c.frozen {
                if !resumable {
                    if let sid = c.sessionID { discardSession(sid); c.sessionID = nil } else { c.refusesResume = true }
                }
                invalidate(c, resumable: resumable)
            }
        case .stallAcks:
            for c in live { c.stalled = true }
        case .freeze:
            for c in live {
                c.frozen = true
                c.outbox.yield(.freeze)
            }
        case .refuseConnections(let count, let seconds):
            if let count { refuseCount = count }
            if let seconds { refuseUntil = clock.now().addingTimeInterval(seconds) }
            if count == nil && seconds == nil { refuseForever = true }
        case .expireTokens:
            tokens.removeAll()
        case .rejectIdentify(let code, let count):
            rejectIdentify = count > 0 && SimFault.isSendableCloseCode(code) ? (code, count) : nil
        case .ignoreResume(let count):
            ignoreResumes = max(0, count)
        case .withholdHello(let count):
            withholdHellos = max(0, count)
        case .oddResponses(let answers):
            oddResponses.append(contentsOf: answers)
        case .garbleAnswers(let count, let body, let type, let status, let delay):
            garble = count > 0 ? (count, body, type, status, delay) : nil
        case .delayAnswers(let count, let delay):
            delays = count > 0 ? (count, delay) : nil
        case .failPartUploads(let count):
            failPartUploads = max(0, count)
        case .busyUploads(let count):
            busyUploads = max(0, count)
        case .clear:
            failPartUploads = 0
            busyUploads = 0
            refuseCount = nil
            refuseUntil = nil
            refuseForever = false
            rejectIdentify = nil
            ignoreResumes = 0
            withholdHellos = 0
            garble = nil
            delays = nil
            oddResponses.removeAll()
            for c in connections.values { c.stalled = false }
        }
    }
}
