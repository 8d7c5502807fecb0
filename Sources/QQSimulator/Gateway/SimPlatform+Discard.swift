extension SimPlatform.GatewaySession {
    /// The client showed it has everything up to `seq`.
    func confirm(_ seq: Int) { confirmedSeq = max(confirmedSeq, min(seq, self.seq)) }
}

extension SimPlatform {
    /// Ends a gateway session for good (a close code or op 9 that forbids Resume, an expired resume
    /// window). Its events the client never confirmed (by a heartbeat's `d` or a Resume's `seq`) may
    /// never have reached it: the platform cannot replay them to a new session, so they are noted.
    func discardSession(_ id: String) {
        guard let session = sessions.removeValue(forKey: id) else { return }
        for entry in session.log where entry.seq > session.confirmedSeq {
            droppedWithSessions.insert(eventsByID[entry.eventID]?.id ?? entry.eventID)
        }
        stats.droppedWithSessions = droppedWithSessions.count
    }

    /// Ids of messages (or, for other events, event ids) that were queued for a gateway session which
    /// ended before the client confirmed them: a client may legitimately never see these. A soak
    /// counts a missing message as lost only when it is not in here.
    public func messagesDroppedWithSessions() -> Set<String> { droppedWithSessions }
}
