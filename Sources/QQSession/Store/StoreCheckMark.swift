import Foundation

/// `<store>-checked`: written when a session closes the store cleanly, with the file's size, change
/// time and inode then. A start that finds the file exactly so (and no write-ahead log left) knows
/// nobody wrote to it since, so the integrity check that reads the whole file can be skipped.
enum StoreCheckMark {
    static func markPath(_ path: String) -> String { path + "-checked" }

    /// The file's identity and last change, or nil when it cannot be read.
    static func fingerprint(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(info.st_dev) \(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) "
            + "\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
    }

    /// True when the mark names the file as it is now and no write-ahead log holds later changes.
    static func matches(_ path: String) -> Bool {
        guard let mark = try? String(contentsOfFile: markPath(path), encoding: .utf8),
              let now = fingerprint(path), mark == now else { return false }
        var wal = stat()
        return stat(path + "-wal", &wal) != 0 || wal.st_size == 0
    }

    static func write(_ path: String) {
        guard let print = fingerprint(path) else { return }
        FileManager.default.createFile(atPath: markPath(path), contents: Data(print.utf8), attributes: [.posixPermissions: 0o600])
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: markPath(path))
    }
}
