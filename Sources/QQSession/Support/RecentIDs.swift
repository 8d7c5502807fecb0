import Foundation
import NIOCore

/// Ids seen lately (the inbound de-duplication), each remembered until its own time: memory stays
/// bounded under any traffic. Every id lives equally long, so ids expire in the order they came:
/// a queue in arrival order replaces a heap on expiry time (a third of the memory of a TTL map with
/// one; 20,000 ids during a burst held ~1.9 MB there).
struct RecentIDs: Sendable {
    private var expiry: [String: Date] = [:]
    /// Arrival order (an id seen again keeps its place: it then leaves no later than it should).
    private var order = CircularBuffer<String>()
    /// Most ids kept at once (the oldest go first beyond it).
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Ids held (expired ones not yet dropped included).
    var count: Int { expiry.count }

    /// True while `id` is remembered.
    func contains(_ id: String, now: Date) -> Bool {
        guard let until = expiry[id] else { return false }
        return until > now
    }

    /// Remembers `id` until `until` (a later time for an id already held).
    mutating func insert(_ id: String, until: Date, now: Date) {
        removeExpired(now: now)
        if let held = expiry[id] {
            expiry[id] = max(held, until)
        } else {
            expiry[id] = until
            order.append(id)
        }
        while expiry.count > capacity, let oldest = order.popFirst() { expiry[oldest] = nil }
    }

    /// Drops the ids whose time has come, oldest first (an id held longer stops the sweep until it goes).
    mutating func removeExpired(now: Date) {
        while let oldest = order.first {
            if let until = expiry[oldest], until > now { break }
            order.removeFirst()
            expiry[oldest] = nil
        }
    }
}
