//! Requests, approvals, grants, the change log and the audit trail, in SQLite.
//!
//! Every state change is a conditional UPDATE inside an IMMEDIATE transaction
//! (`... WHERE status = 'pending'`), and a grant's `request_id` is UNIQUE, so two approvals
//! racing for the last slot can never issue two grants, even with several connections.
//! Every operation takes `now` so tests can move the clock.

use crate::chain::{self, Appender};
use crate::error::{Result, ServiceError};
use crate::feed::ChangeSignal;
use crate::identity::Caller;
use crate::zones::{Plan, Zones};
use jitgate::model::{format_duration, key_covers, Resource};
use jitgate::wire::{self, format_time, parse_time, AuditEvent};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Change-log rows older than this are pruned; a plugin whose cursor is older gets a reset.
const CHANGE_RETENTION_MS: i64 = 24 * 3600 * 1000;
const SCHEMA_VERSION: i64 = 4;
const MAX_REASON_CHARS: usize = 4000;

/// The changes from version 1 on, in order.
const MIGRATIONS: [&str; 3] = [MIGRATION_2, MIGRATION_3, MIGRATION_4];

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'cancelled', 'expired')),
    user TEXT NOT NULL,
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
CREATE INDEX requests_by_user ON requests (user, created_at);

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
    user TEXT NOT NULL,
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
    user TEXT NOT NULL,
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
CREATE INDEX audit_by_user ON audit (user, time);
CREATE INDEX audit_by_grant ON audit (grant_id);
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
    SELECT 'chain_unchained', (SELECT count(*) FROM audit) + (SELECT count(*) FROM events);
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

/// The events that go out to webhooks.
pub const NOTIFIED: [&str; 6] = [
    "created",
    "approved",
    "denied",
    "escalated",
    "expired",
    "revoked",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Approved,
    Denied,
    Cancelled,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Result<Status> {
        Ok(match s {
            "pending" => Status::Pending,
            "approved" => Status::Approved,
            "denied" => Status::Denied,
            "cancelled" => Status::Cancelled,
            "expired" => Status::Expired,
            _ => {
                return Err(ServiceError::BadInput(format!(
                    "unknown status `{s}`: use pending, approved, denied, cancelled or expired"
                )))
            }
        })
    }
}

/// A request as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    pub id: String,
    pub status: Status,
    pub user: String,
    pub groups: Vec<String>,
    pub resources: Vec<String>,
    pub actions: Vec<String>,
    pub duration: String,
    pub reason: String,
    pub ticket: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub zones: Vec<String>,
    pub approvals: Vec<ApprovalView>,
    /// Who denied or cancelled it.
    pub decided_by: Option<String>,
    /// The reason given with a denial.
    pub decision_reason: Option<String>,
    /// The grant will be consumed by one use.
    pub single_use: bool,
    pub grant: Option<GrantView>,
    /// Every step of the request, oldest first.
    pub history: Vec<EventView>,
}

/// One step in a request's life: `created`, `approved` (one approver), `auto-approved`,
/// `granted`, `denied`, `cancelled`, `expired`, `escalated`, `revoked`, `released`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventView {
    pub time: String,
    pub actor: String,
    pub event: String,
    pub comment: Option<String>,
}

/// A notification due for delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub hook: usize,
    pub event: String,
    pub actor: String,
    pub time: String,
    pub attempts: u32,
    pub request: RequestView,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApprovalView {
    pub approver: String,
    pub comment: String,
    pub time: String,
    /// The zones this approval counts for (those the approver is an approver of).
    pub zones: Vec<String>,
}

/// A grant as the API shows it: the feed's grant plus its revocation.
#[derive(Debug, Clone, Serialize)]
pub struct GrantView {
    #[serde(flatten)]
    pub grant: wire::Grant,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
    /// The revocation was the grantee giving the grant up early.
    pub released: bool,
    /// When a single-use grant was used, and by which query (the plugin's context).
    pub consumed_at: Option<String>,
    pub consumed_by: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user: Option<String>,
    pub resource: Option<Resource>,
    pub grant: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub limit: usize,
    /// Where the page before ended (`AuditPage::next`).
    pub after: Option<(i64, i64)>,
}

/// A page of audit events and, when more follow, where the next page starts.
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// `<time>.<rowid>` of the last event: pass it as `after` for the next page.
    pub next: Option<String>,
}

/// Reads `after` as `AuditPage::next` wrote it.
pub fn page_cursor(text: &str) -> Option<(i64, i64)> {
    let (t, r) = text.split_once('.')?;
    Some((t.parse().ok()?, r.parse().ok()?))
}

pub struct Store {
    conn: Connection,
    /// The database file (None in memory), for the read connections `Db` opens beside it.
    path: Option<std::path::PathBuf>,
    pending_timeout_ms: i64,
    signal: ChangeSignal,
    /// How many webhooks each notified event is queued for.
    webhooks: usize,
    /// Incremental feed answers for the current cursor, by `after`: every plugin at the same
    /// cursor wants the same answer, so a change is read from the log once, not once per plugin.
    feed_cache: FeedCache,
}

#[derive(Default)]
struct FeedCache {
    cursor: u64,
    answers: std::collections::HashMap<u64, wire::Feed>,
}

/// Distinct `after` values kept per cursor; plugins are nearly always at one or two.
const FEED_CACHE_ENTRIES: usize = 64;

/// The store shared by the request handlers. SQLite calls block, so they run on the blocking
/// pool: every change (and the feed) one at a time on the store's connection. The reads that
/// may scan much (audit, report, the chain's check) run on threads of their own, each with its
/// own read connection (WAL lets them read while the writer writes) and a lower CPU priority,
/// so no query, however broad, holds up a revoke or the feed.
#[derive(Clone)]
pub struct Db {
    store: Arc<Mutex<Store>>,
    /// Where reads go; None in memory (tests), where they run on the store's connection.
    readers: Option<std::sync::mpsc::SyncSender<Read>>,
    /// How long one read may scan (`READ_BUDGET`).
    budget: Duration,
}

/// A read for a reader thread to run on its connection.
type Read = Box<dyn FnOnce(&mut Connection) + Send>;

/// Reader threads: on two cores, more would only share the same CPUs.
const READERS: usize = 2;

/// Reader threads run only when no other thread of the machine wants the CPU (Linux's
/// SCHED_IDLE; where that is refused, at the lowest nice value): a broad search yields the CPU
/// to a revoke at once. Under a machine kept busy by other work a search is slower, and past
/// its budget stopped, never the other way round.
fn lower_priority() {
    // SAFETY: both calls only read their arguments; on Linux they act on the calling thread.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        }
    }
}

/// How long one read may scan before it is stopped (a broad audit query over millions of
/// events): the caller is told to narrow it.
const READ_BUDGET: Duration = Duration::from_secs(20);

impl Db {
    pub fn new(store: Store) -> Db {
        let readers = store.path.clone().and_then(|path| {
            // Reads wait here when every reader is busy; beyond that, callers wait to hand theirs in.
            let (tx, rx) = std::sync::mpsc::sync_channel::<Read>(64);
            let rx = Arc::new(Mutex::new(rx));
            let mut started = 0;
            for n in 0..READERS {
                let (rx, path) = (rx.clone(), path.clone());
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let mut conn = match Connection::open_with_flags(&path, flags) {
                    Ok(c) => c,
                    Err(e) => {
                        log_event!("cannot open a read connection to {}: {e}", path.display());
                        continue;
                    }
                };
                let _ = conn.busy_timeout(Duration::from_secs(5));
                let spawned = std::thread::Builder::new()
                    .name(format!("jitgate-read-{n}"))
                    .spawn(move || {
                        lower_priority();
                        loop {
                            let read = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                            match read {
                                Ok(read) => read(&mut conn),
                                Err(_) => return, // the service is stopping
                            }
                        }
                    });
                started += usize::from(spawned.is_ok());
            }
            // Without a reader, reads share the writer's connection, as in memory.
            (started > 0).then_some(tx)
        });
        Db {
            store: Arc::new(Mutex::new(store)),
            readers,
            budget: READ_BUDGET,
        }
    }

    /// Runs a read on a reader thread (on the store's connection in memory), stopping it after
    /// `READ_BUDGET`.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let Some(readers) = self.readers.clone() else {
            return self.call(move |s| f(&s.conn)).await;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let budget = self.budget;
        let read: Read = Box::new(move |conn: &mut Connection| {
            let deadline = std::time::Instant::now() + budget;
            let handler =
                conn.progress_handler(10_000, Some(move || std::time::Instant::now() > deadline));
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match handler {
                Ok(()) => f(conn),
                Err(e) => Err(e.into()),
            }))
            .unwrap_or_else(|_| Err(ServiceError::Internal("a read failed".into())));
            let _ = conn.progress_handler(0, None::<fn() -> bool>);
            let result = match result {
                Err(_) if std::time::Instant::now() > deadline => {
                    Err(ServiceError::BadInput(format!(
                        "the query ran longer than {} s and was stopped: narrow it (since, \
                         until, user, resource) or ask for fewer rows with limit",
                        budget.as_secs()
                    )))
                }
                other => other,
            };
            let _ = tx.send(result);
        });
        // Handing it in may wait for a free slot: off the async threads.
        tokio::task::spawn_blocking(move || readers.send(read))
            .await
            .map_err(|e| ServiceError::Internal(format!("store task failed: {e}")))?
            .map_err(|_| ServiceError::Internal("the readers stopped".into()))?;
        rx.await
            .map_err(|_| ServiceError::Internal("a read was dropped".into()))?
    }

    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            // A panic mid-call rolled its transaction back; the connection is still good.
            let mut s = store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut s)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("store task failed: {e}")))?
    }
}

/// `r-` or `g-` followed by 10 random lowercase letters and digits.
pub fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::with_capacity(prefix.len() + 10);
    id.push_str(prefix);
    let mut n = 0;
    while n < 10 {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        // 252 = 7 * 36: dropping the rest keeps every character equally likely.
        for b in bytes.into_iter().filter(|b| *b < 252) {
            if n < 10 {
                id.push(ALPHABET[(b % 36) as usize] as char);
                n += 1;
            }
        }
    }
    id
}

fn to_json(v: &impl Serialize) -> String {
    serde_json::to_string(v).expect("plain data serializes")
}

fn from_json(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text)
        .map_err(|e| ServiceError::Internal(format!("corrupt list in the database: {e}")))
}

struct RequestRow {
    id: String,
    status: Status,
    user: String,
    groups: Vec<String>,
    resources: Vec<String>,
    actions: Vec<String>,
    duration_ms: i64,
    reason: String,
    ticket: Option<String>,
    zones: Vec<String>,
    created_at: i64,
    updated_at: i64,
    decided_by: Option<String>,
    decision_reason: Option<String>,
    single_use: bool,
}

const REQUEST_COLUMNS: &str = "id, status, user, groups, resources, actions, duration_ms, reason, \
     ticket, zones, created_at, updated_at, decided_by, decision_reason, single_use";

