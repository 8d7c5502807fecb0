import ArgumentParser
import Foundation
import QQSimulator

/// `qqtui sim`: the QQ platform simulator as a standalone server.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run the QQ platform simulator on 127.0.0.1 (token, REST, WebSocket gateway, control API).",
        discussion: """
            Point qqtui or any QQ bot SDK at the printed URLs. Control API (JSON):
              POST /sim/c2c   {"user_openid", "content", "attachments"?}      a user writes in private
              POST /sim/group {"group_openid", "member_openid", "content", "mention_bot"?: true}
              POST /sim/event {"t", "d"}                                     any dispatch (GROUP_ADD_ROBOT, …)
              POST /sim/burst {"count", "users"?, "kind"?: "c2c"|"group"|"mixed", "rate"?, "tag"?}   load for benchmarks
              POST /sim/fault {"kind": "close"|"op7"|"op9"|"stall_acks"|"refuse_connections"|"expire_token"|"fail_part_uploads"|"busy_uploads"|"clear", "code"?, "count"?}
              POST /sim/press {"user_openid", "button", "group_openid"?}       a user presses a button the bot sent
              GET  /sim/interactions  the presses and their acknowledgements
              POST /sim/raw   {"text"} or {"base64"}                         a raw frame to every socket
              POST /sim/chaos {"seed", "mean_gap_ms"?, "kinds"?}              seeded random faults; DELETE stops, GET counts
              GET  /sim/sent  everything the bot sent, with status and QQ code;  GET /sim/state  counters
            """)

    @Option(help: "Port to listen on (0 = any free port).")
    var port = 8080

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "AppID the simulator accepts.")
    var appID = SimulatorConfiguration().appID

    @Option(help: "AppSecret the simulator accepts (default: a fixed test secret).")
    var appSecret: String?

    @Option(help: "heartbeat_interval announced in Hello, in milliseconds.")
    var heartbeatMs = SimulatorConfiguration().heartbeatIntervalMs

    @Option(help: "Access token lifetime in seconds.")
    var tokenLifetime = SimulatorConfiguration().tokenLifetime

    @Option(help: ArgumentHelp("Deliver events by signed HTTP callbacks to this URL (after the op 13 check), besides the gateway.", valueName: "url"))
    var webhook: String?

    @Flag(help: "Refuse markdown (msg_type 2) with 40034012, as for a bot not allowed it (before 2026-04, most bots).")
    var noMarkdown = false

    @Option(help: "Inject random faults from this seed (drops, op 7/9, stalled ACKs, refusals, 429/5xx, slow answers).")
    var chaosSeed: UInt64?

    @Option(help: "Mean pause between two chaos faults, in milliseconds.")
    var chaosGapMs = 500

    @Flag(help: "Print the URLs as one JSON object (for scripts) instead of text.")
    var json = false

    @Flag(help: .hidden)   // `qqtui bench`'s child: stop when the process that started it is gone
    var exitWithParent = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard heartbeatMs > 0 else { throw ValidationError("--heartbeat-ms must be positive") }
        guard tokenLifetime > 60 else { throw ValidationError("--token-lifetime must be above 60 seconds") }
        guard chaosGapMs > 0 else { throw ValidationError("--chaos-gap-ms must be positive") }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        var config = SimulatorConfiguration()
        config.host = host
        config.port = port
        config.appID = appID
        if let appSecret { config.appSecret = appSecret }
        config.heartbeatIntervalMs = heartbeatMs
        config.tokenLifetime = tokenLifetime
        config.markdownAllowed = !noMarkdown
        let simulator: QQSimulator
        do {
            simulator = try await QQSimulator.start(config, signals: [.sigint, .sigterm])
        } catch {
            StandardOutput.error("qqtui sim: cannot listen on \(host):\(port): \(error)")
            throw ExitCode(1)
        }
        if let chaosSeed { await simulator.platform.startChaos(SimChaos(seed: chaosSeed, meanGap: .milliseconds(chaosGapMs))) }
        let shownSecret = appSecret == nil ? config.appSecret : "(the --app-secret you gave)"
        if json {
            let info: [String: any Sendable] = ["base_url": simulator.baseURL, "token_url": simulator.tokenURL,
                                                "api_base": simulator.baseURL, "gateway_url": simulator.gatewayURL,
                                                "app_id": config.appID, "port": simulator.port]
            let data = try JSONSerialization.data(withJSONObject: info, options: [.sortedKeys, .withoutEscapingSlashes])
            StandardOutput.write(String(decoding: data, as: UTF8.self))
        } else {
            StandardOutput.write("""
                QQ platform simulator listening on \(simulator.baseURL)
                Configure qqtui (or any QQ bot SDK) with:
                  [bot]
                  app_id = "\(config.appID)"
                  app_secret = "\(shownSecret)"
                  token_url = "\(simulator.tokenURL)"
                  api_base = "\(simulator.baseURL)"
                Gateway: \(simulator.gatewayURL)
                Make a user talk:  curl -s \(simulator.baseURL)/sim/c2c -d '{"user_openid":"U1","content":"你好"}'
                What the bot sent: curl -s \(simulator.baseURL)/sim/sent
                Ctrl-C stops it.
                """)
            if let chaosSeed {
                StandardOutput.write("Chaos: faults from seed \(chaosSeed), one every ~\(chaosGapMs) ms; counts: curl -s \(simulator.baseURL)/sim/chaos")
            }
        }
        if let webhook {
            // The bot may start after the simulator: the check is tried until it passes.
            let platform = simulator.platform
            Task.detached {
                var passed = false
                for _ in 0..<120 where !passed {
                    passed = await platform.useWebhook(webhook)
                    if !passed { try? await Task.sleep(for: .seconds(1)) }
                }
                StandardOutput.error(passed ? "qqtui sim: webhook \(webhook) passed the callback URL check (op 13); events go there too"
                                            : "qqtui sim: webhook \(webhook) did not pass the callback URL check (op 13) in 2 minutes")
            }
        }
        if exitWithParent {
            let parent = getppid()
            Task.detached {
                while getppid() == parent { try? await Task.sleep(for: .milliseconds(500)) }
                Foundation.exit(0)
            }
        }
        try await simulator.waitUntilStopped()
    }
}
