import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One qqtui session per store: an exclusive `flock` on `<store>.lock`, holding the owner's pid.
final class InstanceLock: Sendable {
    private let fd: Mutex<Int32?>
    private let path: String
    /// Lock files this process holds now.
    private static let held = Mutex<Set<String>>([])
    /// How long a lock this process let go of may stay held by a child forked meanwhile.
    static let forkRelease = Duration.seconds(5)

    private init(fd: Int32, path: String) {
        self.fd = Mutex(fd)
        self.path = path
    }

    /// Lets go of the lock now (also done when the lock is deallocated).
    func release() {
        fd.withLock { fd in
            if let open = fd {
                close(open)
                _ = Self.held.withLock { $0.remove(path) }
            }
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
        let started = ContinuousClock.now
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, 31, 0)
            let pid = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            // This process let go of the lock, but a child it forked meanwhile (an agent, the notify
            // command) still has the lock file open until it execs, and with it the lock: wait for that.
            let ours = pid == "\(getpid())" && !held.withLock { $0.contains(lockPath) }
            if ours, ContinuousClock.now - started < forkRelease {
                usleep(5_000)
                continue
            }
            close(fd)
            throw QQError(kind: .store, message: "\(path) is in use by another qqtui (pid \(pid)); stop it first, or set [store] path to another file",
                          context: "store")
        }
        _ = ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        _ = held.withLock { $0.insert(lockPath) }
        return InstanceLock(fd: fd, path: lockPath)
    }

    deinit { release() }
}