fn request_row(row: &rusqlite::Row) -> rusqlite::Result<Result<RequestRow>> {
    let status: String = row.get(1)?;
    let (groups, resources, actions, zones): (String, String, String, String) =
        (row.get(3)?, row.get(4)?, row.get(5)?, row.get(9)?);
    let mk = || -> Result<RequestRow> {
        Ok(RequestRow {
            id: row.get(0)?,
            status: Status::parse(&status).map_err(|_| {
                ServiceError::Internal(format!("unknown status {status} in the database"))
            })?,
            user: row.get(2)?,
            groups: from_json(&groups)?,
            resources: from_json(&resources)?,
            actions: from_json(&actions)?,
            duration_ms: row.get(6)?,
            reason: row.get(7)?,
            ticket: row.get(8)?,
            zones: from_json(&zones)?,
            created_at: row.get(10)?,
            updated_at: row.get(11)?,
            decided_by: row.get(12)?,
            decision_reason: row.get(13)?,
            single_use: row.get(14)?,
        })
    };
    Ok(mk())
}

const GRANT_COLUMNS: &str =
    "id, request_id, user, resources, actions, not_before, expires_at, approvers, single_use, revoked_at, revoked_by, released, consumed_at, consumed_by";

struct GrantRow {
    view: GrantView,
    expires_at: i64,
    revoked: bool,
}

fn grant_row(row: &rusqlite::Row) -> rusqlite::Result<Result<GrantRow>> {
    let (resources, actions, approvers): (String, String, String) =
        (row.get(3)?, row.get(4)?, row.get(7)?);
    let not_before: i64 = row.get(5)?;
    let expires_at: i64 = row.get(6)?;
    let revoked_at: Option<i64> = row.get(9)?;
    let id: String = row.get(0)?;
    let request_id: String = row.get(1)?;
    let user: String = row.get(2)?;
    let single_use: bool = row.get(8)?;
    let revoked_by: Option<String> = row.get(10)?;
    let released: bool = row.get(11)?;
    let consumed_at: Option<i64> = row.get(12)?;
    let consumed_by: Option<String> = row.get(13)?;
    let mk = || -> Result<GrantRow> {
        Ok(GrantRow {
            view: GrantView {
                grant: wire::Grant {
                    id,
                    request_id,
                    user,
                    resources: from_json(&resources)?,
                    actions: from_json(&actions)?,
                    not_before: format_time(not_before),
                    expires_at: format_time(expires_at),
                    approvers: from_json(&approvers)?,
                    single_use,
                    signature: None,
                },
                revoked_at: revoked_at.map(format_time),
                revoked_by,
                released,
                consumed_at: consumed_at.map(format_time),
                consumed_by,
            },
            expires_at,
            revoked: revoked_at.is_some(),
        })
    };
    Ok(mk())
}

/// Collects rows whose mapping may fail with our own error.
fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<Result<T>>>) -> Result<Vec<T>> {
    rows.map(|r| r?).collect()
}

