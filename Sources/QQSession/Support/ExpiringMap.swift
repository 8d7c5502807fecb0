import Foundation

/// A dictionary whose entries disappear at their expiry time: memory stays bounded under any traffic.
///
/// Expiry is amortised: every insertion purges what has expired (a min-heap on expiry time), and a
/// hard `capacity` evicts the soonest-to-expire entries if a burst outruns the TTL.
struct ExpiringMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry: Sendable { var value: Value; var expiresAt: Date }
    private struct HeapItem: Sendable { var expiresAt: Date; var key: Key }

    private var entries: [Key: Entry] = [:]
    private var heap: [HeapItem] = []
    /// Most entries kept at once.
    let capacity: Int

    init(capacity: Int = 500_000) {
        self.capacity = max(1, capacity)
    }

    /// Live entries (expired ones not yet purged included; call ``removeExpired(now:)`` first for an exact count).
    var count: Int { entries.count }

    /// Inserts or replaces `key`, expiring at `expiresAt`.
    mutating func set(_ key: Key, _ value: Value, expiresAt: Date, now: Date) {
        removeExpired(now: now)
        entries[key] = Entry(value: value, expiresAt: expiresAt)
        push(HeapItem(expiresAt: expiresAt, key: key))
        while entries.count > capacity, let item = popMin() {
            if let e = entries[item.key], e.expiresAt == item.expiresAt { entries[item.key] = nil }
        }
        // Stale heap items (replaced keys) must not accumulate without bound either.
        if heap.count > 2 * entries.count + 64 { rebuildHeap() }
    }

    /// The value for `key`, unless it has expired.
    func value(for key: Key, now: Date) -> Value? {
        guard let e = entries[key], e.expiresAt > now else { return nil }
        return e.value
    }

    /// When `key` expires.
    func expiry(of key: Key) -> Date? { entries[key]?.expiresAt }

    /// Changes the value of a live entry in place (expiry unchanged); returns the new value.
    @discardableResult
    mutating func update(_ key: Key, now: Date, _ change: (inout Value) -> Void) -> Value? {
        guard var e = entries[key], e.expiresAt > now else { return nil }
        change(&e.value)
        entries[key] = e
        return e.value
    }

    /// Forgets `key` now (its heap item goes stale and is dropped later).
    mutating func remove(_ key: Key) {
        entries[key] = nil
        if heap.count > 2 * entries.count + 64 { rebuildHeap() }
    }

    /// Drops every entry whose time has come.
    mutating func removeExpired(now: Date) {
        while let top = heap.first, top.expiresAt <= now {
            _ = popMin()
            if let e = entries[top.key], e.expiresAt == top.expiresAt { entries[top.key] = nil }
        }
    }

    // MARK: - Binary heap on expiresAt

    private mutating func push(_ item: HeapItem) {
        heap.append(item)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].expiresAt < heap[parent].expiresAt else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func popMin() -> HeapItem? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let min = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count, heap[l].expiresAt < heap[smallest].expiresAt { smallest = l }
            if r < heap.count, heap[r].expiresAt < heap[smallest].expiresAt { smallest = r }
            guard smallest != i else { break }
            heap.swapAt(i, smallest)
            i = smallest
        }
        return min
    }

    private mutating func rebuildHeap() {
        heap.removeAll(keepingCapacity: true)
        for (key, e) in entries { push(HeapItem(expiresAt: e.expiresAt, key: key)) }
    }
}
