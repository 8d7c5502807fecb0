import Foundation

/// An access token and when it stops being good.
struct AccessToken: Sendable, Equatable {
    /// The token (never printed).
    var value: Secret
    /// When the platform says it expires.
    var expiresAt: SessionClock.Instant
    /// When to fetch a new one (before `expiresAt`).
    var refreshAt: SessionClock.Instant

    /// `QQBot <token>`: the REST `Authorization` header and the Identify/Resume `token`.
    var authorization: String { "QQBot " + value.exposedValue }
}

/// The token endpoint's JSON answer. `expires_in` may be a string (as the platform sends it) or a number.
struct TokenResponse: Decodable {
    var accessToken: String?
    var expiresIn: Int?
    var expiresInRaw: String?
    var code: Int?
    var message: String?

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token", expiresIn = "expires_in", code, message, msg
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        accessToken = try? c.decodeIfPresent(String.self, forKey: .accessToken)
        if let n = try? c.decodeIfPresent(Int.self, forKey: .expiresIn) {
            expiresIn = n
        } else if let d = try? c.decodeIfPresent(Double.self, forKey: .expiresIn) {
            // `Int(d)` would trap on 1e300: a number no Int holds is no usable lifetime.
            expiresIn = Int(exactly: d.rounded(.towardZero))
        } else if let s = try? c.decodeIfPresent(String.self, forKey: .expiresIn) {
            expiresInRaw = s
            expiresIn = Int(s.trimmingCharacters(in: .whitespaces))
        }
        code = (try? c.decodeIfPresent(Int.self, forKey: .code)) ?? nil
        message = ((try? c.decodeIfPresent(String.self, forKey: .message)) ?? nil)
            ?? ((try? c.decodeIfPresent(String.self, forKey: .msg)) ?? nil)
    }

    /// The longest lifetime believed: the platform gives 7200 s; a larger value (or one that would
    /// overflow the clock, like 2^63) is capped, so a token is never kept for years.
    static let maxLifetime = 86_400

    /// Seconds the token is good for: `expires_in` (7200 when missing), 60 when not positive, at
    /// most ``maxLifetime``.
    var lifetime: Int {
        guard let expiresIn else { return 7200 }
        return expiresIn <= 0 ? 60 : min(expiresIn, Self.maxLifetime)
    }
}
