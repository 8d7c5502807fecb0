import Foundation

/// Where `qqtui serve` listens for consoles, and the checks that keep it owner-only.
enum ControlSocketPath {
    /// A Unix socket path holds at most this many bytes (`sun_path` is 108, NUL included).
    static let maxLength = 107

    /// The default: `run/<store name>.sock` in the store's folder (`qqtui.sqlite` → `run/qqtui.sock`).
    static func beside(store: String) -> String {
        let url = URL(fileURLWithPath: AppConfig.expand(store))
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent("run").appendingPathComponent(stem + ".sock").path
    }

    /// Creates the socket's folder owner-only (0700), or makes an existing one so; the reason when it cannot.
    static func prepareFolder(of path: String) -> String? {
        let folder = (path as NSString).deletingLastPathComponent
        if mkdir(folder, 0o700) != 0, errno != EEXIST {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                return "cannot create \(folder): \(String(cString: strerror(errno)))"
            }
        }
        var info = stat()
        guard lstat(folder, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return "\(folder) is not a folder" }
        guard info.st_uid == getuid() else { return "\(folder) belongs to another user: set [serve] socket to a folder of your own" }
        if info.st_mode & 0o077 != 0, chmod(folder, 0o700) != 0 {
            return "cannot make \(folder) owner-only: \(String(cString: strerror(errno)))"
        }
        return nil
    }
}
