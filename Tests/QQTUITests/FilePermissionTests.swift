import Foundation
import QQSimulator
import Testing

/// Files qqtui creates are owner-only whatever the umask: the store (and its -wal, -shm and lock),
/// the log, downloaded attachments and every folder qqtui makes for them. A config file that holds
/// the secret and that others can read gets a warning.
@Suite("Owner-only files", .timeLimit(.minutes(2)))
struct FilePermissionTests {
    func binary() throws -> String { try #require(BuildPaths.qqtui, "qqtui binary not built (swift build)") }

    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    /// The mode of `path` in octal, or "missing".
    static func describe(_ path: String) -> String { mode(path).map { String($0, radix: 8) } ?? "missing" }

    @Test("serve under umask 000: store, -wal, -shm, lock, log and attachment files are 0600, the folders qqtui made 0700")
    func ownerOnly() async throws {
        let sim = try await QQSimulator.start()
        let dir = TestConfig.tempDir("perm")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = dir + "/config.toml"
        let text = """
            [bot]
            app_id = "\(sim.configuration.appID)"
            app_secret = "\(sim.configuration.appSecret)"
            token_url = "\(sim.tokenURL)"
            api_base = "\(sim.baseURL)"
            [inbound]
            attachment_dir = "\(dir)/att/images"
            [store]
            path = "\(dir)/data/db/store.sqlite"
            [log]
            file = "\(dir)/state/logs/qqtui.log"
            level = "debug"
            """
        _ = FileManager.default.createFile(atPath: config, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        let serve = try ChildProcess("/bin/sh", ["-c", "umask 000 && exec '\(try binary())' serve --json --config '\(config)'"])
        defer { serve.send(SIGKILL) }
        #expect(await serve.waitForOutput { $0.contains { $0.contains(#""ready""#) } }, "\(serve.stderr)")
        // A PNG header with a size: enough for the downloader to keep it as an image.
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
                        0, 0, 0, 40, 0, 0, 0, 30, 8, 6, 0, 0, 0]) + Data(repeating: 7, count: 64)
        _ = await sim.platform.userSendsC2C(userOpenID: "U1", content: "看图", attachments: [
            SimAttachment(contentType: "image/png", filename: "a.png", data: png),
        ])
        #expect(await serve.waitForOutput { $0.contains { $0.contains("看图") } })

        let files = ["data/db/store.sqlite", "data/db/store.sqlite-wal", "data/db/store.sqlite-shm", "data/db/store.sqlite.lock",
                     "state/logs/qqtui.log"]
        let folders = ["data", "data/db", "state", "state/logs", "att", "att/images"]
        let images = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/att/images")) ?? []
        #expect(!images.isEmpty, "the image was not downloaded")
        for file in files + images.map({ "att/images/" + $0 }) {
            #expect(Self.mode(dir + "/" + file) == 0o600, "\(file) is \(Self.describe(dir + "/" + file)) while serve runs")
        }
        for folder in folders {
            #expect(Self.mode(dir + "/" + folder) == 0o700, "\(folder)/ is \(Self.describe(dir + "/" + folder))")
        }
        #expect(await serve.stop() == 0)
        for file in files where FileManager.default.fileExists(atPath: dir + "/" + file) {
            #expect(Self.mode(dir + "/" + file) == 0o600, "\(file) is \(Self.describe(dir + "/" + file)) after serve")
        }
        await sim.stop()
    }

    @Test("config check: a 0644 config with app_secret in it is named with chmod 600; 0600, or the secret from the environment, is quiet")
    func worldReadableConfig() async throws {
        let dir = TestConfig.tempDir("perm-config")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let inline = dir + "/inline.toml", dotted = dir + "/dotted.toml", fromEnv = dir + "/env.toml"
        let files: [(path: String, text: String)] = [
            (inline, "[bot]\napp_id = \"1\"\napp_secret = \"perm-secret-abcdef\"\n"),
            (dotted, "bot.app_id = \"1\"\nbot.app_secret = \"perm-secret-abcdef\"\n"),
            (fromEnv, "[bot]\napp_id = \"1\"\napp_secret_env = \"PERM_SECRET\"\n"),
        ]
        for file in files {
            _ = FileManager.default.createFile(atPath: file.path, contents: Data(file.text.utf8), attributes: [.posixPermissions: 0o644])
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PERM_SECRET"] = "perm-secret-from-env"
        func check(_ path: String) async throws -> ChildProcess {
            let child = try ChildProcess(try binary(), ["config", "check", "--config", path], environment: environment)
            defer { child.send(SIGKILL) }
            #expect(await child.waitForExit() == 0, "\(child.stderr)")
            return child
        }
        for path in [inline, dotted] {
            let loose = try await check(path)
            #expect(loose.stderr.contains("warning: \(path) holds app_secret and is readable by other users: chmod 600 \(path)"),
                    "\(loose.stderr)")
            #expect(!loose.stderr.contains("perm-secret-abcdef") && !loose.stdout.contains("perm-secret-abcdef"))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            #expect(try await check(path).stderr.isEmpty, "a 0600 file was warned about")
        }
        let env = try await check(fromEnv)
        #expect(!env.stderr.contains("warning"), "the secret is not in the file: \(env.stderr)")
    }
}
