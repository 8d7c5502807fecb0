import Synchronization

/// A callback one task sets and others call (a test's observer, the store's health listener).
///
/// The closure is kept inside a struct: a bare closure read out of a `Mutex` through its `inout`
/// access came back wrapped in one more reabstraction thunk at every read, so each call recursed a
/// little deeper and a long run overflowed the stack.
final class CallbackSlot<Argument: Sendable>: Sendable {
    private struct Box: Sendable { let body: @Sendable (Argument) -> Void }
    private let box = Mutex<Box?>(nil)

    /// An empty slot.
    init() {}

    /// Replaces the callback (nil removes it).
    func set(_ body: (@Sendable (Argument) -> Void)?) { box.withLock { $0 = body.map(Box.init) } }

    /// Calls the callback, if any, outside the lock.
    func call(_ argument: Argument) { box.withLock { $0 }?.body(argument) }
}
