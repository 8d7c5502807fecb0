import GRDB
import GRDBSQLite

/// A value bound straight into a statement of the store's write path.
///
/// GRDB's `StatementArguments` box each value as an existential and bind them in nested closures: with
/// its statement cache, 14 % of serve's CPU in a burst of 100,000 messages, about half of SQLite's own
/// work. Every statement of the store's writer binds these instead.
enum SQLValue {
    case text(String)
    case integer(Int64)
    case real(Double)
    case null

    static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    static func integer(_ value: Int?) -> SQLValue { value.map { .integer(Int64($0)) } ?? .null }
    static func flag(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
}

extension Database {
    /// SQLite copies what it is given (`SQLITE_TRANSIENT`). Computed: a stored static is a lazy global,
    /// checked on every read.
    private static var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

    /// Runs `sql` through the connection's statement cache (parsed once, not once per message: parsing
    /// was most of a stored message's cost) with `values` bound in order (`?` or `?N`). Every change the
    /// store's writer applies goes through here.
    /// Only inside a transaction (the store's writer): a failure throws the database's error, and the
    /// writer rolls the transaction back and keeps the changes for its retry.
    func run(_ sql: String, _ values: [SQLValue]) throws {
        let statement = try cachedStatement(sql: sql)
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        defer { sqlite3_reset(handle) }
        // A statement that failed may have ended the transaction (a full disk): nothing runs outside it.
        guard sqlite3_get_autocommit(sqliteConnection) == 0 else {
            throw DatabaseError(resultCode: .SQLITE_ABORT, message: "Transaction was aborted", sql: sql)
        }
        for (index, value) in zip(Int32(1)..., values) {
            let code: Int32
            switch value {
            case .text(var s):
                // The byte count, not a C string: a NUL inside a message keeps what follows it.
                code = s.withUTF8 { bytes in
                    guard let base = bytes.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, Self.transient) }
                    return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                        sqlite3_bind_text(handle, index, $0, Int32(bytes.count), Self.transient)
                    }
                }
            case .integer(let i): code = sqlite3_bind_int64(handle, index, i)
            case .real(let d): code = sqlite3_bind_double(handle, index, d)
            case .null: code = sqlite3_bind_null(handle, index)
            }
            guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: lastErrorMessage, sql: sql) }
        }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_DONE: return
            case SQLITE_ROW: continue
            case let code: throw DatabaseError(resultCode: ResultCode(rawValue: code), message: lastErrorMessage, sql: sql)
            }
        }
    }
}
