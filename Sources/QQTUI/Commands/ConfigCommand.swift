import ArgumentParser
import Foundation
import QQSession

/// `qqtui config check|example`.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check a config file, or print an example one.",
        subcommands: [Check.self, Example.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the config file and print the settings qqtui would use (secrets hidden).")
        @Option(help: ArgumentHelp("Config file (default ~/.config/qqtui/config.toml).", valueName: "file"))
        var config: String?

        func run() async throws {
            let c = try CLI.loadConfig(config)
            let s = c.session
            // Every value is the operator's text (paths, names, URLs): shown made safe for the terminal.
            StandardOutput.write(TextSanitizer.multiline("""
                \(c.source): OK
                  app_id        \(s.appID)
                  app_secret    \(s.appSecret)
                  sandbox       \(s.sandbox)
                  intents       \(s.intents.rawValue)
                  allow_from    \(s.allowFrom == .everyone ? "everyone" : "\(s.allowFrom)")
                  markdown      \(s.markdown)
                  token_url     \(s.tokenURL)
                  api_base      \(s.apiBase)
                  gateway       \(s.gatewayURL ?? "discovered with GET /gateway/bot")
                  shard         [\(s.shard.index), \(s.shard.count)]
                  reconnect     \(s.reconnect.baseDelay.shortDescription) → \(s.reconnect.maxDelay.shortDescription), \(s.reconnect.maxAttempts) attempts
                  reply window  group \(s.replyWindow.group.shortDescription), c2c \(s.replyWindow.c2c.shortDescription), replies: group \(s.replyWindow.groupBudget), c2c \(s.replyWindow.c2cBudget)
                  sending       \(s.sending.proactive ? "proactive when no window is open" : "no proactive sends"), split at \(s.sending.maxLength), \(s.sending.retries) retries
                  stream        \(s.stream.enabled ? "\(s.stream.api.rawValue), one frame per \(s.stream.interval.shortDescription)" : "off")
                  attachments   \(s.attachments.download ? "downloaded to \(s.attachments.directory ?? "memory")" : "not downloaded")
                  handoff       new conversations \(s.handoff.defaultOwner.rawValue.uppercased()), busy: \(s.handoff.busy.rawValue), timeouts \(s.handoff.firstEventTimeout.shortDescription)/\(s.handoff.idleTimeout.shortDescription)/\(s.handoff.turnTimeout.shortDescription)
                  agent         \(c.agent.map { $0.make().name } ?? "none")
                  notify        bell \(c.notify.bell ? "on" : "off"), command \(c.notify.command.map { $0.joined(separator: " ") } ?? "none")
                  keys          \(KeyBindings.Action.allCases.map { "\($0.rawValue) \(c.keys.name($0))" }.joined(separator: ", "))
                  canned        \(c.canned.isEmpty ? "none" : c.canned.keys.sorted().joined(separator: ", "))
                  store         \(c.storePath)
                  log           \(c.logFile) (\(c.logLevel))
                """))
        }
    }

    struct Example: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an example config.toml.")
        func run() async throws { StandardOutput.write(ExampleConfig.text) }
    }
}

