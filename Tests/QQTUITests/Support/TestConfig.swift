import Foundation
import QQSimulator

/// Config files for `qqtui` child processes: the simulator's credentials, a store and a log in `dir`.
enum TestConfig {
    /// Writes `dir/config.toml` (owner-only) for `sim` (nil: a platform nobody listens on) plus `extra` TOML;
    /// `appSecret` replaces the simulator's secret, `logLevel` sets `[log] level`.
    /// `appSecretEnv` names the environment variable holding the secret instead (`app_secret_env`).
    static func write(sim: QQSimulator?, dir: String, extra: String = "", appSecret: String? = nil, appSecretEnv: String? = nil,
                      logLevel: String? = nil) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/config.toml"
        let bot = sim.map {
            """
            [bot]
            app_id = "\($0.configuration.appID)"
            \(appSecretEnv.map { "app_secret_env = \"\($0)\"" } ?? "app_secret = \"\(appSecret ?? $0.configuration.appSecret)\"")
            token_url = "\($0.tokenURL)"
            api_base = "\($0.baseURL)"
            """
        } ?? """
            [bot]
            app_id = "1"
            app_secret = "never-used"
            token_url = "http://127.0.0.1:9/token"
            api_base = "http://127.0.0.1:9"
            """
        let text = bot + "\n" + extra + """

            [store]
            path = "\(dir)/store.sqlite"
            [log]
            file = "\(dir)/qqtui.log"
            \(logLevel.map { "level = \"\($0)\"" } ?? "")
            """
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        return path
    }

    /// Writes an executable script. Its write descriptor is close-on-exec and the file gets its name
    /// only once closed: a process another test spawns meanwhile must not hold it open for writing, or
    /// running it fails with "Text file busy" (ETXTBSY; seen in CI with `createFile`).
    static func writeExecutable(_ path: String, _ text: String) throws {
        let temporary = path + ".part"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o700)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else { throw POSIXError(.EIO) }
    }

    /// A fresh scratch folder name.
    static func tempDir(_ prefix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-\(prefix)-\(UUID().uuidString)").path
    }
}