impl Store {
    /// Opens (creating when needed) `<dir>/jitgate.db`.
    pub fn open(
        dir: &Path,
        pending_timeout: Duration,
        signal: ChangeSignal,
    ) -> Result<Store, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        let path = dir.join("jitgate.db");
        let conn =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut store = Store::init(conn, pending_timeout, signal)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        store.path = Some(path);
        Ok(store)
    }

    #[cfg(test)]
    pub fn open_in_memory(
        pending_timeout: Duration,
        signal: ChangeSignal,
    ) -> Result<Store, String> {
        let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
        Store::init(conn, pending_timeout, signal)
    }

    fn init(
        mut conn: Connection,
        pending_timeout: Duration,
        signal: ChangeSignal,
    ) -> Result<Store, String> {
        let e = |e: rusqlite::Error| e.to_string();
        conn.busy_timeout(Duration::from_secs(5)).map_err(e)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(e)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(e)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(e)?;
        if version > SCHEMA_VERSION {
            return Err(format!("the database has schema version {version}, newer than this jitgate ({SCHEMA_VERSION})"));
        }
        if (1..SCHEMA_VERSION).contains(&version) {
            let tx = conn.transaction().map_err(e)?;
            // MIGRATIONS[i] takes version i + 2 from the one before
            for m in &MIGRATIONS[version as usize - 1..] {
                tx.execute_batch(m).map_err(e)?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(e)?;
            tx.commit().map_err(e)?;
        }
        if version == 0 {
            let tx = conn.transaction().map_err(e)?;
            tx.execute_batch(SCHEMA).map_err(e)?;
            for m in MIGRATIONS {
                tx.execute_batch(m).map_err(e)?;
            }
            // Cursors of a new database start above any cursor an older database (made before
            // it) could have handed out, so a plugin following a replaced database gets a reset.
            let floor = wire::now_millis() * 1000;
            tx.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('changes', ?1)",
                [floor],
            )
            .map_err(e)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('log_floor', ?1)",
                [floor.to_string()],
            )
            .map_err(e)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(e)?;
            tx.commit().map_err(e)?;
        }
        let store = Store {
            conn,
            path: None,
            pending_timeout_ms: pending_timeout.as_millis() as i64,
            signal,
            webhooks: 0,
            feed_cache: FeedCache::default(),
        };
        let cursor = cursor(&store.conn).map_err(|e| e.to_string())?;
        store.signal.published(cursor);
        Ok(store)
    }

    /// Queues each notified event for `n` webhooks from now on.
    pub fn set_webhooks(&mut self, n: usize) {
        self.webhooks = n;
    }

    /// Pending requests past their timeout become `expired`, whoever looks first.
    fn expire(&mut self, now: i64) -> Result<()> {
        let timeout = self.pending_timeout_ms;
        let hooks = self.webhooks;
        let tx = self.begin()?;
        let expired = expire_stale(&tx, timeout, now)?;
        for (id, _) in &expired {
            record(
                &tx,
                hooks,
                id,
                now,
                "jitgate",
                "expired",
                Some("no decision within the pending timeout"),
            )?;
        }
        tx.commit()?;
        for (id, user) in expired {
            log_event!("request {id} by {user} expired without approval");
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Records the configured zones; when they differ from the last recorded ones, appends a
    /// zone change so following plugins receive the new list.
    pub fn record_zones(&mut self, zones: &[wire::Zone], now: i64) -> Result<()> {
        let json = to_json(&zones);
        let tx = self.begin()?;
        let old: Option<String> = tx
            .query_row("SELECT value FROM meta WHERE key = 'zones'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if old.as_deref() == Some(json.as_str()) {
            return Ok(());
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('zones', ?1)",
            [&json],
        )?;
        let seq = append_change(&tx, "zones", None, now)?;
        tx.commit()?;
        self.signal.published(seq);
        Ok(())
    }

    pub fn create_request(
        &mut self,
        caller: &Caller,
        plan: &Plan,
        reason: &str,
        ticket: Option<&str>,
        now: i64,
    ) -> Result<RequestView> {
        // Control characters would reach logs, CSV exports, chat messages and terminals as they
        // are; a reason may span lines (a form's textarea), nothing else.
        let reason = reason.trim().replace("\r\n", "\n");
        let reason = reason.as_str();
        if reason
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(ServiceError::BadInput(
                "the reason holds a control character; write it as plain text".into(),
            ));
        }
        if ticket.is_some_and(|t| t.chars().any(char::is_control)) {
            return Err(ServiceError::BadInput(
                "the ticket holds a control character; write it as plain text".into(),
            ));
        }
        if reason.is_empty() {
            return Err(ServiceError::BadInput(
                "a reason is required: say why you need this (an incident, a ticket, a task)"
                    .into(),
            ));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(ServiceError::BadInput(format!(
                "the reason is longer than {MAX_REASON_CHARS} characters"
            )));
        }
        let ticket = ticket.map(str::trim).filter(|t| !t.is_empty());
        let id = new_id("r-");
        let resources: Vec<String> = plan.resources.iter().map(Resource::to_string).collect();
        let actions: Vec<&str> = plan.actions.names();
        let hooks = self.webhooks;
        let tx = self.begin()?;
        tx.execute(
            "INSERT INTO requests (id, status, user, groups, resources, actions, duration_ms, reason, \
             ticket, zones, created_at, updated_at, single_use) \
             VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
            params![
                id,
                caller.user,
                to_json(&caller.groups),
                to_json(&resources),
                to_json(&actions),
                plan.duration.as_millis() as i64,
                reason,
                ticket,
                to_json(&plan.zones),
                now,
                plan.single_use
            ],
        )?;
        record(&tx, hooks, &id, now, &caller.user, "created", Some(reason))?;
        let mut issued = None;
        if !plan.auto_approved_by.is_empty() {
            for rule in &plan.auto_approved_by {
                tx.execute(
                    "INSERT INTO approvals (request_id, approver, zones, comment, time) VALUES (?1, ?2, ?3, '', ?4)",
                    params![id, rule, to_json(&plan.zones), now],
                )?;
                record(&tx, 0, &id, now, rule, "auto-approved", None)?;
            }
            let req = load_row(&tx, &id)?;
            issued = Some(issue_grant(&tx, hooks, &req, &plan.auto_approved_by, now)?);
        }
        let view = load_view(&tx, &id)?;
        tx.commit()?;
        log_event!(
            "request {id} created by {}: {} on {} for {} (zones: {})",
            caller.user,
            actions.join(","),
            resources.join(" "),
            view.duration,
            plan.zones.join(", ")
        );
        if let Some((grant_id, seq)) = issued {
            self.signal.published(seq);
            log_event!(
                "request {id} approved by {}; grant {grant_id} issued",
                plan.auto_approved_by.join(", ")
            );
        }
        Ok(view)
    }

    pub fn request(&mut self, id: &str, now: i64) -> Result<RequestView> {
        self.expire(now)?;
        let tx = self.begin()?;
        let view = load_view(&tx, id)?;
        tx.commit()?;
        Ok(view)
    }

    /// Newest first.
    pub fn requests(
        &mut self,
        status: Option<Status>,
        user: Option<&str>,
        limit: usize,
        now: i64,
    ) -> Result<Vec<RequestView>> {
        self.expire(now)?;
        let tx = self.begin()?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT id FROM requests WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR user = ?2) \
                 ORDER BY created_at DESC, rowid DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![status.map(Status::as_str), user, limit as i64],
                |r| r.get(0),
            )?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let views = ids
            .iter()
            .map(|id| load_view(&tx, id))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(views)
    }

    /// Records `caller`'s approval for the zones they approve for; when every touched zone has
    /// its approvals, marks the request approved and issues its grant.
    pub fn approve(
        &mut self,
        id: &str,
        caller: &Caller,
        comment: &str,
        zones: &Zones,
        now: i64,
    ) -> Result<RequestView> {
        self.expire(now)?;
        self.escalate(zones, now)?;
        let hooks = self.webhooks;
        let tx = self.begin()?;
        let req = load_row(&tx, id)?;
        if req.status != Status::Pending {
            return Err(not_pending(&req));
        }
        if req.user == caller.user {
            return Err(ServiceError::Forbidden(
                "you cannot approve your own request".into(),
            ));
        }
        let mut counts_for = vec![];
        for name in &req.zones {
            let zone = zones.get(name).ok_or_else(|| {
                ServiceError::Conflict(format!(
                    "zone {name} of request {id} is no longer configured; the request cannot be approved"
                ))
            })?;
            if zone.may_approve(caller, req.created_at, now) {
                counts_for.push(name.clone());
            }
        }
        if counts_for.is_empty() {
            return Err(ServiceError::Forbidden(format!(
                "you are not an approver of {}",
                approver_groups(&req.zones, zones)
            )));
        }
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO approvals (request_id, approver, zones, comment, time) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, caller.user, to_json(&counts_for), comment.trim(), now],
        )?;
        if inserted == 0 {
            return Err(ServiceError::Conflict(format!(
                "you have already approved request {id}"
            )));
        }
        tx.execute(
            "UPDATE requests SET updated_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        let comment = Some(comment.trim()).filter(|c| !c.is_empty());
        record(&tx, 0, id, now, &caller.user, "approved", comment)?;

        let approvals = load_approvals(&tx, id)?;
        let missing: Vec<String> = req
            .zones
            .iter()
            .filter_map(|name| {
                let need = zones
                    .get(name)
                    .map(|z| z.approvals as usize)
                    .unwrap_or(usize::MAX);
                let have = approvals.iter().filter(|a| a.zones.contains(name)).count();
                (have < need).then(|| format!("{name} ({have} of {need})"))
            })
            .collect();
        let mut issued = None;
        if missing.is_empty() {
            let approvers: Vec<String> = approvals.iter().map(|a| a.approver.clone()).collect();
            issued = Some(issue_grant(&tx, hooks, &req, &approvers, now)?);
        }
        let view = load_view(&tx, id)?;
        tx.commit()?;
        match issued {
            Some((grant_id, seq)) => {
                self.signal.published(seq);
                log_event!("request {id} approved by {}", caller.user);
                log_event!(
                    "grant {grant_id} issued to {}: {} on {} until {}",
                    req.user,
                    req.actions.join(","),
                    req.resources.join(" "),
                    format_time(now + req.duration_ms)
                );
            }
            None => log_event!(
                "request {id}: approval by {} recorded (for {}); still needs {}",
                caller.user,
                counts_for.join(", "),
                missing.join(", ")
            ),
        }
        Ok(view)
    }

    pub fn deny(
        &mut self,
        id: &str,
        caller: &Caller,
        reason: Option<&str>,
        zones: &Zones,
        now: i64,
    ) -> Result<RequestView> {
        self.expire(now)?;
        self.escalate(zones, now)?;
        let hooks = self.webhooks;
        let tx = self.begin()?;
        let req = load_row(&tx, id)?;
        if req.status != Status::Pending {
            return Err(not_pending(&req));
        }
        if req.user == caller.user {
            return Err(ServiceError::Forbidden(
                "you cannot deny your own request; cancel it instead".into(),
            ));
        }
        if !req.zones.iter().any(|z| {
            zones
                .get(z)
                .is_some_and(|z| z.may_approve(caller, req.created_at, now))
        }) {
            return Err(ServiceError::Forbidden(format!(
                "you are not an approver of {}",
                approver_groups(&req.zones, zones)
            )));
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        close(&tx, &req, Status::Denied, &caller.user, reason, now)?;
        record(&tx, hooks, id, now, &caller.user, "denied", reason)?;
        let view = load_view(&tx, id)?;
        tx.commit()?;
        log_event!(
            "request {id} denied by {}{}",
            caller.user,
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        );
        Ok(view)
    }

    pub fn cancel(&mut self, id: &str, caller: &Caller, now: i64) -> Result<RequestView> {
        self.expire(now)?;
        let hooks = self.webhooks;
        let tx = self.begin()?;
        let req = load_row(&tx, id)?;
        if req.user != caller.user {
            return Err(ServiceError::Forbidden(
                "only the requester can cancel a request".into(),
            ));
        }
        if req.status != Status::Pending {
            return Err(not_pending(&req));
        }
        close(&tx, &req, Status::Cancelled, &caller.user, None, now)?;
        record(&tx, hooks, id, now, &caller.user, "cancelled", None)?;
        let view = load_view(&tx, id)?;
        tx.commit()?;
        log_event!("request {id} cancelled by {}", caller.user);
        Ok(view)
    }

    /// Newest first. Active means not revoked and not yet expired.
    pub fn grants(
        &mut self,
        active_only: bool,
        user: Option<&str>,
        limit: usize,
        now: i64,
    ) -> Result<Vec<GrantView>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE (?1 IS NULL OR user = ?1) \
             AND (?2 = 0 OR (revoked_at IS NULL AND expires_at > ?3)) \
             ORDER BY not_before DESC, rowid DESC LIMIT ?4"
        ))?;
        let rows = stmt.query_map(params![user, active_only, now, limit as i64], grant_row)?;
        Ok(collect(rows)?.into_iter().map(|g| g.view).collect())
    }

    pub fn grant(&mut self, id: &str) -> Result<GrantView> {
        Ok(load_grant(&self.conn, id)?.view)
    }

    /// Ends a grant before its time: by an approver of a zone it touches, or by its grantee.
    pub fn revoke(
        &mut self,
        id: &str,
        caller: &Caller,
        zones: &Zones,
        now: i64,
    ) -> Result<GrantView> {
        let hooks = self.webhooks;
        let tx = self.begin()?;
        let g = load_grant(&tx, id)?;
        let req = load_row(&tx, &g.view.grant.request_id)?;
        let grantee = g.view.grant.user == caller.user;
        let approver = req
            .zones
            .iter()
            .any(|z| zones.get(z).is_some_and(|z| z.is_approver(caller)));
        if !grantee && !approver {
            return Err(ServiceError::Forbidden(format!(
                "only the grantee or an approver of {} can revoke grant {id}",
                approver_groups(&req.zones, zones)
            )));
        }
        if g.revoked {
            return Err(ServiceError::Conflict(format!(
                "grant {id} is already revoked"
            )));
        }
        if g.expires_at <= now {
            return Err(ServiceError::Conflict(format!(
                "grant {id} has already expired"
            )));
        }
        let changed = tx.execute(
            "UPDATE grants SET revoked_at = ?2, revoked_by = ?3, released = ?4 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now, caller.user, grantee],
        )?;
        if changed != 1 {
            return Err(ServiceError::Conflict(format!(
                "grant {id} is already revoked"
            )));
        }
        let seq = append_change(&tx, "revoke", Some(id), now)?;
        let what = if grantee { "released" } else { "revoked" };
        record(&tx, 0, &req.id, now, &caller.user, what, Some(id))?;
        queue(&tx, hooks, &req.id, now, &caller.user, "revoked")?;
        let view = load_grant(&tx, id)?.view;
        tx.commit()?;
        self.signal.published(seq);
        log_event!("grant {id} {what} by {}", caller.user);
        Ok(view)
    }

    /// Uses up a single-use grant for the query a plugin describes in `context`; only the first
    /// caller succeeds, so two engines cannot both run a query on it.
    /// Uses single-use grant `id` for the query `context`; with `only_user`, only a grant of
    /// that user (a plugin token bound to one user).
    pub fn consume(
        &mut self,
        id: &str,
        only_user: Option<&str>,
        context: &str,
        now: i64,
    ) -> Result<GrantView> {
        let tx = self.begin()?;
        let g = load_grant(&tx, id)?;
        if only_user.is_some_and(|u| u != g.view.grant.user) {
            return Err(ServiceError::Forbidden(format!(
                "grant {id} is not the grant of the user this plugin token is bound to"
            )));
        }
        let refuse = |why: &str| Err(ServiceError::Conflict(format!("grant {id} {why}")));
        if !g.view.grant.single_use {
            return refuse("is not single-use");
        }
        if g.view.consumed_at.is_some() {
            return refuse("was already used");
        }
        if g.revoked {
            return refuse("is revoked");
        }
        if g.expires_at <= now {
            return refuse("has expired");
        }
        if parse_time(&g.view.grant.not_before).is_some_and(|t| t > now) {
            return refuse("is not valid yet");
        }
        let changed = tx.execute(
            "UPDATE grants SET consumed_at = ?2, consumed_by = ?3 WHERE id = ?1 AND consumed_at IS NULL",
            params![id, now, context],
        )?;
        if changed != 1 {
            return refuse("was already used");
        }
        let request_id = g.view.grant.request_id.clone();
        let comment = format!("grant {id} used by {context}");
        record(
            &tx,
            0,
            &request_id,
            now,
            "plugin",
            "consumed",
            Some(&comment),
        )?;
        let view = load_grant(&tx, id)?.view;
        tx.commit()?;
        log_event!("single-use grant {id} consumed by {context}");
        Ok(view)
    }

    /// What a plugin at cursor `after` needs to catch up: everything (a reset) when `after` is
    /// missing, unknown or older than the retained log, else the changes since.
    pub fn feed(
        &mut self,
        after: Option<u64>,
        zones: &[wire::Zone],
        now: i64,
    ) -> Result<wire::Feed> {
        let tx = self.conn.transaction()?;
        let current = cursor(&tx)?;
        let floor = log_floor(&tx)?;
        let incremental = after.filter(|a| *a >= floor && *a <= current);
        if self.feed_cache.cursor != current {
            self.feed_cache = FeedCache {
                cursor: current,
                answers: Default::default(),
            };
        }
        if let Some(hit) = incremental.and_then(|a| self.feed_cache.answers.get(&a)) {
            let mut feed = hit.clone();
            feed.server_time = format_time(now);
            return Ok(feed);
        }
        let mut feed = wire::Feed {
            cursor: current,
            server_time: format_time(now),
            reset: incremental.is_none(),
            zones: None,
            zones_signature: None,
            grants: vec![],
            revoked: vec![],
            nonce: None,
        };
        match incremental {
            None => {
                feed.zones = Some(zones.to_vec());
                let mut stmt = tx.prepare(&format!(
                    "SELECT {GRANT_COLUMNS} FROM grants WHERE revoked_at IS NULL AND expires_at > ?1 ORDER BY rowid"
                ))?;
                let rows = stmt.query_map([now], grant_row)?;
                feed.grants = collect(rows)?.into_iter().map(|g| g.view.grant).collect();
            }
            Some(after) => {
                let mut stmt =
                    tx.prepare("SELECT kind, grant_id FROM changes WHERE seq > ?1 ORDER BY seq")?;
                let rows = stmt.query_map([after as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })?;
                for row in rows {
                    match row? {
                        (kind, _) if kind == "zones" => feed.zones = Some(zones.to_vec()),
                        (kind, Some(id)) if kind == "revoke" => feed.revoked.push(id),
                        (kind, Some(id)) if kind == "grant" => {
                            let g = load_grant(&tx, &id)?;
                            // A grant revoked since is announced by its revoke alone.
                            if !g.revoked {
                                feed.grants.push(g.view.grant);
                            }
                        }
                        (kind, id) => {
                            return Err(ServiceError::Internal(format!(
                                "bad change row {kind} {id:?}"
                            )))
                        }
                    }
                }
            }
        }
        if let Some(a) = incremental {
            if self.feed_cache.answers.len() >= FEED_CACHE_ENTRIES {
                self.feed_cache.answers.clear();
            }
            self.feed_cache.answers.insert(a, feed.clone());
        }
        Ok(feed)
    }

    /// Stores each event once by id; returns how many were new. The whole batch is checked
    /// first, so a bad event stores nothing and the sender can fix and resend it.
    pub fn ingest_audit(&mut self, events: &[AuditEvent], now: i64) -> Result<usize> {
        let mut checked = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let at = |what: String| ServiceError::BadInput(format!("event {i} ({}): {what}", e.id));
            if e.id.trim().is_empty() {
                return Err(ServiceError::BadInput(format!("event {i}: id is empty")));
            }
            let time = parse_time(&e.time)
                .ok_or_else(|| at(format!("time `{}` is not an RFC 3339 UTC time", e.time)))?;
            if e.decision != "allow" && e.decision != "deny" {
                return Err(at(format!(
                    "decision `{}` must be allow or deny",
                    e.decision
                )));
            }
            let key = Resource::parse(&e.resource)
                .ok()
                .map(|r| r.key().to_string());
            checked.push((e, time, key));
        }
        let tx = self.begin()?;
        let mut accepted = 0;
        {
            let mut chain = Appender::start(&tx)?;
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO audit (id, time, plugin, host, user, resource, resource_key, action, \
                 decision, reason, grant_id, request_id, operation, context, received_at, seq, prev, hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?;
            for (e, time, key) in checked {
                let link = chain.next(&chain::audit_content(
                    &e.id,
                    time,
                    &e.plugin,
                    &e.host,
                    &e.user,
                    &e.resource,
                    &e.action,
                    &e.decision,
                    e.reason.as_deref(),
                    e.grant_id.as_deref(),
                    e.request_id.as_deref(),
                    e.operation.as_deref(),
                    e.context.as_deref(),
                    now,
                ));
                let inserted = stmt.execute(params![
                    e.id,
                    time,
                    e.plugin,
                    e.host,
                    e.user,
                    e.resource,
                    key,
                    e.action,
                    e.decision,
                    e.reason,
                    e.grant_id,
                    e.request_id,
                    e.operation,
                    e.context,
                    now,
                    link.seq,
                    link.prev,
                    link.hash
                ])?;
                // A re-sent event is stored once, and is one link.
                if inserted == 1 {
                    chain.advance(link);
                    accepted += 1;
                }
            }
            chain.finish(&tx)?;
        }
        tx.commit()?;
        Ok(accepted)
    }

    /// Oldest first. `resource` matches every event on that resource or under it.
    #[cfg(test)]
    pub fn audit(&mut self, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
        read_audit(&self.conn, f).map(|p| p.events)
    }
}

