import Foundation
import QQSession
@testable import QQTUI
import Testing

@Suite("Config loader")
struct ConfigLoaderTests {
    func parse(_ text: String, env: [String: String] = [:]) throws -> AppConfig {
        try ConfigLoader.parse(text, file: "test.toml", environment: env)
    }

    func problem(_ text: String, env: [String: String] = [:]) -> ConfigError? {
        do { _ = try parse(text, env: env); return nil } catch let e as ConfigError { return e } catch { return nil }
    }

    @Test("the issue's example config loads with its defaults")
    func example() throws {
        let c = try parse("""
            [bot]
            app_id = "102000001"
            app_secret = "s3cret-abcdef"
            sandbox = false
            intents = 33554432
            allow_from = ["*"]
            markdown = false
            token_url = "https://bots.qq.com/app/getAppAccessToken"
            api_base = "https://api.sgroup.qq.com"
            """)
        #expect(c.session.appID == "102000001")
        #expect(c.session.appSecret.exposedValue == "s3cret-abcdef")
        #expect(c.session.intents == .groupAndC2C)
        #expect(c.session.allowFrom == .everyone)
        #expect(c.session.shard == Shard(index: 0, count: 1))
        #expect(c.session.reconnect.maxAttempts == 30)
    }

    @Test("sandbox switches the default API base; names in intents; secret from the environment; numeric app_id")
    func variants() throws {
        let c = try parse("""
            [bot]
            app_id = 102000001
            app_secret_env = "MY_SECRET"
            sandbox = true
            intents = ["group_and_c2c", "interaction"]
            allow_from = ["U1", "U2"]
            [gateway]
            shard = [1, 4]
            reconnect_base_ms = 500
            """, env: ["MY_SECRET": "from-env-123"])
        #expect(c.session.appID == "102000001")
        #expect(c.session.apiBase == SessionConfiguration.sandboxAPIBase)
        #expect(c.session.appSecret.exposedValue == "from-env-123")
        #expect(c.session.intents == [.groupAndC2C, .interaction])
        #expect(c.session.allowFrom.allows("U1") && !c.session.allowFrom.allows("U3"))
        #expect(c.session.shard == Shard(index: 1, count: 4))
        #expect(c.session.reconnect.baseDelay == .milliseconds(500))
        let streaming = try parse("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[replies]\nproactive = false\n[stream]\napi = \"stream_messages\"\ninterval_ms = 500")
        #expect(streaming.session.sending.proactive == false)
        #expect(streaming.session.stream.api == .streamMessages)
        #expect(streaming.session.stream.interval == .milliseconds(500))
    }

