import Foundation
import Synchronization

/// A secret value (app secret, access token) that never prints itself.
///
/// `description`, `debugDescription`, string interpolation and `Codable` all yield `‹redacted›`;
/// the only way to the value is ``exposedValue``, used where the wire needs it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The raw value, for the one place that sends it (token request, Authorization header, Identify).
    public let exposedValue: String

    /// Wraps a value and registers it with the ``Redactor`` so it is scrubbed from any error text,
    /// for the rest of the process (an error body may quote a token long after it was rotated).
    public init(_ value: String) {
        self.exposedValue = value
        Redactor.shared.register(value)
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

    /// Every value registered, longest first so a secret that contains another is replaced whole.
    /// None is ever forgotten: a token lives 2 h, so a year of them is a few thousand short strings.
    private let secrets = Mutex<[String]>([])

    /// Remembers a value to scrub; values shorter than 6 characters are ignored (too likely to be words).
    public func register(_ value: String) {
        guard value.count >= 6 else { return }
        secrets.withLock { known in
            guard !known.contains(value) else { return }
            known.insert(value, at: known.firstIndex { $0.count < value.count } ?? known.endIndex)
        }
    }

    /// Returns `text` with every registered secret replaced by ``placeholder``.
    public func redact(_ text: String) -> String {
        let known = secrets.withLock { $0 }
        var out = text
        for secret in known where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: Redactor.placeholder)
        }
        return out
    }

    /// `text` redacted, then cut to `limit` characters with `…`: cut first, a secret across the cut
    /// would no longer match and its first part would stay.
    public func redact(_ text: String, clippedTo limit: Int) -> String {
        let redacted = redact(text)
        return redacted.count > limit ? String(redacted.prefix(limit)) + "…" : redacted
    }
}