/// A page of the audit events `f` selects, oldest first (see `Store::audit`).
pub fn read_audit(conn: &Connection, f: &AuditFilter) -> Result<AuditPage> {
    {
        let mut sql = String::from(
            "SELECT id, time, plugin, host, user, resource, action, decision, reason, grant_id, \
             request_id, operation, context, resource_key, rowid FROM audit WHERE 1 = 1",
        );
        let mut args: Vec<Value> = vec![];
        let mut arg = |sql: &mut String, cond: &str, v: Value| {
            args.push(v);
            sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
        };
        if let Some(u) = &f.user {
            arg(&mut sql, " AND user = ?", Value::Text(u.clone()));
        }
        if let Some(g) = &f.grant {
            arg(&mut sql, " AND grant_id = ?", Value::Text(g.clone()));
        }
        if let Some(t) = f.since {
            arg(&mut sql, " AND time >= ?", Value::Integer(t));
        }
        if let Some(t) = f.until {
            arg(&mut sql, " AND time < ?", Value::Integer(t));
        }
        if let Some(r) = &f.resource {
            // A cheap prefix narrowing in SQL; covering (component boundaries) is decided below.
            arg(
                &mut sql,
                " AND substr(resource_key, 1, ?) = ",
                Value::Integer(r.key().chars().count() as i64),
            );
            arg(&mut sql, "?", Value::Text(r.key().to_string()));
        }
        if let Some((t, r)) = f.after {
            arg(&mut sql, " AND (time > ?", Value::Integer(t));
            arg(&mut sql, " OR (time = ? AND ", Value::Integer(t));
            arg(&mut sql, "rowid > ?))", Value::Integer(r));
        }
        sql.push_str(" ORDER BY time, rowid");
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = vec![];
        let mut last: (i64, i64) = (0, 0);
        let mut next = None;
        while let Some(row) = rows.next()? {
            if let Some(r) = &f.resource {
                let key: Option<String> = row.get(13)?;
                if !key.is_some_and(|k| key_covers(r.key(), &k)) {
                    continue;
                }
            }
            if out.len() >= f.limit {
                next = Some(format!("{}.{}", last.0, last.1));
                break;
            }
            last = (row.get(1)?, row.get(14)?);
            out.push(AuditEvent {
                id: row.get(0)?,
                time: format_time(row.get(1)?),
                plugin: row.get(2)?,
                host: row.get(3)?,
                user: row.get(4)?,
                resource: row.get(5)?,
                action: row.get(6)?,
                decision: row.get(7)?,
                reason: row.get(8)?,
                grant_id: row.get(9)?,
                request_id: row.get(10)?,
                operation: row.get(11)?,
                context: row.get(12)?,
            });
        }
        Ok(AuditPage { events: out, next })
    }
}

