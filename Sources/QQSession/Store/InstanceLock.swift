import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One qqtui session per store: an exclusive `flock` on `<store>.lock`, holding the owner's pid.
final class InstanceLock: Sendable {
    private let fd: Mutex<Int32?>

    private init(fd: Int32) { self.fd = Mutex(fd) }

    /// Lets go of the lock now (also done when the lock is deallocated).
    func release() {
        fd.withLock { fd in
            if let open = fd { close(open) }
            fd = nil
        }
    }

    /// Takes the lock, or says who holds it.
    static func acquire(for path: String) throws -> InstanceLock {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw QQError(kind: .store, message: "cannot create \(lockPath): \(String(cString: strerror(errno)))", context: "store")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, 31, 0)
            let pid = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw QQError(kind: .store, message: "\(path) is in use by another qqtui (pid \(pid)); stop it first, or set [store] path to another file",
                          context: "store")
        }
        _ = ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        return InstanceLock(fd: fd)
    }

    deinit { release() }
}
