import Foundation
import QQSession
@testable import QQTUI
import Testing

@Suite("Config: [agent] and [handoff]")
struct AgentConfigTests {
    let bot = "[bot]\napp_id = \"1\"\napp_secret = \"s3cret-agentcfg\"\n"

    func parse(_ text: String, env: [String: String] = [:]) throws -> AppConfig {
        try ConfigLoader.parse(bot + text, file: "test.toml", environment: env)
    }

    func problem(_ text: String, env: [String: String] = [:]) -> String? {
        do { _ = try parse(text, env: env); return nil } catch let e as ConfigError { return "\(e)" } catch { return "\(error)" }
    }

    @Test("handoff keys set the policy; no [agent] means no agent")
    func handoff() throws {
        let c = try parse("""
            [handoff]
            default_owner = "draft"
            busy = "interrupt"
            first_event_timeout_s = 5
            idle_timeout_s = 6
            turn_timeout_s = 70
            max_turns = 8
            group_trigger = "all"
            """)
        #expect(c.session.handoff.maxConcurrentTurns == 8)
        #expect(try parse("").session.handoff.maxConcurrentTurns == 64, "64 agent turns at once by default")
        #expect(problem("[handoff]\nmax_turns = 0")?.contains("max_turns") == true)
        #expect(try parse("[handoff]\nkept_conversations = 50").session.handoff.keptConversations == 50)
        #expect(try parse("").session.handoff.keptConversations == 1000, "1000 idle conversations kept by default")
        #expect(problem("[handoff]\nkept_conversations = 5")?.contains("kept_conversations") == true)
        #expect(c.session.handoff.defaultOwner == .draft)
        #expect(c.session.handoff.busy == .interrupt)
        #expect(c.session.handoff.firstEventTimeout == .seconds(5))
        #expect(c.session.handoff.turnTimeout == .seconds(70))
        #expect(!c.session.handoff.groupMentionOnly)
        #expect(c.agent == nil)
        #expect(problem("[handoff]\ndefault_owner = \"robot\"")?.contains("not one of human, agent, draft") == true)
    }

    @Test("each backend parses; the openai key comes from the environment and only travels over https or loopback")
    func backends() throws {
        let command = try parse("[agent]\nbackend = \"command\"\ncommand = [\"/bin/cat\", \"-u\"]\nenv = { A = \"1\" }\nkill_grace_ms = 500")
        #expect(command.agent?.make().name == "command cat")
        let openai = try parse("""
            [agent]
            backend = "openai"
            base_url = "https://api.example.com/v1"
            model = "qwen2.5"
            api_key_env = "MY_KEY"
            system_prompt = "你是客服"
            """, env: ["MY_KEY": "sk-secret-123"])
        #expect(openai.agent?.make().name == "openai qwen2.5")
        let remoteHTTP = problem("""
            [agent]
            backend = "openai"
            base_url = "http://10.0.0.5:8080"
            model = "m"
            api_key_env = "MY_KEY"
            """, env: ["MY_KEY": "sk-secret-123"])
        #expect(remoteHTTP?.contains("must use https") == true)
        #expect(remoteHTTP?.contains("sk-secret-123") == false)
        #expect(try parse("[agent]\nbackend = \"openai\"\nbase_url = \"http://10.0.0.5:8080\"\nmodel = \"m\"").agent != nil,
                "no key: plain http to a LAN server is fine")
        #expect(problem("[agent]\nbackend = \"openai\"\nbase_url = \"http://127.0.0.1:1\"\nmodel = \"m\"\napi_key_env = \"NOPE\"")?
            .contains("NOPE is not set") == true)
        let acp = try parse("[agent]\nbackend = \"acp\"\ncommand = [\"gemini\", \"--experimental-acp\"]\npermission_policy = \"ask_operator\"")
        #expect(acp.agent?.make().name == "acp gemini")
        #expect(problem("[agent]\nbackend = \"acp\"\ncommand = [\"x\"]\npermission_policy = \"yes\"")?.contains("deny, ask_operator") == true)
        #expect(problem("[agent]\nbackend = \"comand\"")?.contains("did you mean command?") == true)
        #expect(problem("[agent]\nbackend = \"command\"")?.contains("agent.command") == true)
        #expect(problem("[agent]\nbackend = \"echo\"\nmodel = \"x\"")?.contains("unknown key") == true)
    }
}
