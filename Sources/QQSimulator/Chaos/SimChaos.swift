/// A seeded schedule of platform trouble: which fault comes next and after what pause.
///
/// The same seed and settings give the same faults, parameters and gaps, so a failing run can be
/// replayed (how they interleave with traffic still depends on timing). Only faults a client must
/// survive are drawn: nothing that legitimately ends a session (bad token, fatal close codes).
///
/// ```swift
/// await platform.startChaos(SimChaos(seed: 42))
/// // … traffic …
/// let report = await platform.stopChaos()
/// ```
public struct SimChaos: Sendable {
    /// The kinds of trouble, each a fault (or two) of ``SimFault``.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The socket is closed with a code that keeps the session resumable (1001, 1011, 4008).
        case drop
        /// The link dies without a close frame: nothing read, nothing written (the client must notice).
        case deadLink = "dead_link"
        /// Close 4009: connection expired, resume.
        case close4009 = "close_4009"
        /// Op 7, then close 4009.
        case op7
        /// Op 9 with `d = true`: resume again.
        case op9Resumable = "op9_resumable"
        /// Op 9 with `d = false`: the session is gone, identify.
        case op9
        /// Heartbeats are no longer ACKed on the open sockets.
        case stallAcks = "stall_acks"
        /// WebSocket upgrades are refused for a while (a count or some seconds) and the socket is closed,
        /// so the client meets the refusal.
        case refuse
        /// The next API requests are answered 429.
        case rateLimit = "rate_limit"
        /// The next API requests are answered 500/502/503/504 (not processed).
        case serverError = "server_error"
        /// The next send answers are held back.
        case slow

        /// How often each kind is drawn, relative to the others.
        var weight: Int {
            switch self {
            case .drop, .rateLimit, .serverError: return 3
            case .close4009, .op7, .slow: return 2
            case .deadLink, .op9Resumable, .op9, .stallAcks, .refuse: return 1
            }
        }
    }

    /// One step of the schedule.
    public struct Step: Sendable, Hashable {
        /// Pause before the faults.
        public var gap: Duration
        public var kind: Kind
        /// What is applied, in order.
        public var faults: [SimFault]
    }

    /// The seed the schedule comes from.
    public let seed: UInt64
    /// Mean pause between two faults (each gap is 0.25–1.75 times this).
    public var meanGap: Duration
    /// The kinds drawn (all by default).
    public var kinds: Set<Kind>
    /// Longest hold-back of a slow answer; keep it under the client's request timeout, or a first
    /// stream frame's lost answer leaves a stream the client cannot close.
    public var maxSlowMs: Int = 1500
    /// Longest refusal of new connections.
    public var maxRefuseSeconds: Double = 1.5
    private var random: SplitMix64

    /// A schedule from `seed`: a fault every `meanGap` on average, drawn from `kinds`.
    public init(seed: UInt64, meanGap: Duration = .milliseconds(500), kinds: Set<Kind> = Set(Kind.allCases)) {
        self.seed = seed
        self.meanGap = meanGap
        self.kinds = kinds.isEmpty ? Set(Kind.allCases) : kinds
        self.random = SplitMix64(seed: seed)
    }

    /// The next fault and the pause before it.
    public mutating func next() -> Step {
        let gap = meanGap * (0.25 + 1.5 * random.unit())
        let kind = drawKind()
        return Step(gap: gap, kind: kind, faults: faults(for: kind))
    }

    private mutating func drawKind() -> Kind {
        // Kind.allCases fixes the order, so a seed draws the same kinds whatever the Set's order.
        let enabled = Kind.allCases.filter(kinds.contains)
        var ticket = random.int(in: 0...(enabled.reduce(0) { $0 + $1.weight } - 1))
        for kind in enabled {
            if ticket < kind.weight { return kind }
            ticket -= kind.weight
        }
        return enabled[enabled.count - 1]
    }

    private mutating func faults(for kind: Kind) -> [SimFault] {
        switch kind {
        case .drop: return [.close(code: random.pick([1001, 1011, 4008]))]
        case .deadLink: return [.freeze]
        case .close4009: return [.close(code: 4009)]
        case .op7: return [.reconnect]
        case .op9Resumable: return [.invalidSession(resumable: true)]
        case .op9: return [.invalidSession(resumable: false)]
        case .stallAcks: return [.stallAcks]
        case .refuse:
            let refusal: SimFault = random.chance(0.5)
                ? .refuseConnections(count: random.int(in: 1...4), seconds: nil)
                : .refuseConnections(count: nil, seconds: Double(random.int(in: 100...max(100, Int(maxRefuseSeconds * 1000)))) / 1000)
            return [refusal, .close(code: 4009)]
        case .rateLimit:
            return [.oddResponses((0..<random.int(in: 1...3)).map { _ in
                OddResponse(status: 429, body: Self.errorBody(22009, "msg limit exceed"), delayMs: random.int(in: 0...200),
                            skip: random.int(in: 0...3))
            })]
        case .serverError:
            return [.oddResponses((0..<random.int(in: 1...3)).map { _ in
                let status = random.pick([500, 502, 503, 504])
                // Half of them the way a proxy answers: an HTML page, not the platform's JSON.
                return random.chance(0.5)
                    ? OddResponse(status: status, body: Self.errorBody(status * 100, "服务器内部错误"),
                                  delayMs: random.int(in: 0...300), skip: random.int(in: 0...3))
                    : OddResponse(status: status, contentType: "text/html", body: "<html><body>\(status) Bad Gateway</body></html>",
                                  delayMs: random.int(in: 0...300), skip: random.int(in: 0...3))
            })]
        case .slow:
            return [.delayAnswers(count: random.int(in: 1...5), delayMs: random.int(in: 100...max(100, maxSlowMs)))]
        }
    }

    static func errorBody(_ code: Int, _ message: String) -> String {
        #"{"code":\#(code),"err_code":\#(code),"message":"\#(message)","trace_id":"chaos"}"#
    }
}

/// What a chaos run has injected so far.
public struct SimChaosReport: Sendable, Hashable, Codable {
    public var seed: UInt64
    public var meanGapMs: Int
    /// True while the schedule runs.
    public var running: Bool
    /// Faults applied, by ``SimChaos/Kind`` raw value.
    public var injected: [String: Int]
    /// Every fault applied.
    public var total: Int { injected.values.reduce(0, +) }

    enum CodingKeys: String, CodingKey { case seed, meanGapMs = "mean_gap_ms", running, injected }

    /// The counts in the order of ``SimChaos/Kind/allCases``, e.g. `drop=3 op7=1 …`.
    public var summary: String {
        SimChaos.Kind.allCases.map { "\($0.rawValue)=\(injected[$0.rawValue, default: 0])" }.joined(separator: " ")
    }
}
