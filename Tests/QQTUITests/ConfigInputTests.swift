import Foundation
import QQSimulator
import Testing

/// What an operator writes in the config reaches the terminal made safe, paths are taken whole or
/// refused, and commands that only read the store work without the app secret.
@Suite("Operator input: config check, paths, read-only commands", .timeLimit(.minutes(2)))
struct ConfigInputTests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    /// True when `text` holds a raw C0/C1 control other than a newline.
    static func hasRawControl(_ text: String) -> Bool { SendRefusalTests.hasRawControl(text) }

    /// The environment of a child, without `name`.
    static func environment(without name: String) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: name)
        return env
    }

    @Test("config check prints nothing raw: an app_id holding ESC/BEL is refused by key, escapes in other settings are shown as glyphs")
    func configCheckSanitises() async throws {
        let dir = TestConfig.tempDir("check")
        let badID = try TestConfig.write(sim: nil, dir: dir + "/id")
        try String(contentsOfFile: badID, encoding: .utf8)
            .replacingOccurrences(of: #"app_id = "1""#, with: #"app_id = "1\u001B]0;pwned\u0007""#)
            .write(toFile: badID, atomically: true, encoding: .utf8)
        let refused = try ChildProcess(try binary(), ["config", "check", "--config", badID])
        defer { refused.send(SIGKILL) }
        #expect(await refused.waitForExit() == 78, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("key bot.app_id"), "\(refused.stderr)")
        #expect(!Self.hasRawControl(refused.stdout + refused.stderr), "\((refused.stdout + refused.stderr).debugDescription)")

        let escapes = try TestConfig.write(sim: nil, dir: dir + "/log", extra: """
            [canned]
            "evil\\u001B[2J" = "hello"

            """)
        try String(contentsOfFile: escapes, encoding: .utf8)
            .replacingOccurrences(of: #"qqtui.log""#, with: #"qq\u001B]0;x\u0007tui.log""#)
            .write(toFile: escapes, atomically: true, encoding: .utf8)
        let check = try ChildProcess(try binary(), ["config", "check", "--config", escapes])
        defer { check.send(SIGKILL) }
        #expect(await check.waitForExit() == 0, "\(check.stderr)")
        #expect(!Self.hasRawControl(check.stdout + check.stderr), "\((check.stdout + check.stderr).debugDescription)")
        #expect(check.stdout.contains("qq␛]0;x␇tui.log"), "\(check.stdout)")
        #expect(check.stdout.contains("evil␛[2J"), "\(check.stdout)")
    }

    @Test("a store, log or attachment path holding a NUL is refused by key (exit 78), never cut short")
    func pathWithNUL() async throws {
        let dir = TestConfig.tempDir("nul")
        for (key, from, to) in [("store.path", "store.sqlite\"", #"store.sqlite\u0000.old""#),
                                ("log.file", "qqtui.log\"", #"qqtui.log\u0000x""#)] {
            let config = try TestConfig.write(sim: nil, dir: dir + "/" + key)
            try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: from, with: to)
                .write(toFile: config, atomically: true, encoding: .utf8)
            for arguments in [["alias"], ["search", "anything"], ["config", "check"], ["serve"]] {
                let child = try ChildProcess(try binary(), arguments + ["--config", config])
                defer { child.send(SIGKILL) }
                #expect(await child.waitForExit() == 78, "\(arguments) with a NUL in \(key): \(child.stderr)")
                #expect(child.stderr.contains("key \(key)") && child.stderr.contains("NUL"), "\(child.stderr)")
            }
        }
        let attachments = try TestConfig.write(sim: nil, dir: dir + "/att", extra: """
            [inbound]
            attachment_dir = "\(dir)/att\\u0000files"

            """)
        let child = try ChildProcess(try binary(), ["config", "check", "--config", attachments])
        defer { child.send(SIGKILL) }
        #expect(await child.waitForExit() == 78)
        #expect(child.stderr.contains("key inbound.attachment_dir"), "\(child.stderr)")
        let made = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/store.path")) ?? []
        #expect(!made.contains("store.sqlite"), "the cut-short store was created: \(made)")
    }

    @Test("alias, search and export only read or write the store: they run without the app secret; send still needs it")
    func readOnlyWithoutSecret() async throws {
        let variable = "QQTUI_TEST_SECRET_NOT_SET_\(UUID().uuidString.prefix(8))"
        let dir = TestConfig.tempDir("nosecret")
        let config = try TestConfig.write(sim: nil, dir: dir)
        try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: #"app_secret = "never-used""#, with: #"app_secret_env = "\#(variable)""#)
            .write(toFile: config, atomically: true, encoding: .utf8)
        let env = Self.environment(without: variable)
        let runs: [[String]] = [["alias", "U1", "张三"], ["alias"], ["search", "张三"], ["export", "--format", "txt"]]
        for arguments in runs {
            let child = try ChildProcess(try binary(), arguments + ["--config", config], environment: env)
            defer { child.send(SIGKILL) }
            #expect(await child.waitForExit() == 0, "\(arguments): \(child.stderr)")
            #expect(!child.stderr.contains(variable), "\(arguments) asked for the secret: \(child.stderr)")
        }
        let list = try ChildProcess(try binary(), ["alias", "--config", config], environment: env)
        defer { list.send(SIGKILL) }
        #expect(await list.waitForExit() == 0)
        #expect(list.stdout.contains("张三 U1"), "\(list.stdout)")

        let send = try ChildProcess(try binary(), ["send", "--config", config, "--to", "c2c:U1", "hi"], environment: env)
        defer { send.send(SIGKILL) }
        #expect(await send.waitForExit() == 78)
        #expect(send.stderr.contains("key bot.app_secret_env") && send.stderr.contains(variable), "\(send.stderr)")
    }
}
