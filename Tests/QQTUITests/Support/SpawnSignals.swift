import Foundation

/// posix_spawn attributes for a test's child: no signal blocked, every handler at its default.
/// The test's threads block most signals and posix_spawn passes the mask on: a child started with
/// SIGTERM or SIGCHLD blocked would ignore its stop, or never reap its own children.
enum SpawnSignals {
    /// Runs `body` with such attributes (destroyed afterwards).
    static func withDefaults<T>(_ body: (inout posix_spawnattr_t) -> T) -> T {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        return body(&attributes)
    }
}
