import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a spawned child may inherit: its standard input, output and error, nothing else.
///
/// NIO opens its sockets without close-on-exec, so a child started with a plain `posix_spawn` kept
/// the process's API and gateway connections, the control socket, the webhook listener and the
/// store's file open: an agent could write on the bot's authenticated connections, and a connection
/// the process closed stayed open (its peer never saw the close) until the child exited.
package enum InheritedDescriptors {
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later; the header hides it from Swift).
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_LAZY), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Closes every descriptor from 3 up in the child. Add it after the actions that set up 0, 1
    /// and 2. Where the C library cannot, every descriptor open now is marked close-on-exec instead.
    package static func closeAbove2(_ actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom, addCloseFrom(&actions, 3) == 0 { return }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap(Int32.init) where fd > 2 {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}
