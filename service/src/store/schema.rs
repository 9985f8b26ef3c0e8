//! The database's tables and their versions: a new database gets `SCHEMA` and every
//! migration; an older one gets the migrations it lacks, in one transaction, at open.

use super::sql::{params, Backend, Conn, Mode, Tx};
use jitgate::wire;

const SCHEMA_VERSION: i64 = 6;

/// The changes from version 1 on, in order.
const MIGRATIONS: [&str; 5] = [
    MIGRATION_2,
    MIGRATION_3,
    MIGRATION_4,
    MIGRATION_5,
    MIGRATION_6,
];

pub(super) const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'cancelled', 'expired')),
    \"user\" TEXT NOT NULL,
    groups TEXT NOT NULL,           -- JSON array: the requester's groups when asking
    resources TEXT NOT NULL,        -- JSON array of canonical resources
    actions TEXT NOT NULL,          -- JSON array of action names
    duration_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    ticket TEXT,
    zones TEXT NOT NULL,            -- JSON array of the touched zones' names
    created_at INTEGER NOT NULL,    -- all times: milliseconds since the epoch
    updated_at INTEGER NOT NULL,
    decided_by TEXT,
    decision_reason TEXT
);
CREATE INDEX requests_by_status ON requests (status, created_at);
CREATE INDEX requests_by_user ON requests (\"user\", created_at);

CREATE TABLE approvals (
    request_id TEXT NOT NULL REFERENCES requests (id),
    approver TEXT NOT NULL,
    zones TEXT NOT NULL,            -- JSON array: the zones this approval counts for
    comment TEXT NOT NULL,
    time INTEGER NOT NULL,
    PRIMARY KEY (request_id, approver)
);

CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE REFERENCES requests (id),
    \"user\" TEXT NOT NULL,
    resources TEXT NOT NULL,
    actions TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    approvers TEXT NOT NULL,
    single_use INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER,
    revoked_by TEXT
);
CREATE INDEX grants_by_expiry ON grants (expires_at);

-- The feed: seq is the cursor. AUTOINCREMENT so a cursor is never reused after pruning.
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'revoke', 'zones')),
    grant_id TEXT,
    time INTEGER NOT NULL
);

CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    time INTEGER NOT NULL,
    plugin TEXT NOT NULL,
    host TEXT NOT NULL,
    \"user\" TEXT NOT NULL,
    resource TEXT NOT NULL,
    resource_key TEXT,              -- canonical form, NULL when the plugin sent something unparsable
    action TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT,
    grant_id TEXT,
    request_id TEXT,
    operation TEXT,
    context TEXT,
    received_at INTEGER NOT NULL
);
CREATE INDEX audit_by_time ON audit (time);
CREATE INDEX audit_by_user ON audit (\"user\", time);
CREATE INDEX audit_by_grant ON audit (grant_id);
";

/// Version 6: what each requested resource is, for its approvers (`store::context`).
const MIGRATION_6: &str = "
CREATE TABLE resource_context (
    resource TEXT PRIMARY KEY,      -- canonical key
    wanted_at INTEGER NOT NULL,     -- last asked for (a request filed, a page read)
    fetched_at INTEGER,             -- when the answer below came
    source TEXT,                    -- who answered: webhdfs, or the plugin token's host
    kind TEXT,
    files INTEGER,
    directories INTEGER,
    bytes INTEGER,
    location TEXT,
    error TEXT
);
";

/// Version 5: a request may ask for a window that starts later, or to extend a grant it names.
const MIGRATION_5: &str = "
ALTER TABLE requests ADD COLUMN starts_at INTEGER;
ALTER TABLE requests ADD COLUMN extends TEXT;
";

/// Version 4: the audit chain (`crate::chain`): audit events and history steps carry their
/// link. Rows stored before stay outside the chain.
const MIGRATION_4: &str = "
ALTER TABLE audit ADD COLUMN seq INTEGER;
ALTER TABLE audit ADD COLUMN prev TEXT;
ALTER TABLE audit ADD COLUMN hash TEXT;
ALTER TABLE events ADD COLUMN seq INTEGER;
ALTER TABLE events ADD COLUMN prev TEXT;
ALTER TABLE events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_by_seq ON audit (seq);
CREATE UNIQUE INDEX events_by_seq ON events (seq);
-- How many rows stay outside the chain, so one added there later is seen.
INSERT INTO meta (key, value)
    SELECT 'chain_unchained', CAST((SELECT count(*) FROM audit) + (SELECT count(*) FROM events) AS TEXT);
";

/// Version 3: single-use grants record the query that consumed them.
const MIGRATION_3: &str = "
ALTER TABLE grants ADD COLUMN consumed_at INTEGER;
ALTER TABLE grants ADD COLUMN consumed_by TEXT;
";

/// Version 2: the decision history of each request, escalation, single-use requests, early
/// release, and the webhook outbox. Applied to new databases after `SCHEMA` and to version-1
/// databases as they are.
const MIGRATION_2: &str = "
ALTER TABLE requests ADD COLUMN single_use INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN escalated_at INTEGER;
ALTER TABLE grants ADD COLUMN released INTEGER NOT NULL DEFAULT 0;

-- Who did what to a request, when, and what they said.
CREATE TABLE events (
    request_id TEXT NOT NULL REFERENCES requests (id),
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    comment TEXT
);
CREATE INDEX events_by_request ON events (request_id, time);

-- Notifications still to deliver: one row per event and webhook, written in the transaction
-- of the change it announces, so a crash never loses one.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hook INTEGER NOT NULL,
    event TEXT NOT NULL,
    request_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    time INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    delivered_at INTEGER,
    gave_up_at INTEGER,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE delivered_at IS NULL AND gave_up_at IS NULL;
";

/// Brings the database to `SCHEMA_VERSION`: creates a new one, migrates an older one, and
/// refuses one made by a newer jitgate. One writer at a time: replicas starting together on
/// one PostgreSQL database create it once.
pub(super) fn migrate(conn: &mut Conn) -> Result<(), String> {
    let e = |e: crate::error::ServiceError| e.to_string();
    let tx = conn.begin(Mode::Write).map_err(e)?;
    let version = version(&tx).map_err(e)?;
    if version > SCHEMA_VERSION {
        return Err(format!(
            "the database has schema version {version}, newer than this jitgate ({SCHEMA_VERSION})"
        ));
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let ddl = |sql: &str| match tx.backend() {
        Backend::Sqlite => sql.to_string(),
        Backend::Postgres => postgres_ddl(sql),
    };
    if version == 0 {
        tx.execute_batch(&ddl(SCHEMA)).map_err(e)?;
    }
    // MIGRATIONS[i] takes version i + 2 from the one before
    for m in &MIGRATIONS[version.max(1) as usize - 1..] {
        tx.execute_batch(&ddl(m)).map_err(e)?;
    }
    if version == 0 {
        // Cursors of a new database start above any cursor an older database (made before
        // it) could have handed out, so a plugin following a replaced database gets a reset.
        let floor = wire::now_millis() * 1000;
        let start = match tx.backend() {
            Backend::Sqlite => "INSERT INTO sqlite_sequence (name, seq) VALUES ('changes', ?1)",
            Backend::Postgres => "SELECT setval(pg_get_serial_sequence('changes', 'seq'), ?1)",
        };
        tx.execute(start, params![floor]).map_err(e)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('log_floor', ?1)",
            params![floor.to_string()],
        )
        .map_err(e)?;
    }
    set_version(&tx, SCHEMA_VERSION).map_err(e)?;
    tx.commit().map_err(e)
}

/// SQLite keeps the version in its header; PostgreSQL in the `meta` table (0: no tables yet).
fn version(tx: &Tx) -> crate::error::Result<i64> {
    match tx.backend() {
        Backend::Sqlite => tx.query_row("PRAGMA user_version", params![], |r| r.get(0)),
        Backend::Postgres => {
            let has_meta: bool =
                tx.query_row("SELECT to_regclass('meta') IS NOT NULL", params![], |r| {
                    r.get(0)
                })?;
            if !has_meta {
                return Ok(0);
            }
            let v: Option<String> = tx.query_opt(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                params![],
                |r| r.get(0),
            )?;
            v.unwrap_or_default().parse().map_err(|_| {
                crate::error::ServiceError::Internal("the schema version is unreadable".into())
            })
        }
    }
}

fn set_version(tx: &Tx, version: i64) -> crate::error::Result<()> {
    match tx.backend() {
        // PRAGMA takes no parameters; the number is ours.
        Backend::Sqlite => tx.execute_batch(&format!("PRAGMA user_version = {version}")),
        Backend::Postgres => tx
            .execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![version.to_string()],
            )
            .map(drop),
    }
}

/// The schema's text as PostgreSQL takes it: integers are 64-bit, AUTOINCREMENT keys are
/// identity columns, and every table gets the `rowid` SQLite gives it implicitly, so the
/// queries that order by insertion (`ORDER BY time, rowid`) are the same on both.
pub(super) fn postgres_ddl(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 256);
    for line in sql.lines() {
        let line = line
            .replace(
                "INTEGER PRIMARY KEY AUTOINCREMENT",
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            )
            .replace(" INTEGER", " BIGINT");
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("CREATE TABLE ") && line.ends_with('(') {
            out.push_str("    rowid BIGINT GENERATED ALWAYS AS IDENTITY,\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::*;

    #[test]
    fn a_version_one_database_is_migrated_in_place() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = rusqlite::Connection::open(dir.path().join("jitgate.db")).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('log_floor', '5')",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO requests (id, status, user, groups, resources, actions, duration_ms, reason, zones, created_at, updated_at) \
                 VALUES ('r-old', 'pending', 'alice', '[]', '[\"hive:sales.t\"]', '[\"read\"]', 60000, 'old', '[\"sales\"]', ?1, ?1)",
                [T0],
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        let mut s =
            Store::open(dir.path(), Duration::from_secs(3600), ChangeSignal::new()).unwrap();
        let v = s.approve("r-old", &bob(), "", &example(), T0 + 1).unwrap();
        assert_eq!(v.status, Status::Approved);
        assert!(!v.single_use);
        assert_eq!(
            events(&v),
            pairs(&[("approved", "bob"), ("granted", "jitgate")])
        );
    }
}