    @Test("every bad config names the key and the problem", arguments: [
        ("[bot]\napp_secret = \"x\"", "bot.app_id", "missing"),
        ("[bot]\napp_id = \"1\"", "bot.app_secret", "missing"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\napp_secret_env = \"Y\"", "bot.app_secret", "not both"),
        ("[bot]\napp_id = \"1\"\napp_secret_env = \"NOPE_UNSET\"", "bot.app_secret_env", "NOPE_UNSET"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\nintents = \"all\"", "bot.intents", "integer or a list"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\nintents = [\"group_and_c2cc\"]", "bot.intents", "did you mean group_and_c2c"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\nintents = 4", "bot.intents", "not documented"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\nallow_from = []", "bot.allow_from", "nobody"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\nallow_from = [\"U1\", 2]", "bot.allow_from", "item 2"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\nsandbox = \"yes\"", "bot.sandbox", "true or false"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\napi_base = \"ftp://x\"", "bot.api_base", "http(s) URL"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\ntoken_url = \"http://example.com/t\"", "bot.token_url", "https"),
        ("[bot]\napp_id = \"1\"\napp_scret = \"x\"", "bot.app_secret", "missing"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\nmarkdwon = true", "bot.markdwon", "did you mean markdown"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[gateway]\nshard = [1, 1]", "gateway.shard", "index < count"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[gateway]\nmax_attempts = 0", "gateway.max_attempts", "out of range"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[log]\nlevel = \"loud\"", "log.level", "not a level"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[stream]\napi = \"v3\"", "stream.api", "legacy, stream_messages"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[replies]\nproactive = \"no\"", "replies.proactive", "true or false"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[colour]\nx = 1", "colour", "unknown"),
        ("bot = 3", "bot", "expected a table"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[keys]\nhandof = \"F5\"", "keys.handof", "did you mean handoff"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[keys]\nhandoff = \"Super-K\"", "keys.handoff", "not a key name"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[keys]\nhandoff = \"C-a\"", "keys.handoff", "editing key"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[keys]\nhandoff = \"F9\"\nnext = \"F9\"", "keys.next", "already the key of handoff"),
        ("[bot]\napp_id = \"1\"\napp_secret = \"x\"\n[canned]\nhello = \"\"", "canned.hello", "empty"),
    ])
    func errors(text: String, key: String, fragment: String) {
        let e = problem(text)
        #expect(e?.key == key, "\(String(describing: e))")
        #expect(e?.problem.contains(fragment) == true, "\(String(describing: e))")
    }

    @Test("[keys] rebinds action keys and [canned] holds named replies")
    func keysAndCanned() throws {
        let c = try ConfigLoader.parse("""
            [bot]
            app_id = "1"
            app_secret = "x"
            [keys]
            handoff = "F7"
            next = "C-g"
            [canned]
            hello = "您好"
            """, file: "test.toml")
        #expect(c.keys.action(for: .function(7)) == .handoff && c.keys.action(for: .ctrl("g")) == .next)
        #expect(c.keys.action(for: .function(2)) == nil && c.keys.action(for: .function(3)) == .drafts)
        #expect(c.canned == ["hello": "您好"])
    }

    @Test("a syntax error gives line and column; secret values never appear in messages")
    func syntaxAndSecrets() {
        let e = problem("[bot\napp_id = 1")
        #expect(e?.problem.contains("line 1") == true)
        // The secret pasted into app_secret_env by mistake: refused without echoing it.
        let pasted = problem("[bot]\napp_id = \"1\"\napp_secret_env = \"sk-TOPSECRET-value-9f8e\"")
        #expect(pasted?.key == "bot.app_secret_env")
        #expect(pasted.map { !$0.description.contains("TOPSECRET") } == true)
        let wrongType = problem("[bot]\napp_id = \"1\"\napp_secret = 987654321")
        #expect(wrongType?.key == "bot.app_secret")
        #expect(wrongType.map { !$0.description.contains("987654321") } == true)
        #expect((try? parse("[bot]\napp_id = \"1\"\napp_secret = \"x\"\napi_base = \"http://127.0.0.1:8080\"")) != nil,
                "plain http to loopback (a simulator) is fine")
    }

    @Test("found by fuzzing: a table header no key can start (it aborted the TOML parser) is a syntax error naming the line",
          arguments: ["[!]", "[=", "[[[1]]]", "[\u{FFFD}\u{1B}", "[[ [x]]", "[ \u{3000}bot]", "[bot]\napp_id = \"1\"\n\n  [\"ok\"]\n[#]"])
    func brokenHeader(text: String) {
        let e = problem(text)
        #expect(e?.key == nil)
        #expect(e?.problem.contains("syntax error at line") == true, "\(String(describing: e))")
    }

    @Test("headers inside strings, comments and multi-line arrays are not headers")
    func notHeaders() {
        let text = #"""
            [bot]
            app_id = "1"
            app_secret = "x"
            [agent]
            backend = "openai"
            base_url = "http://127.0.0.1:9/v1"
            model = "m"
            system_prompt = """
            [!] 注意 \
            [= not a header \\\""
            [ [x] ]
            """"
            # [! a comment]
            [ "agent".'x' ]
            """#
        #expect(TOMLHeaderCheck.firstBrokenHeader(in: text) == nil)
        #expect(TOMLHeaderCheck.firstBrokenHeader(in: "a = [\n[[[1]]],\n'[!'\n]\nb = '''\n[!]'''''\n[c]") == nil)
        let bad = TOMLHeaderCheck.firstBrokenHeader(in: "a = \"x\"\n\n  [!]")
        #expect(bad?.line == 3 && bad?.column == 4)
    }

    @Test("a world-readable config holding a secret gets a warning")
    func permissions() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-perm-\(UUID().uuidString).toml").path
        _ = FileManager.default.createFile(atPath: path, contents: Data("[bot]\napp_id = \"1\"\napp_secret = \"abcdef\"\n".utf8),
                                       attributes: [.posixPermissions: 0o644])
        let loose = try ConfigLoader.load(path: path)
        #expect(loose.warnings.contains { $0.contains("chmod 600") })
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try ConfigLoader.load(path: path).warnings.isEmpty)
    }
}

/// The keys issue 16 added: markdown's three values, typing, the human button (and its intent).
@Suite("Config loader: the 2026 platform keys")
struct ConfigLoader2026Tests {
    static let bot = "[bot]\napp_id = \"1\"\napp_secret = \"x\"\n"

    func parse(_ text: String) throws -> AppConfig { try ConfigLoader.parse(Self.bot + text, file: "test.toml") }

    @Test("markdown: the agent's replies by default; true everything, false nothing; anything else named")
    func markdown() throws {
        let plain = try parse("")
        #expect(plain.session.agentMarkdown && !plain.session.markdown)
        #expect(!plain.session.intents.contains(.interaction), "no button, no interaction intent")
        #expect(plain.session.handoff.typing)
        #expect(plain.session.handoff.groupSessions == .member)
        #expect(try parse("[handoff]\ngroup_sessions = \"group\"\n").session.handoff.groupSessions == .group)
        #expect(throws: ConfigError.self) { try parse("[handoff]\ngroup_sessions = \"user\"\n") }
        let all = try ConfigLoader.parse("[bot]\napp_id = \"1\"\napp_secret = \"x\"\nmarkdown = true", file: "t.toml")
        #expect(all.session.markdown && all.session.agentMarkdown)
        let none = try ConfigLoader.parse("[bot]\napp_id = \"1\"\napp_secret = \"x\"\nmarkdown = false", file: "t.toml")
        #expect(!none.session.markdown && !none.session.agentMarkdown)
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("[bot]\napp_id = \"1\"\napp_secret = \"x\"\nmarkdown = \"yes\"", file: "t.toml") }
    }

    @Test("the human button subscribes the interaction intent; typing can be turned off or delayed; bad values named")
    func humanButtonAndTyping() throws {
        let c = try parse("[handoff]\nhuman_button = \"转人工\"\nhuman_answer = \"稍等\"\n[agent]\nbackend = \"echo\"\ntyping = false\n")
        #expect(c.session.handoff.humanButton == "转人工" && c.session.handoff.humanAnswer == "稍等")
        #expect(c.session.intents.contains(.interaction) && c.session.intents.contains(.groupAndC2C))
        #expect(!c.session.handoff.typing)
        #expect(try parse("").session.handoff.typingDelay == .seconds(1))
        #expect(try parse("[agent]\nbackend = \"echo\"\ntyping_after_ms = 0\n").session.handoff.typingDelay == .zero)
        #expect(try parse("[agent]\nbackend = \"demo\"\ntyping_after_ms = 2500\n").session.handoff.typingDelay == .milliseconds(2500))
        #expect(throws: ConfigError.self) { try parse("[agent]\nbackend = \"echo\"\ntyping_after_ms = 70000\n") }
        #expect(throws: ConfigError.self) { try parse("[handoff]\nhuman_button = \"\"\n") }
        #expect(throws: ConfigError.self) { try parse("[agent]\nbackend = \"echo\"\ntyping = \"on\"\n") }
    }

    @Test("webhook: transport and the [webhook] section; bad values named")
    func webhook() throws {
        #expect(try parse("").session.transport == .websocket)
        let c = try ConfigLoader.parse(Self.bot + "transport = \"webhook\"\n[webhook]\nlisten = \"127.0.0.1:9443\"\npath = \"/cb\"\nreplay_window_s = 60\nmax_body_kb = 512\n",
                                       file: "t.toml")
        #expect(c.session.transport == .webhook)
        #expect(c.session.webhook.host == "127.0.0.1" && c.session.webhook.port == 9443 && c.session.webhook.path == "/cb")
        #expect(c.session.webhook.replayWindow == .seconds(60) && c.session.webhook.maxBodyBytes == 512 << 10)
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(Self.bot + "transport = \"http\"\n", file: "t.toml") }
        #expect(throws: ConfigError.self) { try parse("[webhook]\nlisten = \"9443\"\n") }
        #expect(throws: ConfigError.self) { try parse("[webhook]\npath = \"cb\"\n") }
    }
}
