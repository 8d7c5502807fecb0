import Foundation
import Synchronization

/// A secret value (app secret, access token) that never prints itself.
///
/// `description`, `debugDescription`, string interpolation and `Codable` all yield `‹redacted›`;
/// the only way to the value is ``exposedValue``, used where the wire needs it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The raw value, for the one place that sends it (token request, Authorization header, Identify).
    public let exposedValue: String

    /// Wraps a value and registers it with the ``Redactor`` so it is scrubbed from any error text.
    /// `pinned` secrets (the app secret) are never forgotten; others (tokens) only the most recent.
    public init(_ value: String, pinned: Bool = false) {
        self.exposedValue = value
        Redactor.shared.register(value, pinned: pinned)
    }

    /// True when the secret is the empty string.
    public var isEmpty: Bool { exposedValue.isEmpty }
    public var description: String { Redactor.placeholder }
    public var debugDescription: String { Redactor.placeholder }
}

/// Scrubs registered secrets out of text that may reach a log, a screen or an error message.
///
/// Library errors (NIO, AsyncHTTPClient) can echo request details; everything QQSession turns into
/// a message passes through ``redact(_:)`` first.
public final class Redactor: Sendable {
    /// What a secret is replaced with.
    public static let placeholder = "‹redacted›"
    /// The process-wide redactor.
    public static let shared = Redactor()

    /// Tokens remembered (a token lives 2 h, so this covers days of them).
    static let recentLimit = 64
    private let secrets = Mutex<(pinned: Set<String>, recent: [String])>(([], []))

    /// Remembers a value to scrub; values shorter than 6 characters are ignored (too likely to be words).
    public func register(_ value: String, pinned: Bool = false) {
        guard value.count >= 6 else { return }
        secrets.withLock { s in
            if pinned { s.pinned.insert(value); return }
            guard !s.recent.contains(value) else { return }
            s.recent.append(value)
            if s.recent.count > Self.recentLimit { s.recent.removeFirst(s.recent.count - Self.recentLimit) }
        }
    }

    /// Returns `text` with every registered secret replaced by ``placeholder``.
    public func redact(_ text: String) -> String {
        let known = secrets.withLock { $0.pinned.union($0.recent) }
        guard !known.isEmpty else { return text }
        var out = text
        // Longest first so a secret that contains another is replaced whole.
        for secret in known.sorted(by: { $0.count > $1.count }) where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: Redactor.placeholder)
        }
        return out
    }
}