impl Store {
    /// Periodic housekeeping: expires stale pending requests and prunes the old change log.
    pub fn sweep(&mut self, zones: &Zones, now: i64) -> Result<()> {
        self.expire(now)?;
        self.escalate(zones, now)?;
        let tx = self.begin()?;
        let pruned: Option<i64> = tx.query_row(
            "SELECT MAX(seq) FROM changes WHERE time < ?1",
            [now - CHANGE_RETENTION_MS],
            |r| r.get(0),
        )?;
        if let Some(seq) = pruned {
            tx.execute("DELETE FROM changes WHERE seq <= ?1", [seq])?;
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'log_floor' AND CAST(value AS INTEGER) < ?1",
                [seq],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

impl Store {
    /// Pending requests that have waited past a touched zone's `escalate_after` get an
    /// `escalated` event, once; from then on the zone's `escalate_to` groups may decide too.
    pub fn escalate(&mut self, zones: &Zones, now: i64) -> Result<()> {
        let hooks = self.webhooks;
        let tx = self.begin()?;
        let waiting: Vec<(String, i64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT id, created_at, zones FROM requests WHERE status = 'pending' AND escalated_at IS NULL",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut escalated = vec![];
        for (id, created_at, names) in waiting {
            let groups: Vec<String> = from_json(&names)?
                .iter()
                .filter_map(|n| zones.get(n))
                .filter(|z| z.escalated(created_at, now))
                .flat_map(|z| z.escalate_to.iter().cloned())
                .collect();
            if groups.is_empty() {
                continue;
            }
            tx.execute(
                "UPDATE requests SET escalated_at = ?2 WHERE id = ?1 AND escalated_at IS NULL",
                params![id, now],
            )?;
            let note = format!("members of {} may now approve", groups.join(", "));
            record(&tx, hooks, &id, now, "jitgate", "escalated", Some(&note))?;
            escalated.push((id, note));
        }
        tx.commit()?;
        for (id, note) in escalated {
            log_event!("request {id} escalated: {note}");
        }
        Ok(())
    }

    /// Up to `limit` notifications due at `now`, oldest first.
    pub fn due_deliveries(&mut self, now: i64, limit: usize) -> Result<Vec<Delivery>> {
        let rows: Vec<(i64, i64, String, String, i64, i64, String)> = {
            let mut stmt = self.conn.prepare(
                "SELECT id, hook, event, request_id, time, attempts, actor FROM outbox \
                 WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_at <= ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now, limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        rows.into_iter()
            .map(|(id, hook, event, request_id, time, attempts, actor)| {
                Ok(Delivery {
                    id,
                    hook: hook as usize,
                    event,
                    actor,
                    time: format_time(time),
                    attempts: attempts as u32,
                    request: load_view(&self.conn, &request_id)?,
                })
            })
            .collect()
    }

    /// Marks a notification delivered.
    pub fn delivered(&mut self, id: i64, now: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1 WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or given up on when None.
    pub fn delivery_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_at = COALESCE(?3, next_at), \
             gave_up_at = CASE WHEN ?3 IS NULL THEN ?4 END WHERE id = ?1",
            params![id, error, retry_at, now],
        )?;
        Ok(())
    }

    /// (pending, delivered, given up) notification counts.
    #[cfg(test)]
    pub fn outbox_counts(&mut self) -> Result<(i64, i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FILTER (WHERE delivered_at IS NULL AND gave_up_at IS NULL), \
             COUNT(delivered_at), COUNT(gave_up_at) FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }
}

/// One access in an auditor's report: the audited decision with the grant, request, reason
/// and approvers behind it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReportRow {
    pub time: String,
    pub user: String,
    pub resource: String,
    pub action: String,
    pub decision: String,
    pub plugin: String,
    pub operation: Option<String>,
    pub context: Option<String>,
    pub grant_id: Option<String>,
    pub request_id: Option<String>,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub approvers: Vec<String>,
    pub requested_at: Option<String>,
    pub granted_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

impl Store {
    /// Every audited access in `[since, until)`, by user, then resource, then time.
    #[cfg(test)]
    pub fn report(&mut self, since: i64, until: i64, limit: usize) -> Result<Vec<ReportRow>> {
        read_report(&self.conn, since, until, limit)
    }
}

/// See `Store::report`.
pub fn read_report(
    conn: &Connection,
    since: i64,
    until: i64,
    limit: usize,
) -> Result<Vec<ReportRow>> {
    {
        let mut stmt = conn.prepare(
            "SELECT a.time, a.user, a.resource, a.action, a.decision, a.plugin, a.operation, a.context, \
             a.grant_id, g.request_id, r.reason, r.ticket, g.approvers, r.created_at, g.not_before, \
             g.expires_at, g.revoked_at, g.revoked_by \
             FROM audit a LEFT JOIN grants g ON g.id = a.grant_id LEFT JOIN requests r ON r.id = g.request_id \
             WHERE a.time >= ?1 AND a.time < ?2 ORDER BY a.user, a.resource, a.time, a.rowid LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![since, until, limit as i64], |r| {
            let t = |i: usize| -> rusqlite::Result<Option<String>> {
                Ok(r.get::<_, Option<i64>>(i)?.map(format_time))
            };
            let approvers: Option<String> = r.get(12)?;
            Ok((
                approvers,
                ReportRow {
                    time: format_time(r.get(0)?),
                    user: r.get(1)?,
                    resource: r.get(2)?,
                    action: r.get(3)?,
                    decision: r.get(4)?,
                    plugin: r.get(5)?,
                    operation: r.get(6)?,
                    context: r.get(7)?,
                    grant_id: r.get(8)?,
                    request_id: r.get(9)?,
                    reason: r.get(10)?,
                    ticket: r.get(11)?,
                    approvers: vec![],
                    requested_at: t(13)?,
                    granted_at: t(14)?,
                    expires_at: t(15)?,
                    revoked_at: t(16)?,
                    revoked_by: r.get(17)?,
                },
            ))
        })?;
        let mut out = vec![];
        for row in rows {
            let (approvers, mut row) = row?;
            if let Some(a) = approvers {
                row.approvers = from_json(&a)?;
            }
            out.push(row);
        }
        Ok(out)
    }
}

impl Store {
    /// Changes whenever anything a page shows changes (a request step, a grant, an audit
    /// event: each is a new link of the audit chain), so open pages know to refresh. Reads two
    /// values, whatever the size of the audit trail: pages poll it.
    pub fn stamp(&mut self) -> Result<String> {
        Ok(self.conn.query_row(
            "SELECT COALESCE((SELECT value FROM meta WHERE key = 'chain_head'), '0') || '-' || \
             (SELECT COALESCE(MAX(seq), 0) FROM changes)",
            [],
            |r| r.get(0),
        )?)
    }
}

/// Appends a step to a request's history, and queues it for the webhooks when it is a
/// notified event (pass `hooks = 0` to record without notifying).
fn record(
    conn: &Connection,
    hooks: usize,
    request_id: &str,
    now: i64,
    actor: &str,
    kind: &str,
    comment: Option<&str>,
) -> Result<()> {
    let mut chain = Appender::start(conn)?;
    let link = chain.next(&chain::history_content(
        request_id, now, actor, kind, comment,
    ));
    conn.execute(
        "INSERT INTO events (request_id, time, actor, kind, comment, seq, prev, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![request_id, now, actor, kind, comment, link.seq, link.prev, link.hash],
    )?;
    chain.advance(link);
    chain.finish(conn)?;
    if NOTIFIED.contains(&kind) {
        queue(conn, hooks, request_id, now, actor, kind)?;
    }
    Ok(())
}

fn queue(
    conn: &Connection,
    hooks: usize,
    request_id: &str,
    now: i64,
    actor: &str,
    event: &str,
) -> Result<()> {
    for hook in 0..hooks {
        conn.execute(
            "INSERT INTO outbox (hook, event, request_id, actor, time, next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![hook as i64, event, request_id, actor, now],
        )?;
    }
    Ok(())
}

/// Marks a pending request approved and issues its grant; the conditional UPDATE makes a
/// second issuer fail instead of issuing twice.
fn issue_grant(
    conn: &Connection,
    hooks: usize,
    req: &RequestRow,
    approvers: &[String],
    now: i64,
) -> Result<(String, u64)> {
    let changed = conn.execute(
        "UPDATE requests SET status = 'approved', updated_at = ?2 WHERE id = ?1 AND status = 'pending'",
        params![req.id, now],
    )?;
    if changed != 1 {
        return Err(ServiceError::Conflict(format!(
            "request {} is no longer pending",
            req.id
        )));
    }
    let grant_id = new_id("g-");
    let expires_at = now + req.duration_ms;
    conn.execute(
        "INSERT INTO grants (id, request_id, user, resources, actions, not_before, expires_at, approvers, single_use) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            grant_id,
            req.id,
            req.user,
            to_json(&req.resources),
            to_json(&req.actions),
            now,
            expires_at,
            to_json(&approvers),
            req.single_use
        ],
    )?;
    let note = format!("grant {grant_id} until {}", format_time(expires_at));
    record(conn, 0, &req.id, now, "jitgate", "granted", Some(&note))?;
    queue(conn, hooks, &req.id, now, &approvers.join(","), "approved")?;
    let seq = append_change(conn, "grant", Some(&grant_id), now)?;
    Ok((grant_id, seq))
}

fn load_history(conn: &Connection, id: &str) -> Result<Vec<EventView>> {
    let mut stmt = conn.prepare(
        "SELECT time, actor, kind, comment FROM events WHERE request_id = ?1 ORDER BY time, rowid",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(EventView {
            time: format_time(r.get(0)?),
            actor: r.get(1)?,
            event: r.get(2)?,
            comment: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn cursor(conn: &Connection) -> Result<u64> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'changes'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match seq {
        Some(s) => Ok(s as u64),
        None => log_floor(conn),
    }
}

fn log_floor(conn: &Connection) -> Result<u64> {
    let v: String = conn.query_row("SELECT value FROM meta WHERE key = 'log_floor'", [], |r| {
        r.get(0)
    })?;
    v.parse()
        .map_err(|_| ServiceError::Internal(format!("bad log_floor {v} in the database")))
}

fn append_change(conn: &Connection, kind: &str, grant_id: Option<&str>, now: i64) -> Result<u64> {
    conn.execute(
        "INSERT INTO changes (kind, grant_id, time) VALUES (?1, ?2, ?3)",
        params![kind, grant_id, now],
    )?;
    Ok(conn.last_insert_rowid() as u64)
}

fn expire_stale(conn: &Connection, timeout_ms: i64, now: i64) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        "UPDATE requests SET status = 'expired', updated_at = ?1 \
         WHERE status = 'pending' AND created_at <= ?2 RETURNING id, user",
    )?;
    let rows = stmt.query_map(params![now, now - timeout_ms], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn close(
    conn: &Connection,
    req: &RequestRow,
    to: Status,
    by: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    let changed = conn.execute(
        "UPDATE requests SET status = ?2, decided_by = ?3, decision_reason = ?4, updated_at = ?5 \
         WHERE id = ?1 AND status = 'pending'",
        params![req.id, to.as_str(), by, reason, now],
    )?;
    if changed != 1 {
        return Err(ServiceError::Conflict(format!(
            "request {} is no longer pending",
            req.id
        )));
    }
    Ok(())
}

fn not_pending(req: &RequestRow) -> ServiceError {
    ServiceError::Conflict(format!(
        "request {} is {}, not pending",
        req.id,
        req.status.as_str()
    ))
}

/// "zone sales (approver groups: sales-owners)", for refusals.
fn approver_groups(names: &[String], zones: &Zones) -> String {
    let parts: Vec<String> = names
        .iter()
        .map(|n| match zones.get(n) {
            Some(z) => format!("zone {n} (approver groups: {})", z.approvers.join(", ")),
            None => format!("zone {n}"),
        })
        .collect();
    parts.join(" or ")
}

fn load_row(conn: &Connection, id: &str) -> Result<RequestRow> {
    conn.query_row(
        &format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?1"),
        [id],
        request_row,
    )
    .optional()?
    .ok_or_else(|| ServiceError::NotFound(format!("no request {id}")))?
}

fn load_approvals(conn: &Connection, id: &str) -> Result<Vec<ApprovalView>> {
    let mut stmt =
        conn.prepare("SELECT approver, comment, time, zones FROM approvals WHERE request_id = ?1 ORDER BY time, rowid")?;
    let rows = stmt.query_map([id], |r| {
        let zones: String = r.get(3)?;
        let (approver, comment, time): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        Ok(from_json(&zones).map(|zones| ApprovalView {
            approver,
            comment,
            time: format_time(time),
            zones,
        }))
    })?;
    collect(rows)
}

fn load_grant(conn: &Connection, id: &str) -> Result<GrantRow> {
    conn.query_row(
        &format!("SELECT {GRANT_COLUMNS} FROM grants WHERE id = ?1"),
        [id],
        grant_row,
    )
    .optional()?
    .ok_or_else(|| ServiceError::NotFound(format!("no grant {id}")))?
}

fn load_view(conn: &Connection, id: &str) -> Result<RequestView> {
    let r = load_row(conn, id)?;
    let grant_id: Option<String> = conn
        .query_row("SELECT id FROM grants WHERE request_id = ?1", [id], |row| {
            row.get(0)
        })
        .optional()?;
    let grant = grant_id
        .map(|g| load_grant(conn, &g))
        .transpose()?
        .map(|g| g.view);
    Ok(RequestView {
        approvals: load_approvals(conn, id)?,
        id: r.id,
        status: r.status,
        user: r.user,
        groups: r.groups,
        resources: r.resources,
        actions: r.actions,
        duration: format_duration(Duration::from_millis(r.duration_ms as u64)),
        reason: r.reason,
        ticket: r.ticket,
        created_at: format_time(r.created_at),
        updated_at: format_time(r.updated_at),
        zones: r.zones,
        decided_by: r.decided_by,
        decision_reason: r.decision_reason,
        single_use: r.single_use,
        grant,
        history: load_history(conn, id)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_runs_beside_the_writer_and_is_stopped_past_its_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Duration::from_secs(60), ChangeSignal::new()).unwrap();
        let mut db = Db::new(store);
        db.budget = Duration::from_millis(300);
        // A read that would never end.
        let endless = async {
            let r = db
                .read(|c| {
                    Ok(c.query_row(
                        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) \
                         SELECT count(*) FROM n",
                        [],
                        |r| r.get::<_, i64>(0),
                    )?)
                })
                .await;
            (r, std::time::Instant::now())
        };
        let writer = db.clone();
        let write = async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            writer.call(|s| s.record_zones(&[], T0)).await.unwrap();
            std::time::Instant::now()
        };
        let ((read, read_ended), wrote) = tokio::join!(endless, write);
        let err = read.unwrap_err();
        assert_eq!(err.status(), 400, "{err}");
        assert!(err.message().contains("narrow it"), "{err}");
        assert!(wrote < read_ended, "the write waited for the read to end");
    }
    use crate::zones::tests::example;

    const T0: i64 = 1_800_000_000_000;
    const MIN: i64 = 60_000;

    fn who(user: &str, groups: &[&str]) -> Caller {
        Caller {
            user: user.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn alice() -> Caller {
        who("alice", &["analysts"])
    }
    fn bob() -> Caller {
        who("bob", &["sales-owners"])
    }
    fn carol() -> Caller {
        who("carol", &["sales-owners"])
    }

    fn store() -> Store {
        let mut s = Store::open_in_memory(Duration::from_secs(3600), ChangeSignal::new()).unwrap();
        s.record_zones(&example().to_wire(), T0).unwrap();
        s
    }

    fn ask(
        s: &mut Store,
        caller: &Caller,
        resources: &[&str],
        minutes: u64,
        now: i64,
    ) -> RequestView {
        let resources: Vec<String> = resources.iter().map(|r| r.to_string()).collect();
        let plan = example()
            .plan(&resources, &["read".into()], &format!("{minutes}m"))
            .unwrap();
        s.create_request(caller, &plan, "INC-4411", Some("INC-4411"), now)
            .unwrap()
    }

    #[test]
    fn ids_are_prefixed_random_lowercase_alphanumerics() {
        let id = new_id("r-");
        assert_eq!(id.len(), 12);
        assert!(id.starts_with("r-"));
        assert!(
            id[2..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "{id}"
        );
        assert_ne!(new_id("g-"), new_id("g-"));
    }

    #[test]
    fn approval_by_a_zone_approver_issues_the_grant() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        assert_eq!(r.status, Status::Pending);
        assert_eq!(r.zones, ["sales"]);
        assert_eq!(r.ticket.as_deref(), Some("INC-4411"));
        let done = s
            .approve(&r.id, &bob(), "ok", &example(), T0 + 1000)
            .unwrap();
        assert_eq!(done.status, Status::Approved);
        let g = done.grant.expect("a grant");
        assert!(g.grant.id.starts_with("g-"));
        assert_eq!(g.grant.request_id, r.id);
        assert_eq!(g.grant.user, "alice");
        assert_eq!(g.grant.resources, ["hive:sales.orders"]);
        assert_eq!(g.grant.actions, ["read"]);
        assert_eq!(g.grant.approvers, ["bob"]);
        assert_eq!(parse_time(&g.grant.not_before), Some(T0 + 1000));
        assert_eq!(parse_time(&g.grant.expires_at), Some(T0 + 1000 + 10 * MIN));
        assert_eq!(done.approvals[0].comment, "ok");
    }

    #[test]
    fn self_approval_is_refused() {
        let mut s = store();
        let owner = who("bob", &["sales-owners"]);
        let r = ask(&mut s, &owner, &["hive:sales.orders"], 10, T0);
        let err = s.approve(&r.id, &owner, "", &example(), T0).unwrap_err();
        assert_eq!(
            err,
            ServiceError::Forbidden("you cannot approve your own request".into())
        );
    }

    #[test]
    fn non_approver_is_refused_with_the_approver_groups_named() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let err = s
            .approve(&r.id, &who("dave", &["hr-owners"]), "", &example(), T0)
            .unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(
            err.message()
                .contains("zone sales (approver groups: sales-owners)"),
            "{err}"
        );
        assert_eq!(s.request(&r.id, T0).unwrap().status, Status::Pending);
    }

    #[test]
    fn same_approver_twice_is_a_conflict() {
        let mut s = store();
        // hr needs two approvals, so the first leaves the request pending.
        let r = ask(&mut s, &alice(), &["hdfs:/lake/hr/payroll"], 10, T0);
        let dave = who("dave", &["hr-owners"]);
        assert_eq!(
            s.approve(&r.id, &dave, "", &example(), T0).unwrap().status,
            Status::Pending
        );
        let err = s.approve(&r.id, &dave, "", &example(), T0).unwrap_err();
        assert_eq!(err.status(), 409);
        assert!(err.message().contains("already approved"), "{err}");
    }

    #[test]
    fn every_touched_zone_needs_its_own_approvals() {
        let mut s = store();
        let r = ask(
            &mut s,
            &alice(),
            &["hive:sales.orders", "hive:hr.people"],
            10,
            T0,
        );
        assert_eq!(r.zones, ["sales", "hr"]);
        let v = s.approve(&r.id, &bob(), "", &example(), T0).unwrap();
        assert_eq!(
            (v.status, v.approvals[0].zones.clone()),
            (Status::Pending, vec!["sales".to_string()])
        );
        let v = s
            .approve(&r.id, &who("dave", &["hr-owners"]), "", &example(), T0)
            .unwrap();
        assert_eq!(v.status, Status::Pending, "hr needs two approvals");
        let v = s
            .approve(
                &r.id,
                &who("erin", &["hr-owners", "sales-owners"]),
                "",
                &example(),
                T0,
            )
            .unwrap();
        assert_eq!(v.status, Status::Approved);
        assert_eq!(v.grant.unwrap().grant.approvers, ["bob", "dave", "erin"]);
    }

    #[test]
    fn approving_a_denied_or_cancelled_request_is_a_conflict() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let denied = s
            .deny(&r.id, &bob(), Some("not during the freeze"), &example(), T0)
            .unwrap();
        assert_eq!(
            (denied.status, denied.decided_by.as_deref()),
            (Status::Denied, Some("bob"))
        );
        assert_eq!(
            denied.decision_reason.as_deref(),
            Some("not during the freeze")
        );
        let err = s.approve(&r.id, &carol(), "", &example(), T0).unwrap_err();
        assert_eq!(
            err,
            ServiceError::Conflict(format!("request {} is denied, not pending", r.id))
        );

        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        assert_eq!(
            s.cancel(&r.id, &alice(), T0).unwrap().status,
            Status::Cancelled
        );
        let err = s.approve(&r.id, &carol(), "", &example(), T0).unwrap_err();
        assert!(err.message().contains("is cancelled"), "{err}");
        assert!(s
            .deny(&r.id, &carol(), None, &example(), T0)
            .unwrap_err()
            .message()
            .contains("is cancelled"));
    }

    #[test]
    fn only_the_requester_cancels_and_only_approvers_deny() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        assert_eq!(s.cancel(&r.id, &bob(), T0).unwrap_err().status(), 403);
        assert_eq!(
            s.deny(&r.id, &who("mallory", &[]), None, &example(), T0)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            s.deny(&r.id, &alice(), None, &example(), T0)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(s.request(&r.id, T0).unwrap().status, Status::Pending);
    }

    #[test]
    fn unknown_request_is_not_found() {
        let mut s = store();
        assert_eq!(s.request("r-nothing", T0).unwrap_err().status(), 404);
        assert_eq!(
            s.approve("r-nothing", &bob(), "", &example(), T0)
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            s.revoke("g-nothing", &bob(), &example(), T0)
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn empty_reason_is_refused() {
        let mut s = store();
        let plan = example()
            .plan(&["hive:sales.t".into()], &["read".into()], "5m")
            .unwrap();
        let err = s
            .create_request(&alice(), &plan, "  ", None, T0)
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message().contains("reason is required"));
    }

    #[test]
    fn pending_request_expires_after_the_timeout() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        assert_eq!(
            s.request(&r.id, T0 + 59 * MIN).unwrap().status,
            Status::Pending
        );
        assert_eq!(
            s.request(&r.id, T0 + 60 * MIN).unwrap().status,
            Status::Expired
        );
        let err = s
            .approve(&r.id, &bob(), "", &example(), T0 + 61 * MIN)
            .unwrap_err();
        assert!(err.message().contains("is expired"), "{err}");
        let r2 = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0 + 61 * MIN);
        s.sweep(&example(), T0 + 122 * MIN).unwrap();
        assert_eq!(
            s.requests(Some(Status::Expired), None, 10, T0 + 122 * MIN)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            s.request(&r2.id, T0 + 122 * MIN).unwrap().status,
            Status::Expired
        );
    }

    #[test]
    fn request_lists_are_newest_first_and_filtered() {
        let mut s = store();
        let a = ask(&mut s, &alice(), &["hive:sales.a"], 5, T0);
        let b = ask(&mut s, &who("zed", &[]), &["hive:sales.b"], 5, T0 + 1);
        let c = ask(&mut s, &alice(), &["hive:sales.c"], 5, T0 + 2);
        s.approve(&c.id, &bob(), "", &example(), T0 + 3).unwrap();
        let ids = |v: Vec<RequestView>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.requests(None, None, 10, T0 + 4).unwrap()),
            [c.id.clone(), b.id.clone(), a.id.clone()]
        );
        assert_eq!(
            ids(s.requests(Some(Status::Pending), None, 10, T0 + 4).unwrap()),
            [b.id.clone(), a.id.clone()]
        );
        assert_eq!(
            ids(s.requests(None, Some("alice"), 10, T0 + 4).unwrap()),
            [c.id.clone(), a.id.clone()]
        );
        assert_eq!(
            ids(s.requests(None, None, 1, T0 + 4).unwrap()),
            vec![c.id.clone()]
        );
    }

    #[test]
    fn revoke_by_grantee_or_approver_once_and_only_while_active() {
        let mut s = store();
        let z = example();
        let issue = |s: &mut Store, now| {
            let r = ask(s, &alice(), &["hive:sales.orders"], 10, now);
            s.approve(&r.id, &bob(), "", &z, now)
                .unwrap()
                .grant
                .unwrap()
                .grant
                .id
        };
        let g1 = issue(&mut s, T0);
        assert_eq!(
            s.revoke(&g1, &who("mallory", &["hr-owners"]), &z, T0)
                .unwrap_err()
                .status(),
            403
        );
        let v = s.revoke(&g1, &carol(), &z, T0 + 5).unwrap();
        assert_eq!(
            (v.revoked_by.as_deref(), v.revoked_at.is_some()),
            (Some("carol"), true)
        );
        let err = s.revoke(&g1, &alice(), &z, T0 + 6).unwrap_err();
        assert_eq!(
            err,
            ServiceError::Conflict(format!("grant {g1} is already revoked"))
        );

        let g2 = issue(&mut s, T0);
        assert!(
            s.revoke(&g2, &alice(), &z, T0 + MIN).is_ok(),
            "the grantee may give it up early"
        );

        let g3 = issue(&mut s, T0);
        let err = s.revoke(&g3, &bob(), &z, T0 + 10 * MIN).unwrap_err();
        assert_eq!(
            err,
            ServiceError::Conflict(format!("grant {g3} has already expired"))
        );

        let g4 = issue(&mut s, T0);
        let active: Vec<String> = s
            .grants(true, None, 10, T0 + MIN)
            .unwrap()
            .into_iter()
            .map(|g| g.grant.id)
            .collect();
        assert_eq!(active, [g4.clone(), g3.clone()]);
        assert_eq!(s.grants(true, Some("bob"), 10, T0 + MIN).unwrap().len(), 0);
        assert_eq!(s.grants(false, None, 10, T0 + MIN).unwrap().len(), 4);
    }

    #[test]
    fn feed_resets_then_follows_grants_and_revocations() {
        let mut s = store();
        let z = example();
        let zw = z.to_wire();
        let first = s.feed(None, &zw, T0).unwrap();
        assert!(first.reset);
        assert_eq!(first.zones.as_ref().unwrap().len(), 2);
        assert!(first.grants.is_empty());

        let quiet = s.feed(Some(first.cursor), &zw, T0).unwrap();
        assert!(
            !quiet.reset
                && quiet.zones.is_none()
                && quiet.grants.is_empty()
                && quiet.revoked.is_empty()
        );
        assert_eq!(quiet.cursor, first.cursor);

        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g = s
            .approve(&r.id, &bob(), "", &z, T0)
            .unwrap()
            .grant
            .unwrap()
            .grant;
        let next = s.feed(Some(first.cursor), &zw, T0).unwrap();
        assert!(!next.reset);
        assert_eq!(next.grants, vec![g.clone()]);
        assert!(next.cursor > first.cursor);

        s.revoke(&g.id, &bob(), &z, T0 + 1).unwrap();
        let after_revoke = s.feed(Some(next.cursor), &zw, T0 + 1).unwrap();
        assert_eq!(
            (after_revoke.grants.len(), after_revoke.revoked.clone()),
            (0, vec![g.id.clone()])
        );
        // Catching up over both sees only the revoke, never the dead grant.
        let both = s.feed(Some(first.cursor), &zw, T0 + 1).unwrap();
        assert_eq!((both.grants.len(), both.revoked.len()), (0, 1));
        // A reset carries only active grants.
        assert!(s.feed(Some(0), &zw, T0 + 1).unwrap().grants.is_empty());
    }

    #[test]
    fn feed_resets_for_cursors_it_cannot_vouch_for() {
        let mut s = store();
        let zw = example().to_wire();
        let now = s.feed(None, &zw, T0).unwrap().cursor;
        assert!(s.feed(Some(0), &zw, T0).unwrap().reset);
        assert!(
            s.feed(Some(7), &zw, T0).unwrap().reset,
            "a cursor of an older database"
        );
        assert!(
            s.feed(Some(now + 5), &zw, T0).unwrap().reset,
            "a cursor from the future"
        );
        assert!(!s.feed(Some(now), &zw, T0).unwrap().reset);

        // After pruning, cursors older than the pruned log get a reset; the current one does not.
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        s.approve(&r.id, &bob(), "", &example(), T0).unwrap();
        let latest = s.feed(Some(now), &zw, T0).unwrap().cursor;
        s.sweep(&example(), T0 + CHANGE_RETENTION_MS + 1).unwrap();
        assert!(
            s.feed(Some(now), &zw, T0 + CHANGE_RETENTION_MS + 1)
                .unwrap()
                .reset
        );
        assert!(
            !s.feed(Some(latest), &zw, T0 + CHANGE_RETENTION_MS + 1)
                .unwrap()
                .reset
        );
    }

    #[test]
    fn changed_zones_reach_the_feed_once() {
        let mut s = store();
        let mut zw = example().to_wire();
        let c = s.feed(None, &zw, T0).unwrap().cursor;
        s.record_zones(&zw, T0).unwrap();
        assert!(
            s.feed(Some(c), &zw, T0).unwrap().zones.is_none(),
            "same zones, no change"
        );
        zw[0].max_duration = "5m".into();
        s.record_zones(&zw, T0).unwrap();
        let f = s.feed(Some(c), &zw, T0).unwrap();
        assert_eq!(f.zones.unwrap()[0].max_duration, "5m");
    }

    #[test]
    fn two_stores_racing_to_approve_issue_one_grant() {
        let dir = tempfile::tempdir().unwrap();
        let open =
            || Store::open(dir.path(), Duration::from_secs(3600), ChangeSignal::new()).unwrap();
        let mut a = open();
        let r = ask(&mut a, &alice(), &["hive:sales.orders"], 10, T0);
        let mut b = open();
        let (id_a, id_b) = (r.id.clone(), r.id.clone());
        let ta = std::thread::spawn(move || {
            a.approve(&id_a, &bob(), "", &example(), T0)
                .map(|v| v.status)
        });
        let tb = std::thread::spawn(move || {
            b.approve(&id_b, &carol(), "", &example(), T0)
                .map(|v| v.status)
        });
        let results = [ta.join().unwrap(), tb.join().unwrap()];
        assert_eq!(
            results
                .iter()
                .filter(|r| matches!(r, Ok(Status::Approved)))
                .count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(ServiceError::Conflict(_)))),
            "{results:?}"
        );
        assert_eq!(open().grants(false, None, 10, T0).unwrap().len(), 1);
    }

    fn event(id: &str, minute: i64, user: &str, resource: &str, grant: Option<&str>) -> AuditEvent {
        AuditEvent {
            id: id.into(),
            time: format_time(T0 + minute * MIN),
            plugin: "hive".into(),
            host: "hs2-1".into(),
            user: user.into(),
            resource: resource.into(),
            action: "read".into(),
            decision: if grant.is_some() { "allow" } else { "deny" }.into(),
            reason: None,
            grant_id: grant.map(String::from),
            request_id: None,
            operation: Some("SELECT".into()),
            context: Some("query q-1".into()),
        }
    }

    #[test]
    fn audit_events_are_stored_once_by_id() {
        let mut s = store();
        let batch = vec![
            event("e1", 0, "alice", "hive:sales.orders", Some("g-1")),
            event("e2", 1, "bob", "hdfs:/lake/sales/x", None),
        ];
        assert_eq!(s.ingest_audit(&batch, T0).unwrap(), 2);
        assert_eq!(s.ingest_audit(&batch, T0).unwrap(), 0);
        let more = vec![
            batch[1].clone(),
            event("e3", 2, "alice", "hive:salesx.t", None),
        ];
        assert_eq!(s.ingest_audit(&more, T0).unwrap(), 1);
        let all = s
            .audit(&AuditFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e1", "e2", "e3"]
        );
        assert_eq!(all[0], batch[0]);
    }

    #[test]
    fn a_bad_audit_event_stores_nothing_of_its_batch() {
        let mut s = store();
        let mut bad = event("e2", 0, "alice", "hive:sales.t", None);
        bad.decision = "maybe".into();
        let err = s
            .ingest_audit(&[event("e1", 0, "alice", "hive:sales.t", None), bad], T0)
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message().contains("decision `maybe`"), "{err}");
        let mut late = event("e3", 0, "alice", "hive:sales.t", None);
        late.time = "yesterday".into();
        assert!(s
            .ingest_audit(&[late], T0)
            .unwrap_err()
            .message()
            .contains("time `yesterday`"));
        assert!(s
            .audit(&AuditFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap()
            .is_empty());
    }

    #[test]
    fn audit_filters_by_covering_resource_user_grant_and_time() {
        let mut s = store();
        s.ingest_audit(
            &[
                event("e1", 0, "alice", "hive:sales.orders", Some("g-1")),
                event("e2", 1, "alice", "hive:salesx.orders", None),
                event("e3", 2, "bob", "hdfs:/lake/sales/2026/part-0", None),
                event("e4", 3, "alice", "hdfs:/lake/salesforce", None),
                event("e5", 4, "alice", "hive:sales.orders.amount", Some("g-1")),
            ],
            T0,
        )
        .unwrap();
        let ids = |s: &mut Store, f: AuditFilter| {
            s.audit(&AuditFilter { limit: 100, ..f })
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        };
        let res = |r: &str| Some(Resource::parse(r).unwrap());
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    resource: res("hive:sales.*"),
                    ..Default::default()
                }
            ),
            ["e1", "e5"]
        );
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    resource: res("hdfs:/lake/sales"),
                    ..Default::default()
                }
            ),
            ["e3"]
        );
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    resource: res("hdfs:/"),
                    ..Default::default()
                }
            ),
            ["e3", "e4"]
        );
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    user: Some("bob".into()),
                    ..Default::default()
                }
            ),
            ["e3"]
        );
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    grant: Some("g-1".into()),
                    ..Default::default()
                }
            ),
            ["e1", "e5"]
        );
        let (since, until) = (Some(T0 + MIN), Some(T0 + 3 * MIN));
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    since,
                    until,
                    ..Default::default()
                }
            ),
            ["e2", "e3"]
        );
        assert_eq!(
            s.audit(&AuditFilter {
                limit: 2,
                ..Default::default()
            })
            .unwrap()
            .len(),
            2
        );
    }

    /// `sales` with an auto-approval rule for on-call readers (5m) and escalation to
    /// `security` after 30 minutes.
    fn workflow_zones() -> Zones {
        let mut sales = crate::zones::ZoneRule::from_wire(&crate::zones::tests::zone(
            "sales",
            &["hdfs:/lake/sales", "hive:sales.*"],
            &["sales-owners"],
        ))
        .unwrap();
        sales.auto_approve.push(crate::zones::AutoRule {
            name: "oncall".into(),
            group: "oncall".into(),
            actions: jitgate::model::ActionSet::parse(["read"]).unwrap(),
            max_duration: Duration::from_secs(300),
        });
        sales.escalate_after = Some(Duration::from_secs(1800));
        sales.escalate_to = vec!["security".into()];
        Zones::new(vec![sales]).unwrap()
    }

    fn ask_in(
        s: &mut Store,
        zones: &Zones,
        caller: &Caller,
        action: &str,
        duration: &str,
        now: i64,
    ) -> RequestView {
        let mut plan = zones
            .plan(&["hive:sales.orders".into()], &[action.into()], duration)
            .unwrap();
        plan.auto_approved_by = zones.auto_approval(&plan, caller);
        s.create_request(caller, &plan, "INC-9", None, now).unwrap()
    }

    fn events(v: &RequestView) -> Vec<(String, String)> {
        v.history
            .iter()
            .map(|e| (e.event.clone(), e.actor.clone()))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn matching_auto_rule_approves_at_once_recorded_as_auto() {
        let mut s = store();
        let z = workflow_zones();
        let oncall = who("olga", &["oncall"]);
        let r = ask_in(&mut s, &z, &oncall, "read", "5m", T0);
        assert_eq!(r.status, Status::Approved);
        let g = r.grant.clone().expect("a grant at once");
        assert_eq!(g.grant.approvers, ["auto:oncall"]);
        assert_eq!(parse_time(&g.grant.expires_at), Some(T0 + 5 * MIN));
        assert_eq!(
            events(&r),
            pairs(&[
                ("created", "olga"),
                ("auto-approved", "auto:oncall"),
                ("granted", "jitgate")
            ])
        );
        // Longer than the rule allows, another action, or another group: people decide.
        for (caller, action, duration) in [
            (&oncall, "read", "6m"),
            (&oncall, "write", "5m"),
            (&alice(), "read", "5m"),
        ] {
            let r = ask_in(&mut s, &z, caller, action, duration, T0);
            assert_eq!(r.status, Status::Pending, "{action} {duration}");
            assert!(r.grant.is_none());
        }
    }

    #[test]
    fn escalation_lets_the_second_group_approve_after_the_delay() {
        let mut s = store();
        let z = workflow_zones();
        let sec = who("sam", &["security"]);
        let r = ask_in(&mut s, &z, &alice(), "read", "10m", T0);
        let err = s.approve(&r.id, &sec, "", &z, T0 + 29 * MIN).unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(err.message().contains("not an approver"), "{err}");
        s.escalate(&z, T0 + 30 * MIN).unwrap();
        s.escalate(&z, T0 + 31 * MIN).unwrap();
        let v = s.request(&r.id, T0 + 31 * MIN).unwrap();
        let esc: Vec<&EventView> = v
            .history
            .iter()
            .filter(|e| e.event == "escalated")
            .collect();
        assert_eq!(esc.len(), 1, "escalated once: {:?}", v.history);
        assert_eq!(esc[0].time, format_time(T0 + 30 * MIN));
        assert_eq!(
            esc[0].comment.as_deref(),
            Some("members of security may now approve")
        );
        let v = s
            .approve(&r.id, &sec, "covering", &z, T0 + 32 * MIN)
            .unwrap();
        assert_eq!(v.status, Status::Approved);
        assert_eq!(v.grant.unwrap().grant.approvers, ["sam"]);
    }

    #[test]
    fn escalation_is_recorded_by_approve_even_without_a_sweep() {
        let mut s = store();
        let z = workflow_zones();
        let r = ask_in(&mut s, &z, &alice(), "read", "10m", T0);
        let v = s
            .deny(
                &r.id,
                &who("sam", &["security"]),
                Some("no"),
                &z,
                T0 + 45 * MIN,
            )
            .unwrap();
        assert_eq!(
            events(&v),
            pairs(&[
                ("created", "alice"),
                ("escalated", "jitgate"),
                ("denied", "sam")
            ])
        );
    }

    #[test]
    fn a_single_use_grant_is_consumed_once_and_a_plain_one_never() {
        let mut s = store();
        let z = example();
        let mut plan = z
            .plan(&["hive:sales.orders".into()], &["read".into()], "5m")
            .unwrap();
        plan.single_use = true;
        let r = s
            .create_request(&alice(), &plan, "one query", None, T0)
            .unwrap();
        let g = s.approve(&r.id, &bob(), "", &z, T0).unwrap().grant.unwrap();
        let id = g.grant.id.clone();
        let used = s.consume(&id, None, "hive.query.id=q1", T0 + 1).unwrap();
        assert_eq!(used.consumed_by.as_deref(), Some("hive.query.id=q1"));
        assert!(used.consumed_at.is_some());
        let again = s
            .consume(&id, None, "hive.query.id=q2", T0 + 2)
            .unwrap_err();
        assert!(again.to_string().contains("already used"), "{again}");
        let plain = ask(&mut s, &alice(), &["hive:sales.orders"], 5, T0);
        let plain = s
            .approve(&plain.id, &bob(), "", &z, T0)
            .unwrap()
            .grant
            .unwrap();
        let e = s.consume(&plain.grant.id, None, "q", T0).unwrap_err();
        assert!(e.to_string().contains("not single-use"), "{e}");
        assert!(s.consume("g-nosuch", None, "q", T0).is_err());
        // Expired before use: refused.
        let r = s
            .create_request(&alice(), &plan, "too late", None, T0)
            .unwrap();
        let late = s.approve(&r.id, &bob(), "", &z, T0).unwrap().grant.unwrap();
        let e = s
            .consume(&late.grant.id, None, "q", T0 + 10 * 60_000)
            .unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
    }

    #[test]
    fn single_use_is_carried_on_the_grant_and_the_feed() {
        let mut s = store();
        let z = example();
        let mut plan = z
            .plan(&["hive:sales.orders".into()], &["read".into()], "5m")
            .unwrap();
        plan.single_use = true;
        let c = s.feed(None, &z.to_wire(), T0).unwrap().cursor;
        let r = s
            .create_request(&alice(), &plan, "one query", None, T0)
            .unwrap();
        assert!(r.single_use);
        let g = s.approve(&r.id, &bob(), "", &z, T0).unwrap().grant.unwrap();
        assert!(g.grant.single_use);
        let f = s.feed(Some(c), &z.to_wire(), T0).unwrap();
        assert!(f.grants[0].single_use);
        // The default stays multi-use.
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 5, T0);
        assert!(
            !s.approve(&r.id, &bob(), "", &z, T0)
                .unwrap()
                .grant
                .unwrap()
                .grant
                .single_use
        );
    }

    #[test]
    fn release_by_the_grantee_and_revoke_by_an_approver_are_told_apart() {
        let mut s = store();
        let z = example();
        let r1 = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g1 = s
            .approve(&r1.id, &bob(), "", &z, T0)
            .unwrap()
            .grant
            .unwrap()
            .grant
            .id;
        let r2 = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g2 = s
            .approve(&r2.id, &bob(), "", &z, T0)
            .unwrap()
            .grant
            .unwrap()
            .grant
            .id;
        // Overlapping grants are independent: giving one up leaves the other active.
        let released = s.revoke(&g1, &alice(), &z, T0 + MIN).unwrap();
        assert!(released.released);
        let active: Vec<String> = s
            .grants(true, None, 10, T0 + MIN)
            .unwrap()
            .into_iter()
            .map(|g| g.grant.id)
            .collect();
        assert_eq!(active, std::slice::from_ref(&g2));
        let revoked = s.revoke(&g2, &carol(), &z, T0 + MIN).unwrap();
        assert!(!revoked.released);
        let h1 = s.request(&r1.id, T0 + MIN).unwrap().history;
        let last = h1.last().unwrap();
        assert_eq!(
            (
                last.event.as_str(),
                last.actor.as_str(),
                last.comment.as_deref()
            ),
            ("released", "alice", Some(g1.as_str()))
        );
        let h2 = s.request(&r2.id, T0 + MIN).unwrap().history;
        assert_eq!(h2.last().unwrap().event, "revoked");
    }

    #[test]
    fn every_decision_is_in_the_history_with_who_when_and_comment() {
        let mut s = store();
        let z = example();
        let r = ask(&mut s, &alice(), &["hdfs:/lake/hr/x"], 10, T0);
        s.approve(
            &r.id,
            &who("dave", &["hr-owners"]),
            "looks fine",
            &z,
            T0 + 1,
        )
        .unwrap();
        let v = s
            .approve(&r.id, &who("erin", &["hr-owners"]), "", &z, T0 + 2)
            .unwrap();
        assert_eq!(
            v.history
                .iter()
                .map(|e| (
                    e.event.as_str(),
                    e.actor.as_str(),
                    e.comment.clone(),
                    e.time.clone()
                ))
                .collect::<Vec<_>>(),
            vec![
                (
                    "created",
                    "alice",
                    Some("INC-4411".to_string()),
                    format_time(T0)
                ),
                (
                    "approved",
                    "dave",
                    Some("looks fine".to_string()),
                    format_time(T0 + 1)
                ),
                ("approved", "erin", None, format_time(T0 + 2)),
                (
                    "granted",
                    "jitgate",
                    Some(format!(
                        "grant {} until {}",
                        v.grant.as_ref().unwrap().grant.id,
                        format_time(T0 + 2 + 10 * MIN)
                    )),
                    format_time(T0 + 2)
                ),
            ]
        );
        let r = ask(&mut s, &alice(), &["hive:sales.t"], 10, T0);
        let v = s.deny(&r.id, &bob(), Some("freeze"), &z, T0 + 3).unwrap();
        assert_eq!(v.history.last().unwrap().comment.as_deref(), Some("freeze"));
        let r = ask(&mut s, &alice(), &["hive:sales.t"], 10, T0);
        assert_eq!(
            s.cancel(&r.id, &alice(), T0 + 4)
                .unwrap()
                .history
                .last()
                .unwrap()
                .event,
            "cancelled"
        );
        let r = ask(&mut s, &alice(), &["hive:sales.t"], 10, T0);
        let v = s.request(&r.id, T0 + 60 * MIN).unwrap();
        assert_eq!(
            events(&v).last().unwrap(),
            &("expired".to_string(), "jitgate".to_string())
        );
    }

    #[test]
    fn concurrent_approvers_on_threads_issue_exactly_one_grant() {
        let dir = tempfile::tempdir().unwrap();
        let open =
            || Store::open(dir.path(), Duration::from_secs(3600), ChangeSignal::new()).unwrap();
        let mut first = open();
        // hr needs two distinct approvers; six race for it.
        let r = ask(&mut first, &alice(), &["hdfs:/lake/hr/p"], 10, T0);
        let barrier = Arc::new(std::sync::Barrier::new(6));
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let (mut s, id, barrier) = (open(), r.id.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    s.approve(
                        &id,
                        &who(&format!("owner{i}"), &["hr-owners"]),
                        "",
                        &example(),
                        T0,
                    )
                    .map(|v| v.status)
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let ok: Vec<Status> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        let mut sorted = ok.clone();
        sorted.sort_by_key(|s| s.as_str());
        assert_eq!(sorted, [Status::Approved, Status::Pending], "{results:?}");
        assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(ServiceError::Conflict(m)) if m.contains("approved, not pending") || m.contains("no longer pending"))), "{results:?}");
        let grants = open().grants(false, None, 10, T0).unwrap();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].grant.approvers.len(), 2);
    }

    #[test]
    fn approve_racing_cancel_ends_in_exactly_one_state() {
        let dir = tempfile::tempdir().unwrap();
        let open =
            || Store::open(dir.path(), Duration::from_secs(3600), ChangeSignal::new()).unwrap();
        for _ in 0..10 {
            let r = ask(&mut open(), &alice(), &["hive:sales.orders"], 10, T0);
            let (mut a, mut b) = (open(), open());
            let (ia, ib) = (r.id.clone(), r.id.clone());
            let ta = std::thread::spawn(move || a.approve(&ia, &bob(), "", &example(), T0).is_ok());
            let tb = std::thread::spawn(move || b.cancel(&ib, &alice(), T0).is_ok());
            let (approved, cancelled) = (ta.join().unwrap(), tb.join().unwrap());
            assert!(approved ^ cancelled, "exactly one wins");
            let v = open().request(&r.id, T0).unwrap();
            assert_eq!(
                v.status,
                if approved {
                    Status::Approved
                } else {
                    Status::Cancelled
                }
            );
            assert_eq!(v.grant.is_some(), approved);
        }
    }

    #[test]
    fn notified_events_are_queued_per_webhook_with_retries_and_give_up() {
        let mut s = store();
        s.set_webhooks(2);
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g = s
            .approve(&r.id, &bob(), "", &example(), T0)
            .unwrap()
            .grant
            .unwrap();
        s.revoke(&g.grant.id, &alice(), &example(), T0 + 1).unwrap();
        let due = s.due_deliveries(T0 + 1, 100).unwrap();
        let kinds: Vec<(usize, &str)> = due.iter().map(|d| (d.hook, d.event.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (0, "created"),
                (1, "created"),
                (0, "approved"),
                (1, "approved"),
                (0, "revoked"),
                (1, "revoked")
            ]
        );
        assert_eq!(due[2].actor, "bob");
        assert_eq!(due[4].request.id, r.id);
        for d in &due[..4] {
            s.delivered(d.id, T0 + 2).unwrap();
        }
        s.delivery_failed(due[4].id, "connection refused", Some(T0 + 10_000), T0 + 2)
            .unwrap();
        s.delivery_failed(due[5].id, "HTTP 500", None, T0 + 2)
            .unwrap();
        assert!(s.due_deliveries(T0 + 9_999, 100).unwrap().is_empty());
        let retry = s.due_deliveries(T0 + 10_000, 100).unwrap();
        assert_eq!((retry.len(), retry[0].attempts), (1, 1));
        assert_eq!(s.outbox_counts().unwrap(), (1, 4, 1));
    }

    #[test]
    fn a_version_one_database_is_migrated_in_place() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join("jitgate.db")).unwrap();
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

    #[test]
    fn report_ties_each_access_to_its_request_reason_and_approvers() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g = s
            .approve(&r.id, &bob(), "", &example(), T0)
            .unwrap()
            .grant
            .unwrap()
            .grant;
        let mut allowed = event("e1", 1, "alice", "hive:sales.orders", Some(&g.id));
        allowed.request_id = Some(r.id.clone());
        s.ingest_audit(
            &[
                allowed,
                event("e2", 2, "alice", "hive:sales.x", None),
                event("e3", 90, "alice", "hive:sales.orders", None),
            ],
            T0,
        )
        .unwrap();
        let before = s.stamp().unwrap();
        let rows = s.report(T0, T0 + 60 * MIN, 100).unwrap();
        assert_eq!(rows.len(), 2, "e3 is outside the period");
        assert_eq!(rows[0].request_id.as_deref(), Some(r.id.as_str()));
        assert_eq!(rows[0].reason.as_deref(), Some("INC-4411"));
        assert_eq!(rows[0].approvers, ["bob"]);
        assert_eq!(rows[0].granted_at, Some(format_time(T0)));
        assert_eq!(
            (rows[1].decision.as_str(), rows[1].request_id.clone()),
            ("deny", None)
        );
        let other = ask(&mut s, &alice(), &["hive:sales.t"], 5, T0);
        s.cancel(&other.id, &alice(), T0).unwrap();
        assert_ne!(s.stamp().unwrap(), before);
    }

    #[test]
    fn cached_feed_answers_never_outlive_a_change() {
        let mut s = store();
        let z = example();
        let zw = z.to_wire();
        let start = s.feed(None, &zw, T0).unwrap().cursor;
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g = s
            .approve(&r.id, &bob(), "", &z, T0)
            .unwrap()
            .grant
            .unwrap()
            .grant;
        let first = s.feed(Some(start), &zw, T0).unwrap();
        let again = s.feed(Some(start), &zw, T0 + 5).unwrap();
        assert_eq!(
            (again.grants.clone(), again.cursor),
            (vec![g.clone()], first.cursor)
        );
        assert_eq!(
            again.server_time,
            format_time(T0 + 5),
            "a cached answer has a fresh clock"
        );
        s.revoke(&g.id, &bob(), &z, T0 + 6).unwrap();
        let after = s.feed(Some(start), &zw, T0 + 6).unwrap();
        assert!(after.grants.is_empty() && after.revoked == vec![g.id.clone()]);
        assert!(after.cursor > first.cursor);
    }
}
