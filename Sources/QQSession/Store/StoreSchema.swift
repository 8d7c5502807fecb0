import GRDB

/// The store's schema, as migrations from the first version on (never edit one that shipped: add one).
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE conversation (
                    id TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL,
                    openid TEXT NOT NULL,
                    last_activity REAL NOT NULL,
                    last_preview TEXT NOT NULL DEFAULT '',
                    unread INTEGER NOT NULL DEFAULT 0,
                    message_count INTEGER NOT NULL DEFAULT 0,
                    owner TEXT NOT NULL DEFAULT 'human',
                    created_at REAL NOT NULL
                );
                CREATE INDEX conversation_activity ON conversation(last_activity DESC);

                CREATE TABLE message (
                    rowid INTEGER PRIMARY KEY,
                    uid TEXT NOT NULL UNIQUE,
                    conversation TEXT NOT NULL,
                    direction TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    author TEXT,
                    author_role TEXT,
                    text TEXT NOT NULL,
                    raw_content TEXT,
                    status TEXT NOT NULL,
                    status_detail TEXT,
                    qq_code INTEGER,
                    trace_id TEXT,
                    qq_message_id TEXT,
                    reply_to TEXT,
                    event_id TEXT,
                    source TEXT,
                    seq INTEGER,
                    attachments TEXT,
                    parts TEXT,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    fts_dirty INTEGER NOT NULL DEFAULT 1
                );
                CREATE INDEX message_conversation ON message(conversation, rowid);
                CREATE INDEX message_created ON message(created_at);
                CREATE INDEX message_fts_dirty ON message(rowid) WHERE fts_dirty = 1;

                CREATE VIRTUAL TABLE message_fts USING fts5(text, tokenize = 'trigram');

                CREATE TABLE ledger (
                    msg_id TEXT PRIMARY KEY NOT NULL,
                    conversation TEXT NOT NULL,
                    next_seq INTEGER NOT NULL,
                    replies_used INTEGER NOT NULL,
                    budget INTEGER NOT NULL,
                    window_ends REAL NOT NULL,
                    is_event INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX ledger_window ON ledger(window_ends);

                CREATE TABLE ownership_log (
                    rowid INTEGER PRIMARY KEY,
                    conversation TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    reason TEXT,
                    at REAL NOT NULL
                );
                CREATE INDEX ownership_conversation ON ownership_log(conversation, rowid);

                CREATE TABLE alias (
                    openid TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    note TEXT,
                    updated_at REAL NOT NULL
                );

                CREATE TABLE raw_event (
                    rowid INTEGER PRIMARY KEY,
                    type TEXT NOT NULL,
                    seq INTEGER,
                    event_id TEXT,
                    payload TEXT NOT NULL,
                    received_at REAL NOT NULL
                );
                """)
            // Append-only audit: the log can be added to, never rewritten.
            try db.execute(sql: """
                CREATE TRIGGER ownership_log_no_update BEFORE UPDATE ON ownership_log
                BEGIN SELECT RAISE(ABORT, 'the ownership log is append-only'); END;
                CREATE TRIGGER ownership_log_no_delete BEFORE DELETE ON ownership_log
                BEGIN SELECT RAISE(ABORT, 'the ownership log is append-only'); END;
                """)
        }
        migrator.registerMigration("v2-startup-indexes") { db in
            // Crash recovery and the de-duplication memory run at every start: index what they read.
            try db.execute(sql: """
                CREATE INDEX message_sending ON message(rowid) WHERE status = 'sending';
                CREATE INDEX message_direction_updated ON message(direction, updated_at);
                """)
        }
        migrator.registerMigration("v3-gateway-session") { db in
            // The gateway session a restart resumes (never the token: only when it expired).
            try db.execute(sql: """
                CREATE TABLE gateway_session (
                    key TEXT PRIMARY KEY NOT NULL,
                    session_id TEXT,
                    last_seq INTEGER,
                    token_expires_at REAL,
                    updated_at REAL NOT NULL
                );
                """)
        }
        migrator.registerMigration("v4-operator") { db in
            // Which operator's console sent a message (several consoles attach to one serve).
            try db.execute(sql: "ALTER TABLE message ADD COLUMN operator TEXT")
        }
        migrator.registerMigration("v5-recall") { db in
            // When a sent message was recalled from the user's chat (it stays in the store).
            try db.execute(sql: "ALTER TABLE message ADD COLUMN recalled_at REAL")
        }
        return migrator
    }
}
