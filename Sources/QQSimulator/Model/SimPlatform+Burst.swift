import Foundation

/// A load run: many users writing at once, for `qqtui bench` and soak tests.
public struct SimBurst: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, Hashable { case c2c, group, mixed }
    /// How many messages.
    public var count: Int
    /// C2C messages come from this many users (round robin); group messages from as many groups.
    public var users: Int
    public var kind: Kind
    /// Messages per second; 0 = as fast as the platform can write them.
    public var rate: Int
    /// Starts every message's text, so runs can be told apart.
    public var tag: String

    public init(count: Int, users: Int = 100, kind: Kind = .c2c, rate: Int = 0, tag: String = "bench") {
        self.count = count
        self.users = max(1, users)
        self.kind = kind
        self.rate = max(0, rate)
        self.tag = tag
    }
}

/// What a burst did: wall-clock times in seconds since 1970.
public struct SimBurstResult: Sendable, Codable, Hashable {
    public var dispatched: Int
    public var started: Double
    public var finished: Double
}

extension SimPlatform {
    /// Makes users write `burst.count` messages. Message `i` says `"<tag> <i> <ns>"`, where `<ns>` is
    /// the wall-clock time in nanoseconds when the platform queued it on the socket, so a client can
    /// measure its latency; ids are `BURST.<tag>.<i>`. Frames are built directly (not through the
    /// JSON encoder) so the simulator is not what limits a benchmark; the platform keeps serving
    /// REST calls between batches.
    public func burst(_ burst: SimBurst) async -> SimBurstResult {
        let started = Date().timeIntervalSince1970
        let batch = burst.rate == 0 ? 256 : max(1, burst.rate / 200)   // paced runs: a batch every 5 ms
        let clock = ContinuousClock()
        let origin = clock.now
        var stamp = TimestampCache()
        var dispatched = 0
        var i = 0
        while i < burst.count {
            let end = min(burst.count, i + batch)
            while i < end {
                let group = burst.kind == .group || (burst.kind == .mixed && i % 2 == 1)
                dispatched += burstMessage(i, burst: burst, group: group, timestamp: stamp.string())
                i += 1
            }
            if burst.rate > 0 {
                let due = origin + .nanoseconds(Int64(Double(i) / Double(burst.rate) * 1e9))
                if due > clock.now { try? await Task.sleep(until: due, clock: clock) }
            } else {
                await Task.yield()
            }
        }
        return SimBurstResult(dispatched: dispatched, started: started, finished: Date().timeIntervalSince1970)
    }

    private func burstMessage(_ i: Int, burst: SimBurst, group: Bool, timestamp: String) -> Int {
        let id = "BURST.\(burst.tag).\(i)"
        let owner = "U\(i % burst.users)"
        let content = "\(burst.tag) \(i) \(Self.wallNanoseconds())"
        let type = group ? "GROUP_AT_MESSAGE_CREATE" : "C2C_MESSAGE_CREATE"
        let eventID = "\(type):burst\(i)"
        let payload: String
        if group {
            let groupID = "G\(i % burst.users)"
            payload = #"{"id":"\#(id)","content":" \#(content)","timestamp":"\#(timestamp)","group_id":"\#(groupID)","group_openid":"\#(groupID)","author":{"id":"M\#(i % 7)","member_openid":"M\#(i % 7)","union_openid":"","member_role":"member","bot":false},"attachments":[],"mentions":[],"message_type":0,"message_scene":{"source":"default","ext":[]}}"#
        } else {
            payload = #"{"id":"\#(id)","content":"\#(content)","timestamp":"\#(timestamp)","author":{"id":"\#(owner)","user_openid":"\#(owner)","union_openid":"","username":"","bot":false},"attachments":[],"message_type":0,"message_scene":{"source":"default","ext":[]}}"#
        }
        let target = group ? "G\(i % burst.users)" : owner
        remember(UserMessage(id: id, eventID: eventID, isGroup: group, target: target, createdAt: Date()))
        return dispatch(type: type, payloadText: payload, intent: Self.groupAndC2CIntent, routeKey: target, eventID: eventID)
    }

    /// A burst message got an answer QQ accepted (a closed stream, or a message with its msg_id).
    func noteAnswered(_ msgID: String) {
        guard msgID.hasPrefix("BURST.") else { return }
        answeredBurst.insert(msgID)
    }

    /// How many messages of the burst tagged `tag` got an accepted answer (all of them are kept,
    /// unlike the last 10,000 stream records).
    public func answeredCount(tag: String) -> Int {
        let prefix = "BURST.\(tag)."
        return answeredBurst.count { $0.hasPrefix(prefix) }
    }

    /// CLOCK_REALTIME in nanoseconds (comparable across processes on one machine): burst messages
    /// carry it, and `qqtui bench` reads the same clock to time them.
    public static func wallNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// The platform's timestamp string, formatted once per second instead of once per message.
private struct TimestampCache {
    private var second = -1
    private var text = ""

    mutating func string() -> String {
        let now = Int(Date().timeIntervalSince1970)
        if now != second {
            second = now
            text = SimJSON.timestamp(Date(timeIntervalSince1970: Double(now)))
        }
        return text
    }
}
