import Foundation

/// How the simulated QQ platform behaves. Defaults follow the real platform where it is known.
public struct SimulatorConfiguration: Sendable {
    /// AppID the token endpoint accepts.
    public var appID = "102000001"
    /// AppSecret the token endpoint accepts.
    public var appSecret = "qqtui-sim-secret"
    /// The bot's user id (numeric string, as botpy requires).
    public var botID = "11586990140073229091"
    /// The bot's name in READY and `/users/@me`.
    public var botName = "qqtui-sim-bot"
    /// Listen address (loopback only by default).
    public var host = "127.0.0.1"
    /// Listen port; 0 = ephemeral.
    public var port = 0
    /// Access token lifetime in seconds.
    public var tokenLifetime = 7200
    /// A token request in the last this-many seconds of the current token's life rotates it.
    public var tokenRotationWindow = 60
    /// `heartbeat_interval` sent in Hello, in milliseconds.
    public var heartbeatIntervalMs = 41_250
    /// A socket with no heartbeat for this many intervals is closed with 4009 (0 = never). The real
    /// limit is undocumented; 3 intervals tolerates botpy's fixed 30 s beat against a 41 s interval.
    public var heartbeatTimeoutIntervals = 3
    /// Group passive reply window.
    public var groupReplyWindow: Duration = .seconds(300)
    /// C2C passive reply window.
    public var c2cReplyWindow: Duration = .seconds(3600)
    /// Passive replies accepted per C2C msg_id (4 in the 2026 documents).
    public var c2cPassiveReplyBudget = 4
    /// Passive replies accepted per group msg_id.
    public var groupPassiveReplyBudget = 5
    /// Part size the chunked upload asks for (the platform's is several MB; tests use less).
    public var uploadBlockSize = 4 << 20
    /// `upload_config.retry_delay` in seconds.
    public var uploadRetryDelay: Double = 1
    /// Bytes a bot may upload in a day (openclaw-qqbot: 2 GB); past it, 40093002.
    public var dailyUploadBytes = 2 << 30
    /// Webhook: attempts per callback, the pause between them, and how long an answer may take.
    public var webhookAttempts = 3
    public var webhookRetryDelayMs = 200
    public var webhookTimeoutMs = 5000
    /// Accept any certificate from an HTTPS webhook (a bot's self-signed one in tests).
    public var webhookTrustsAnyCertificate = false
    /// How long after sending the bot may recall a message (2026 documents: 2 minutes).
    public var recallWindow: Duration = .seconds(120)
    /// Sets both budgets.
    public var passiveReplyBudget: Int {
        get { min(c2cPassiveReplyBudget, groupPassiveReplyBudget) }
        set { c2cPassiveReplyBudget = newValue; groupPassiveReplyBudget = newValue }
    }
    /// Whether `msg_type 2` (markdown) is allowed: open to every bot since 2026-04-23 (before that,
    /// most bots needed approval and got 40034012; set false to play that).
    public var markdownAllowed = true
    /// Whether proactive (no msg_id) messages are accepted.
    public var proactiveAllowed = true
    /// Intent bits the bot may subscribe to; others close with 4014.
    public var permittedIntents = 0x7FFF_FFFF
    /// `shards` in `/gateway/bot`.
    public var recommendedShards = 1
    /// How long a disconnected gateway session can be resumed.
    public var resumeWindow: Duration = .seconds(300)
    /// Dispatches kept per session for Resume replay.
    public var replayLimit = 10_000
    /// Longest accepted text, in characters (`40054007` above it). The real limit is undocumented;
    /// 2000 is what clients split at, so the simulator holds them to it.
    public var maxContentLength = 2000
    /// Which stream frames must end with "\n": the closing one (default), every markdown one, or none.
    public enum StreamNewlineRule: String, Sendable { case finalOnly, everyMarkdownChunk, none }
    public var streamNewlineRule: StreamNewlineRule = .finalOnly
    /// A stream with no closing frame this long after its last frame is rolled back.
    public var streamCloseTimeout: Duration = .seconds(60)
    /// Largest text in one stream frame, in UTF-8 bytes (nil: no limit; a later AstrBot test uses 4096).
    public var streamFrameMaxBytes: Int? = nil
    /// Largest request body accepted.
    public var maxBodyBytes = 32 * 1024 * 1024
    /// The platform's time (the system clock; tests share a manual one with the client).
    public var clock: SimClock = .system

    public init() {}
}
