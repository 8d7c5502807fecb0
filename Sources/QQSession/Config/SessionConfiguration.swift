import Foundation

/// Everything QQSession needs to run, as plain values. QQTUI builds it from the TOML file.
public struct SessionConfiguration: Sendable {
    /// The bot's AppID.
    public var appID: String
    /// The bot's AppSecret (never printed).
    public var appSecret: Secret
    /// Sandbox platform (changes the default `apiBase`).
    public var sandbox: Bool
    /// Gateway intents.
    public var intents: Intents
    /// `shard: [index, count]` sent in Identify.
    public var shard: Shard
    /// Who may reach the bot: user/member openids, or `*`.
    public var allowFrom: AllowList
    /// Send everything as markdown (`msg_type 2`).
    public var markdown: Bool
    /// Send the agent's replies (and qqtui's own lines) as markdown, the operator's as text. The app
    /// turns it on (`[bot] markdown = "agent"`, its default); off here.
    public var agentMarkdown = false
    /// Token endpoint.
    public var tokenURL: String
    /// REST base URL (no trailing slash).
    public var apiBase: String
    /// A fixed gateway WebSocket URL; when nil it is discovered with `GET /gateway/bot`.
    public var gatewayURL: String?
    /// Token: refresh this long before expiry. Kept under 60 s because the platform only hands out a
    /// new token within the last 60 s of the old one's life.
    public var tokenRefreshMargin: Duration
    /// Reconnect behaviour.
    public var reconnect: ReconnectPolicy
    /// Timeouts of the individual steps.
    public var timeouts: Timeouts
    /// Passive-reply windows and budget (the msg_seq ledger).
    public var replyWindow: ReplyWindow
    /// Sending: routes, splitting, retries.
    public var sending: SendPolicy
    /// C2C streaming of agent replies.
    public var stream: StreamPolicy
    /// Inbound attachment downloads.
    public var attachments: AttachmentPolicy
    /// How long a message id is remembered for de-duplication.
    public var dedupWindow: Duration
    /// Ownership and agent turns.
    public var handoff: HandoffPolicy
    /// How events arrive: the WebSocket gateway (the default) or the platform's signed HTTP callbacks.
    public var transport: Transport = .websocket
    /// The callback listener (with `transport = .webhook`).
    public var webhook = WebhookPolicy()

    /// How the platform delivers events.
    public enum Transport: String, Sendable, Hashable, Codable { case websocket, webhook }

    /// Production REST base: the one host the platform documents since 2026-08 (changelog 20260810).
    public static let productionAPIBase = "https://api.bot.qq.com"
    /// Sandbox REST base.
    public static let sandboxAPIBase = "https://sandbox.api.bot.qq.com"
    /// Token endpoint of the real platform (on the same host since 2026-08).
    public static let productionTokenURL = "https://api.bot.qq.com/app/getAppAccessToken"
    /// The hosts before 2026-08 (`api_base` / `token_url` take them back if a bot needs them).
    public static let legacyAPIBase = "https://api.sgroup.qq.com"
    public static let legacyTokenURL = "https://bots.qq.com/app/getAppAccessToken"

    /// A configuration with the platform's defaults for everything but the credentials.
    public init(appID: String, appSecret: Secret, sandbox: Bool = false) {
        self.appID = appID
        self.appSecret = appSecret
        self.sandbox = sandbox
        self.intents = .groupAndC2C
        self.shard = Shard(index: 0, count: 1)
        self.allowFrom = .everyone
        self.markdown = false
        self.tokenURL = Self.productionTokenURL
        self.apiBase = sandbox ? Self.sandboxAPIBase : Self.productionAPIBase
        self.gatewayURL = nil
        self.tokenRefreshMargin = .seconds(50)
        self.reconnect = ReconnectPolicy()
        self.timeouts = Timeouts()
        self.replyWindow = ReplyWindow()
        self.sending = SendPolicy()
        self.stream = StreamPolicy()
        self.attachments = AttachmentPolicy()
        self.dedupWindow = .seconds(3600)
        self.handoff = HandoffPolicy()
    }

