import Synchronization

/// A flag flipped once (or set/read), shared by reference between tasks and threads.
final class AtomicFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    /// A flag that starts off.
    init() {}
    /// True once turned on.
    var isOn: Bool { flag.load(ordering: .acquiring) }
    /// Turns it on.
    func turnOn() { flag.store(true, ordering: .releasing) }
    /// Turns it on; true if it already was.
    func testAndSet() -> Bool { flag.exchange(true, ordering: .acquiringAndReleasing) }
}
