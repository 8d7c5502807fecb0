import Foundation
import GRDB

/// Where the gateway session stood when its events were last committed: enough for the next start
/// to Resume it, so the events the platform holds for it (in flight at a crash, or sent while qqtui
/// was down) are replayed instead of lost. The access token is never kept, only when it expired.
public struct GatewayPosition: Sendable, Equatable {
    /// Which bot and shard it belongs to (`appid/index/count`).
    public var key: String
    public var sessionID: String
    /// The `s` of the last dispatch whose effects are committed with this position.
    public var lastSeq: Int
    /// When it was written.
    public var savedAt: Date
    /// When the access token the session last used expired (the token itself is never stored).
    public var tokenExpiresAt: Date?

    /// The key of `appID`'s session on `shard`.
    public static func key(appID: String, shard: Shard) -> String { "\(appID)/\(shard.index)/\(shard.count)" }
}

extension MessageStore {
    /// The last gateway session kept for `key`, if any.
    public func gatewayPosition(key: String) throws -> GatewayPosition? {
        try reading { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT session_id, last_seq, updated_at, token_expires_at FROM gateway_session
                WHERE key = ? AND session_id IS NOT NULL AND last_seq IS NOT NULL
                """, arguments: [key]) else { return nil }
            let expiry: Double? = row["token_expires_at"]
            return GatewayPosition(key: key, sessionID: row["session_id"], lastSeq: row["last_seq"],
                                   savedAt: Date(timeIntervalSince1970: row["updated_at"]),
                                   tokenExpiresAt: expiry.map { Date(timeIntervalSince1970: $0) })
        }
    }
}

extension StoreOp {
    static func applyGatewayPosition(_ db: Database, _ p: GatewayPosition) throws {
        try db.run("""
            INSERT INTO gateway_session (key, session_id, last_seq, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET session_id = excluded.session_id, last_seq = excluded.last_seq,
                updated_at = excluded.updated_at
            """, [.text(p.key), .text(p.sessionID), .integer(p.lastSeq), .real(p.savedAt.timeIntervalSince1970)])
    }

    static func applyTokenExpiry(_ db: Database, key: String, expiresAt: Date) throws {
        try db.run("""
            INSERT INTO gateway_session (key, token_expires_at, updated_at) VALUES (?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET token_expires_at = excluded.token_expires_at
            """, [.text(key), .real(expiresAt.timeIntervalSince1970), .real(Date().timeIntervalSince1970)])
    }
}