    /// A configuration pointed at a local simulator (`http://127.0.0.1:PORT`).
    public static func simulator(baseURL: String, appID: String, appSecret: String) -> SessionConfiguration {
        var config = SessionConfiguration(appID: appID, appSecret: Secret(appSecret))
        config.tokenURL = baseURL + "/app/getAppAccessToken"
        config.apiBase = baseURL
        return config
    }
}

/// `[index, count]` of the gateway shard.
public struct Shard: Sendable, Hashable, Codable {
    /// This connection's shard, 0 ≤ index < count.
    public var index: Int
    /// How many shards the bot's events are split over.
    public var count: Int
    /// `[index, count]`.
    public init(index: Int, count: Int) { self.index = index; self.count = count }
}

/// Which openids may reach the bot.
public enum AllowList: Sendable, Hashable {
    /// Everybody (`allow_from = ["*"]`).
    case everyone
    /// Only these user/member openids.
    case only(Set<String>)

    /// Builds from config entries; `*` anywhere means everyone.
    public init(entries: [String]) {
        self = entries.contains("*") ? .everyone : .only(Set(entries))
    }

    /// True when `openid` may reach the bot.
    public func allows(_ openid: String) -> Bool {
        switch self {
        case .everyone: return true
        case .only(let set): return set.contains(openid)
        }
    }
}

/// Reconnect loop settings: exponential backoff with jitter and an attempt cap.
public struct ReconnectPolicy: Sendable, Hashable {
    /// Delay before the second consecutive attempt (the first after a routine close is immediate).
    public var baseDelay: Duration = .seconds(1)
    /// Upper bound of the delay.
    public var maxDelay: Duration = .seconds(60)
    /// Fraction of the delay that is randomised (0 = none, 0.5 = between 50 % and 100 %).
    public var jitter: Double = 0.5
    /// Consecutive failed attempts before the session goes OFFLINE.
    public var maxAttempts: Int = 30
    /// The defaults: 1 s → 60 s, jitter 0.5, 30 attempts.
    public init() {}
}

/// Step timeouts.
public struct Timeouts: Sendable, Hashable {
    /// TCP + TLS + WebSocket upgrade.
    public var connect: Duration = .seconds(10)
    /// From the socket opening to Hello.
    public var hello: Duration = .seconds(15)
    /// From Identify/Resume to READY/RESUMED.
    public var ready: Duration = .seconds(15)
    /// A REST request, to the response head.
    public var request: Duration = .seconds(15)
    /// The defaults: 10 s connect, 15 s Hello, 15 s READY, 15 s per request.
    public init() {}
}

/// Passive-reply rules, shared by the ledger and (later) the reply planner.
public struct ReplyWindow: Sendable, Hashable {
    /// Group passive replies are accepted this long after the message.
    public var group: Duration = .seconds(5 * 60)
    /// C2C passive replies are accepted this long after the message.
    public var c2c: Duration = .seconds(60 * 60)
    /// Passive replies per inbound C2C msg_id (4 since the 2026 documents; 5 before).
    public var c2cBudget: Int = 4
    /// Passive replies per inbound group msg_id.
    public var groupBudget: Int = 5
    /// The platform's numbers: group 5 min and 5 replies, C2C 60 min and 4 replies.
    public init() {}

    /// Sets both budgets (`[replies] budget`).
    public var budget: Int {
        get { min(c2cBudget, groupBudget) }
        set { c2cBudget = newValue; groupBudget = newValue }
    }

    /// The budget of a conversation's messages.
    public func budget(for conversation: ConversationID) -> Int {
        conversation.isGroup ? groupBudget : c2cBudget
    }
}

