import Foundation
import Logging
import QQSession
import TOMLKit

/// Reads `config.toml` into an ``AppConfig``; any problem is a ``ConfigError`` naming the key.
enum ConfigLoader {
    /// Loads and validates the file at `path`. With `needsSecrets` false (commands that only use the
    /// store), an app secret or API key whose environment variable is not set is no error.
    static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                     needsSecrets: Bool = true) throws -> AppConfig {
        let file = AppConfig.expand(path)
        guard FileManager.default.fileExists(atPath: file) else {
            throw ConfigError(file: file, key: nil, problem:
                "not found. Create it (see README: \"Point qqtui at the real platform\"), or run `qqtui --demo` to try qqtui without one")
        }
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, key: nil, problem: "cannot be read as UTF-8 text")
        }
        var config = try parse(text, file: file, environment: environment, needsSecrets: needsSecrets)
        // Decided from what was parsed, not the text: `bot.app_secret = …` or an inline table hold it too.
        if config.secretInFile, let attributes = try? FileManager.default.attributesOfItem(atPath: file),
           let mode = attributes[.posixPermissions] as? Int, mode & 0o044 != 0 {
            config.warnings.append("\(file) holds app_secret and is readable by other users: chmod 600 \(file)")
        }
        return config
    }

    /// Parses config text (`file` is only used in messages).
    static func parse(_ text: String, file: String, environment: [String: String] = [:], needsSecrets: Bool = true) throws -> AppConfig {
        if let (line, column) = TOMLHeaderCheck.firstBrokenHeader(in: text) {
            throw ConfigError(file: file, key: nil, problem:
                "syntax error at line \(line), column \(column): a table header needs a name, e.g. [bot]")
        }
        let table: TOMLTable
        do {
            // The parser hands strings over as C strings, cut at a NUL: each \u0000 is marked so the
            // getters refuse the value by its key instead (TOMLSection.nulMark).
            table = try TOMLTable(string: TOMLHeaderCheck.markingNULEscapes(in: text))
        } catch let error as TOMLParseError {
            throw ConfigError(file: file, key: nil, problem:
                "syntax error at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        }
        let root = TOMLSection(file: file, path: "", table: table)
        guard let bot = try root.section("bot") else {
            throw ConfigError(file: file, key: "bot", problem: "missing: the [bot] table with app_id and app_secret is required")
        }
        var session = try readBot(bot, environment: environment, needsSecrets: needsSecrets)
        if let gateway = try root.section("gateway") { try readGateway(gateway, into: &session) }
        if let replies = try root.section("replies") { try readReplies(replies, into: &session) }
        if let stream = try root.section("stream") { try readStream(stream, into: &session) }
        session.attachments.directory = AppConfig.dataDirectory + "/attachments"
        if let inbound = try root.section("inbound") { try readInbound(inbound, into: &session) }
        // Users of group bots expect their own session: two members' questions never mix.
        session.handoff.groupSessions = .member
        if let handoff = try root.section("handoff") { try readHandoff(handoff, into: &session) }
        if let webhook = try root.section("webhook") { try readWebhook(webhook, into: &session) }
        let agentSection = try root.section("agent")
        // The typing notice while the agent works on a C2C answer: on unless turned off.
        session.handoff.typing = try agentSection?.bool("typing") ?? true
        if let ms = try agentSection?.int("typing_after_ms", in: 0...60_000) { session.handoff.typingDelay = .milliseconds(ms) }
        let agent = try agentSection.map { try readAgent($0, environment: environment, needsSecrets: needsSecrets) }
        var logFile = AppConfig.stateDirectory + "/qqtui.log"
        var logLevel = Logger.Level.info
        if let log = try root.section("log") {
            if let f = try log.path("file") { logFile = f }
            if let l = try log.string("level") {
                guard let level = Logger.Level(rawValue: l.lowercased()) else {
                    throw log.fail("level", "\"\(l)\" is not a level (trace, debug, info, notice, warning, error, critical)")
                }
                logLevel = level
            }
            try log.rejectUnknownKeys(known: ["file", "level"])
        }
        var storePath = AppConfig.dataDirectory + "/qqtui.sqlite"
        if let store = try root.section("store") {
            if let p = try store.path("path") {
                guard !p.trimmingCharacters(in: .whitespaces).isEmpty else { throw store.fail("path", "is empty") }
                storePath = p
            }
            try store.rejectUnknownKeys(known: ["path"])
        }
        var socketPath: String?
        var consoleQueue = 4 << 20
        if let serve = try root.section("serve") {
            if let p = try serve.path("socket") {
                guard !p.trimmingCharacters(in: .whitespaces).isEmpty else { throw serve.fail("socket", "is empty") }
                guard p.utf8.count <= ControlSocketPath.maxLength else {
                    throw serve.fail("socket", "is \(p.utf8.count) bytes long; a Unix socket path may have at most \(ControlSocketPath.maxLength)")
                }
                socketPath = p
            }
            if let kb = try serve.int("console_queue_kb") {
                guard (64...1_048_576).contains(kb) else { throw serve.fail("console_queue_kb", "must be between 64 and 1048576 (KiB)") }
                consoleQueue = kb << 10
            }
            try serve.rejectUnknownKeys(known: ["socket", "console_queue_kb"])
        }
        var notify = NotifyConfig()
        if let n = try root.section("notify") {
            if let bell = try n.bool("bell") { notify.bell = bell }
            if let command = try n.stringList("command") {
                guard let program = command.first, !program.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw n.fail("command", "is empty: give the program and its arguments, e.g. [\"notify-send\", \"{title}\", \"{body}\"]")
                }
                notify.command = command
            }
            try n.rejectUnknownKeys(known: ["bell", "command"])
        }
        let keys = try root.section("keys").map(readKeys) ?? KeyBindings()
        let canned = try root.section("canned").map(readCanned) ?? [:]
        try root.rejectUnknownKeys(known: ["bot", "gateway", "replies", "stream", "inbound", "store", "log", "handoff", "agent", "webhook",
                                           "notify", "keys", "canned", "serve"])
        var config = AppConfig(session: session, logFile: logFile, logLevel: logLevel, source: file)
        // Children never inherit a secret qqtui holds, by the variable's name or by its value.
        var withheldNames: Set<String> = []
        if let name = try root.section("bot")?.string("app_secret_env") { withheldNames.insert(name) }
        if let name = try root.section("agent")?.string("api_key_env") { withheldNames.insert(name) }
        var withheldValues = [session.appSecret.exposedValue]
        if case .openai(let c)? = agent, let key = c.apiKey { withheldValues.append(key.exposedValue) }
        config.childEnvironment = ChildEnvironment.withholding(withheldNames, values: withheldValues)
        config.notify = notify
        config.keys = keys
        config.canned = canned
        config.storePath = storePath
        config.socketPath = socketPath ?? ControlSocketPath.beside(store: storePath)
        config.consoleQueueBytes = consoleQueue
        config.agent = agent?.inheriting(config.childEnvironment)
        config.secretInFile = bot.has("app_secret")
        return config
    }

    static let botKeys = ["app_id", "app_secret", "app_secret_env", "sandbox", "intents", "allow_from", "markdown",
                          "token_url", "api_base", "gateway_url", "transport"]

    private static func readBot(_ bot: TOMLSection, environment: [String: String], needsSecrets: Bool) throws -> SessionConfiguration {
        let appID: String
        if let n = bot.raw("app_id")?.int { appID = String(n) }
        else if let s = try bot.string("app_id"), !s.trimmingCharacters(in: .whitespaces).isEmpty { appID = s.trimmingCharacters(in: .whitespaces) }
        else { throw bot.fail("app_id", bot.has("app_id") ? "is empty" : "missing (the bot's AppID from the QQ Open Platform)") }
        // It travels in a header and is printed by `config check`: no control character may ride along.
        guard appID.unicodeScalars.allSatisfy(TextSanitizer.isSafe) else {
            throw bot.fail("app_id", "holds a control or formatting character (the AppID is the number from the QQ Open Platform)")
        }

        let inline = try bot.string("app_secret")
        let envName = try bot.string("app_secret_env")
        let secret: String
        switch (inline, envName) {
        case (.some, .some):
            throw bot.fail("app_secret", "set either app_secret or app_secret_env, not both")
        case (let s?, nil):
            guard !s.isEmpty else { throw bot.fail("app_secret", "is empty") }
            secret = s
        case (nil, let name?):
            secret = try environmentSecret(name, key: "app_secret_env", in: bot, environment: environment,
                                           hint: "to put the secret itself in the file, use app_secret", required: needsSecrets)
        case (nil, nil):
            guard needsSecrets else { secret = ""; break }
            throw bot.fail("app_secret", "missing: set app_secret, or app_secret_env to the name of an environment variable holding it")
        }
        let sandbox = try bot.bool("sandbox") ?? false
        var session = SessionConfiguration(appID: appID, appSecret: Secret(secret), sandbox: sandbox)
        if let raw = bot.raw("intents") { session.intents = try readIntents(raw, bot) }
        if let allow = try bot.stringList("allow_from") {
            guard !allow.isEmpty else {
                throw bot.fail("allow_from", "is empty, so nobody could reach the bot; use [\"*\"] to allow everyone")
            }
            session.allowFrom = AllowList(entries: allow)
        }
        // Markdown is open to every bot since 2026-04 and agents write it: their replies go as
        // markdown by default; an operator's lines stay plain text (typed by hand, * and _ literal).
        if let v = try bot.string("transport") {
            guard let transport = SessionConfiguration.Transport(rawValue: v) else {
                throw bot.fail("transport", "\"\(v)\" is not one of websocket (the gateway, the default), webhook (signed HTTP callbacks)")
            }
            session.transport = transport
        }
        session.markdown = false
        session.agentMarkdown = true
        if let v = bot.raw("markdown") {
            if let all = v.bool {
                session.markdown = all
                session.agentMarkdown = all
            } else if v.string == "agent" {
                session.agentMarkdown = true
            } else {
                throw bot.fail("markdown", "expected true (everything), false (plain text) or \"agent\" (the agent's replies; the default)")
            }
        }
        if let url = try bot.string("token_url") { session.tokenURL = try httpURL(url, "token_url", bot) }
        if let url = try bot.string("api_base") { session.apiBase = try httpURL(url, "api_base", bot) }
        if let url = try bot.string("gateway_url") {
            guard url.hasPrefix("ws://") || url.hasPrefix("wss://") else { throw bot.fail("gateway_url", "must start with ws:// or wss://") }
            session.gatewayURL = url
        }
        try bot.rejectUnknownKeys(known: botKeys)
        return session
    }

    private static func readIntents(_ raw: any TOMLValueConvertible, _ bot: TOMLSection) throws -> Intents {
        if let n = raw.int {
            guard n > 0 else { throw bot.fail("intents", "must be a positive bitmask (33554432 = group_and_c2c)") }
            let unknown = n & ~Intents.documented.rawValue
            guard unknown == 0 else { throw bot.fail("intents", "bit(s) \(unknown) are not documented intents") }
            return Intents(rawValue: n)
        }
        if let list = raw.array {
            let names = list.compactMap(\.string)
            guard names.count == list.count, !names.isEmpty else {
                throw bot.fail("intents", "expected an integer or a non-empty list of intent names such as [\"group_and_c2c\"]")
            }
            switch Intents.parse(names: names) {
            case .success(let intents): return intents
            case .failure(let unknown):
                let known = Set(Intents.byName.keys).sorted()
                let hint = TOMLSection.closest(unknown.name, in: known).map { " (did you mean \($0)?)" } ?? " (known: \(known.joined(separator: ", ")))"
                throw bot.fail("intents", "unknown intent \"\(unknown.name)\"" + hint)
            }
        }
        throw bot.fail("intents", "expected an integer or a list of intent names such as [\"group_and_c2c\"]")
    }

    /// An http(s) URL that credentials travel to: https, or plain http only to this machine.
    static func httpURL(_ text: String, _ key: String, _ section: TOMLSection,
                        httpOnlyToLoopback: Bool = true) throws -> String {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw section.fail(key, "\"\(text)\" is not an http(s) URL")
        }
        if httpOnlyToLoopback, scheme == "http", !["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased()) {
            throw section.fail(key, "must use https (plain http is only allowed to 127.0.0.1 / localhost)")
        }
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed
    }

    /// The value of the environment variable `name` given in `key`. The name is echoed only when it
    /// looks like one: a secret pasted there by mistake must not be printed. Unless `required`, an
    /// unset variable gives "".
    static func environmentSecret(_ name: String, key: String, in section: TOMLSection, environment: [String: String],
                                  hint: String, required: Bool = true) throws -> String {
        guard name.range(of: #"^[A-Za-z_][A-Za-z0-9_]{0,63}$"#, options: .regularExpression) != nil else {
            throw section.fail(key, "is not an environment variable name (\(hint))")
        }
        guard let value = environment[name], !value.isEmpty else {
            guard required else { return "" }
            throw section.fail(key, "environment variable \(name) is not set or empty")
        }
        return value
    }

    private static func readGateway(_ g: TOMLSection, into s: inout SessionConfiguration) throws {
        if let shard = try g.intList("shard") {
            guard shard.count == 2, shard[1] >= 1, shard[0] >= 0, shard[0] < shard[1] else {
                throw g.fail("shard", "expected [index, count] with 0 ≤ index < count, e.g. [0, 1]")
            }
            s.shard = Shard(index: shard[0], count: shard[1])
        }
        if let v = try g.int("reconnect_base_ms", in: 1...600_000) { s.reconnect.baseDelay = .milliseconds(v) }
        if let v = try g.int("reconnect_max_ms", in: 1...3_600_000) { s.reconnect.maxDelay = .milliseconds(v) }
        if let v = try g.double("reconnect_jitter", in: 0...1) { s.reconnect.jitter = v }
        if let v = try g.int("max_attempts", in: 1...10_000) { s.reconnect.maxAttempts = v }
        if let v = try g.int("connect_timeout_s", in: 1...600) { s.timeouts.connect = .seconds(v) }
        if let v = try g.int("hello_timeout_s", in: 1...600) { s.timeouts.hello = .seconds(v) }
        if let v = try g.int("ready_timeout_s", in: 1...600) { s.timeouts.ready = .seconds(v) }
        if let v = try g.int("request_timeout_s", in: 1...600) { s.timeouts.request = .seconds(v) }
        if let v = try g.int("token_refresh_margin_s", in: 0...3600) { s.tokenRefreshMargin = .seconds(v) }
        if s.reconnect.maxDelay < s.reconnect.baseDelay {
            throw g.fail("reconnect_max_ms", "is smaller than reconnect_base_ms")
        }
        try g.rejectUnknownKeys(known: ["shard", "reconnect_base_ms", "reconnect_max_ms", "reconnect_jitter", "max_attempts",
                                        "connect_timeout_s", "hello_timeout_s", "ready_timeout_s", "request_timeout_s",
                                        "token_refresh_margin_s"])
    }

    private static func readReplies(_ r: TOMLSection, into s: inout SessionConfiguration) throws {
        if let v = try r.int("group_window_s", in: 1...86_400) { s.replyWindow.group = .seconds(v) }
        if let v = try r.int("c2c_window_s", in: 1...86_400) { s.replyWindow.c2c = .seconds(v) }
        if let v = try r.int("budget", in: 1...100) { s.replyWindow.budget = v }
        if let v = try r.int("c2c_budget", in: 1...100) { s.replyWindow.c2cBudget = v }
        if let v = try r.int("group_budget", in: 1...100) { s.replyWindow.groupBudget = v }
        if let v = try r.bool("proactive") { s.sending.proactive = v }
        if let v = try r.int("window_margin_s", in: 0...600) { s.sending.windowMargin = .seconds(v) }
        if let v = try r.int("max_length", in: 100...20_000) { s.sending.maxLength = v }
        if let v = try r.int("retries", in: 0...10) { s.sending.retries = v }
        if let v = try r.int("retry_base_ms", in: 10...60_000) { s.sending.retryBase = .milliseconds(v) }
        if let v = try r.int("shutdown_grace_s", in: 1...600) { s.sending.shutdownGrace = .seconds(v) }
        if let v = try r.int("max_upload_mb", in: 1...200) { s.sending.maxUploadBytes = v * 1024 * 1024 }
        try r.rejectUnknownKeys(known: ["group_window_s", "c2c_window_s", "budget", "c2c_budget", "group_budget", "proactive", "window_margin_s",
                                        "max_length", "retries", "retry_base_ms", "max_upload_mb", "shutdown_grace_s"])
    }

    private static func readStream(_ t: TOMLSection, into s: inout SessionConfiguration) throws {
        if let v = try t.string("api") {
            guard let api = StreamPolicy.API(rawValue: v) else {
                throw t.fail("api", "\"\(v)\" is not one of legacy, stream_messages")
            }
            s.stream.api = api
        }
        if let v = try t.bool("enabled") { s.stream.enabled = v }
        if let v = try t.int("interval_ms", in: 100...60_000) { s.stream.interval = .milliseconds(v) }
        if let v = try t.int("max_frame_length", in: 16...10_000) { s.stream.maxFrameLength = v }
        if let v = try t.string("stream_messages_seq") {
            guard ["per_stream", "per_frame"].contains(v) else {
                throw t.fail("stream_messages_seq", "\"\(v)\" is not one of per_stream, per_frame")
            }
            s.stream.seqPerFrame = v == "per_frame"
        }
        try t.rejectUnknownKeys(known: ["api", "enabled", "interval_ms", "max_frame_length", "stream_messages_seq"])
    }

    private static func readInbound(_ i: TOMLSection, into s: inout SessionConfiguration) throws {
        if let v = try i.bool("download_attachments") { s.attachments.download = v }
        if let v = try i.path("attachment_dir") { s.attachments.directory = v }
        if let v = try i.int("max_attachment_mb", in: 1...1024) { s.attachments.maxBytes = v * 1024 * 1024 }
        if let v = try i.int("download_timeout_s", in: 1...600) { s.attachments.timeout = .seconds(v) }
        if let v = try i.int("dedup_window_s", in: 1...604_800) { s.dedupWindow = .seconds(v) }
        try i.rejectUnknownKeys(known: ["download_attachments", "attachment_dir", "max_attachment_mb", "download_timeout_s",
                                        "dedup_window_s"])
    }

    /// `[webhook]`: where the platform's callbacks arrive (with `[bot] transport = "webhook"`).
    static func readWebhook(_ w: TOMLSection, into s: inout SessionConfiguration) throws {
        if let listen = try w.string("listen") {
            let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
            // Port 0: any free port (serve says which); for tests and throwaway setups.
            guard parts.count >= 2, let port = Int(parts.last ?? ""), (0...65_535).contains(port) else {
                throw w.fail("listen", "expected host:port, e.g. \"127.0.0.1:8080\" (a reverse proxy in front terminates HTTPS)")
            }
            let host = parts.dropLast().joined(separator: ":").trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            guard !host.isEmpty else { throw w.fail("listen", "has no host: \"127.0.0.1:\(port)\" listens on this machine only") }
            s.webhook.host = host
            s.webhook.port = port
        }
        if let path = try w.string("path") {
            guard path.hasPrefix("/"), !path.contains(" ") else { throw w.fail("path", "must start with / (the end of the callback URL on q.qq.com)") }
            s.webhook.path = path
        }
        if let v = try w.int("replay_window_s", in: 10...86_400) { s.webhook.replayWindow = .seconds(v) }
        if let v = try w.int("max_body_kb", in: 16...65_536) { s.webhook.maxBodyBytes = v << 10 }
        let cert = try w.path("tls_cert"), key = try w.path("tls_key")
        if (cert == nil) != (key == nil) { throw w.fail(cert == nil ? "tls_cert" : "tls_key", "tls_cert and tls_key go together (PEM files)") }
        for (name, file) in [("tls_cert", cert), ("tls_key", key)] {
            if let file, !FileManager.default.isReadableFile(atPath: file) { throw w.fail(name, "cannot read \(file)") }
        }
        s.webhook.tlsCertificate = cert
        s.webhook.tlsKey = key
        try w.rejectUnknownKeys(known: ["listen", "path", "replay_window_s", "max_body_kb", "tls_cert", "tls_key"])
    }
}
