import Foundation

extension OutboundSender {
    /// Sends the closing frame of a stream a crash left open, while the reply window of the message it
    /// answers lasts. The index is the next after the frames QQ accepted as recorded; frames the process
    /// sent but died before recording make QQ refuse it (40034044: the next index is tried) or the
    /// msg_seq (40054005: the next one is taken). At most six tries. True when closed.
    func closeAbandoned(_ stream: AbandonedStream) async -> Bool {
        // A busy conversation's older messages leave the in-memory ledger (only the newest are kept);
        // the store still has their entry while the window lasts.
        if ledger.entry(stream.msgID, now: clock.date) == nil { resyncLedger(stream.msgID) }
        guard ledger.entry(stream.msgID, now: clock.date) != nil else {
            logger.info("a stream left open by a crash is past its reply window", metadata: ["stream": "\(stream.streamID)"])
            return false
        }
        let perStream = configuration.stream.api == .streamMessages && !configuration.stream.seqPerFrame
        var index = stream.nextIndex
        var last: QQError?
        for _ in 0..<6 {
            let seq = perStream ? stream.firstSeq : takeSeq(stream.msgID)
            let (path, body) = StreamFrameBody.make(sender: self, conversation: stream.conversation, text: "\n", state: 10,
                                                    index: index, streamID: stream.streamID, msgID: stream.msgID, seq: seq)
            let result = await post(path, body: body, context: "closing a stream left open by a crash, in \(stream.conversation)")
            guard let error = result.error else { return true }
            last = error
            // Closed already: its closing frame went out before the crash, its answer was not recorded.
            if error.qqCode == 40034043 || error.code == 40034043 { return true }
            if error.qqCode == 40034044 || error.code == 40034044 {
                index += 1
            } else if !SendCodes.isDedup(error) || perStream {
                logger.warning("a stream left open by a crash could not be closed",
                               metadata: ["stream": "\(stream.streamID)", "error": "\(error)"])
                return false
            }
        }
        logger.warning("a stream left open by a crash could not be closed in six tries",
                       metadata: ["stream": "\(stream.streamID)", "error": "\(last.map { "\($0)" } ?? "-")"])
        return false
    }
}