/// How messages are sent.
public struct SendPolicy: Sendable, Hashable {
    /// Send proactively (no msg_id) when no reply window is open; off: refuse before sending.
    public var proactive: Bool = true
    /// Treat a window as closed this long before its end (a request must arrive in time).
    public var windowMargin: Duration = .seconds(10)
    /// Longest message part, in characters; longer text is split.
    public var maxLength: Int = 2000
    /// Retries after a 429, a 5xx, a timeout or a network error (then the message is marked failed).
    public var retries: Int = 3
    /// First retry delay; each next one doubles.
    public var retryBase: Duration = .milliseconds(500)
    /// Largest file `sendImage` uploads.
    public var maxUploadBytes: Int = 10 * 1024 * 1024
    /// How long ``Session/shutdown()`` waits for what is being sent: open C2C streams get their
    /// closing frame, sends in flight their answer. What is still sending after it is marked failed.
    public var shutdownGrace: Duration = .seconds(10)
    /// Defaults: proactive allowed, 10 s margin, 2000 characters, 3 retries from 0.5 s, 10 MiB uploads,
    /// 10 s to settle at shutdown.
    public init() {}
}

/// C2C streaming of agent replies.
public struct StreamPolicy: Sendable, Hashable {
    /// Which endpoint carries the frames.
    public enum API: String, Sendable, Hashable, Codable {
        /// `POST /v2/users/{openid}/messages` with a `stream` object (what the SDKs and AstrBot use).
        case legacy
        /// The newer `POST /v2/users/{openid}/stream_messages`.
        case streamMessages = "stream_messages"
    }
    public var api: API = .legacy
    /// At most one frame per interval; deltas in between are coalesced.
    public var interval: Duration = .seconds(1)
    /// Longest text in one frame, in UTF-16 units (a longer buffer goes out in several frames).
    /// 1300 keeps any frame under 4096 UTF-8 bytes, a per-frame limit seen in AstrBot's tests.
    public var maxFrameLength: Int = 1300
    /// With `stream_messages`: a new msg_seq for every frame (the default keeps one per stream, as
    /// AstrBot and qq-maid-bot do; the sources disagree, see qq-protocol.md §11.10).
    public var seqPerFrame: Bool = false
    /// Stream C2C agent replies at all (off: accumulate and send once, like groups).
    public var enabled: Bool = true
    /// Defaults: legacy endpoint, 1 s, 1300 UTF-16 units per frame, one msg_seq per stream_messages stream.
    public init() {}
}

/// Inbound attachment downloads.
public struct AttachmentPolicy: Sendable, Hashable {
    /// Where downloaded files go; nil keeps them in memory only (tests, benchmarks).
    public var directory: String?
    /// Larger downloads are refused (20 MiB like the peers).
    public var maxBytes: Int = 20 * 1024 * 1024
    /// Whole download, head and body.
    public var timeout: Duration = .seconds(30)
    /// Download at all (off: attachments keep only their URL).
    public var download: Bool = true
    /// Download images, in memory only, 20 MiB cap, 30 s.
    public init() {}
}

/// The webhook listener: where the platform's callbacks arrive and what is accepted.
public struct WebhookPolicy: Sendable, Hashable {
    /// Address to listen on: loopback behind a reverse proxy (the platform calls HTTPS on 80/443/8080/8443).
    public var host = "127.0.0.1"
    public var port = 8080
    /// The callback path (what the URL on q.qq.com ends with).
    public var path = "/qqbot"
    /// A callback whose timestamp is further from now than this is refused (replays).
    public var replayWindow: Duration = .seconds(300)
    /// Larger bodies are refused before they are read whole.
    public var maxBodyBytes = 1 << 20
    /// Built-in HTTPS (a direct setup, no reverse proxy): PEM certificate chain and private key.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Defaults: 127.0.0.1:8080, /qqbot, 5 minutes, 1 MiB.
    public init() {}
}