/// The example configuration (also the reference of every key).
enum ExampleConfig {
    static let text = """
        # qqtui configuration — ~/.config/qqtui/config.toml (chmod 600: it holds a secret)

        [bot]
        app_id = "102000001"                      # AppID from q.qq.com → 开发设置
        app_secret_env = "QQTUI_APP_SECRET"       # or: app_secret = "…" (never both)
        sandbox = false                           # true: the sandbox API (unpublished bots, sandbox groups)
        intents = ["group_and_c2c"]               # or an integer bitmask, e.g. 33554432
        allow_from = ["*"]                        # user/member openids allowed to reach the bot, "*" = everyone
        markdown = "agent"                        # the agent's replies as markdown, yours as text; true: all; false: none
        # token_url = "https://api.bot.qq.com/app/getAppAccessToken"   # before 2026-08: https://bots.qq.com/app/getAppAccessToken
        # api_base = "https://api.bot.qq.com"     # sandbox: https://sandbox.api.bot.qq.com; before 2026-08: https://api.sgroup.qq.com
        # gateway_url = "wss://…"                 # skip GET /gateway/bot

        [gateway]
        shard = [0, 1]                            # [index, count]
        reconnect_base_ms = 1000                  # backoff: base · 2^(n-1), capped, with jitter
        reconnect_max_ms = 60000
        reconnect_jitter = 0.5
        max_attempts = 30                         # consecutive failures before OFFLINE
        connect_timeout_s = 10
        hello_timeout_s = 15
        ready_timeout_s = 15
        request_timeout_s = 15
        token_refresh_margin_s = 50               # keep under 60: the platform rotates tokens in their last minute

        [replies]
        group_window_s = 300                      # passive replies to a group message: 5 min
        c2c_window_s = 3600                       # to a C2C message: 60 min
        c2c_budget = 4                            # passive replies per C2C message (4 since 2026; 5 before)
        group_budget = 5                          # per group message (budget = N sets both)
        proactive = true                          # no window open: send proactively (false: refuse first)
        window_margin_s = 10                      # treat a window as closed this early
        max_length = 2000                         # longer text is split (at lines, never inside code fences)
        retries = 3                               # after 429/5xx/timeouts, then the message is marked failed
        retry_base_ms = 500
        max_upload_mb = 10                        # larger files go up in parts (chunked upload)

        [stream]                                  # agent replies in C2C
        api = "legacy"                            # or "stream_messages" (the newer endpoint)
        enabled = true                            # false: send the whole reply at the end, as in groups
        interval_ms = 1000                        # at most one frame per interval
        max_frame_length = 1300                   # UTF-16 units: keeps a frame under 4096 bytes
        stream_messages_seq = "per_stream"        # or "per_frame" (the sources disagree)

        [inbound]
        download_attachments = true
        # attachment_dir = "~/.local/share/qqtui/attachments"
        max_attachment_mb = 20
        download_timeout_s = 30
        dedup_window_s = 3600

        [handoff]                                 # who answers: human, agent (streams to QQ) or draft (to you only)
        default_owner = "human"                   # owner of a conversation qqtui has not seen before
        busy = "queue"                            # a message during an agent turn: queue | interrupt
        answer_pending_on_handover = true         # hand over while a user waits: the agent answers at once
        operator_reply_takes_over = true          # replying by hand in an AGENT conversation takes it back
        first_event_timeout_s = 60                # no first word from the agent: the turn is cancelled
        idle_timeout_s = 120                      # the agent goes quiet mid-turn
        turn_timeout_s = 600                      # a whole turn
        max_turns = 64                            # agent turns at once; more wait, oldest first
        history_messages = 40                     # context given to the agent
        kept_conversations = 1000                 # idle conversations kept in memory (others are read back from the store)
        group_trigger = "mention"                 # in groups the agent answers @bot messages (all: every message)
        group_sessions = "member"                 # each group member their own agent session (group: one per group)
        # human_button = "转人工"                  # a button under agent replies that hands the conversation to you
        # human_button_prompt = "需要人工服务请点这里"
        # human_button_pressed = "已通知人工客服"   # the pressed button's label
        # human_answer = "已为您转接人工客服，请稍候，马上有人回复您。"   # unless it takes your last passive reply

        # [agent]                                 # uncomment to let an agent answer the conversations you hand over
        # backend = "command"                     # command | openai | acp | echo | demo
        # typing = true                           # C2C: show the user "typing" until the agent's first words
        # typing_after_ms = 1000                  #   once the agent took this long (a notice may cost a passive reply)
        # command = ["/usr/local/bin/answer"]     # command/acp: the program; for command the prompt goes to stdin,
        # env = { MODEL = "small" }               #   stdout is the answer, a line with only a form feed is a segment break
        # directory = "/srv/agent"
        # kill_grace_ms = 3000                    # command: SIGTERM, then SIGKILL after this
        # base_url = "http://127.0.0.1:8080/v1"   # openai: llama.cpp, Ollama /v1, vLLM, LM Studio or a cloud API
        # model = "qwen2.5-7b-instruct"
        # api_key_env = "OPENAI_API_KEY"          # the key stays in the environment, never in this file
        # system_prompt = "你是某某店的客服助手，回答简洁礼貌。"
        # max_history_messages = 40
        # temperature = 0.7
        # permission_policy = "deny"              # acp: tool permission requests: deny | ask_operator
        # cancel_grace_ms = 3000                  # acp: wait this long for the agent to confirm a cancel

        [store]                                   # every message, send status, ledger entry (SQLite, WAL)
        # path = "~/.local/share/qqtui/qqtui.sqlite"

        [notify]                                  # a new message in a HUMAN conversation that is not on screen
        bell = true                               # ring the terminal bell
        # command = ["notify-send", "{title}", "{body}"]   # run a program ({title}, {body} replaced; no shell)
                                                  # (one bell / notification per burst of messages)

        [keys]                                    # the console's action keys: F1…F12, C-x (Ctrl), M-x (Alt)
        # handoff = "F2"                          # hand the conversation to the agent (also /handoff)
        # takeback = "C-t"                        # take it back, also mid-stream
        # drafts = "F3"                           # show the next waiting draft
        # next = "F4"                             # open the longest-waiting conversation (also /next)
        # help = "F1"
                                                  # editing keys (C-a line start, C-e, C-w, C-u, C-k…) are fixed

        [canned]                                  # canned replies: /canned NAME puts the text in the composer
        # hello = "您好，这里是人工客服，请问有什么可以帮您？"
        # refund = "退款会在 3 个工作日内原路退回。"

        [log]
        # file = "~/.local/state/qqtui/qqtui.log"
        level = "info"
        """
}
