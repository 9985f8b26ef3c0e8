//! The store: requests, approvals, grants, the change log, the audit trail and the webhook
//! outbox, in one SQLite database. This module opens it and holds what every subject shares;
//! each subject is a file of its own (`schema`, `requests`, `grants`, `feed`, `audit`,
//! `outbox`), and `db` is the handle the request handlers share.
//!
//! Every state change is a conditional UPDATE inside an IMMEDIATE transaction
//! (`... WHERE status = 'pending'`), and a grant's `request_id` is UNIQUE, so two approvals
//! racing for the last slot can never issue two grants, even with several connections.
//! Every operation takes `now` so tests can move the clock.

mod audit;
mod context;
mod counts;
mod db;
mod feed;
mod grants;
mod outbox;
mod requests;
mod schema;
pub(crate) mod sql;
#[cfg(test)]
mod testing;

pub use crate::views::{GrantView, ReportRow, RequestView, Status};
pub use audit::{grant_accesses, page_cursor, read_audit, read_report, AuditFilter, GrantAccesses};
pub use context::{read_contexts, wanted_contexts, StoredContext};
pub use counts::counts;
pub use db::Db;
pub use feed::{hear_other_replicas, ChangeSignal};
pub use outbox::Delivery;
pub use sql::Location;

use crate::error::{Result, ServiceError};
use crate::zones::Zones;
use feed::FeedCache;
use serde::Serialize;
use sql::{params, Conn, Mode, Tx};
use std::time::Duration;

/// The store's connection (the one that writes) and what it needs between calls.
pub struct Store {
    conn: Conn,
    /// Where the database is, for the read connections `Db` opens beside this one.
    location: Location,
    pending_timeout_ms: i64,
    signal: ChangeSignal,
    /// How many webhooks each notified event is queued for.
    webhooks: usize,
    /// Incremental feed answers for the current cursor, by `after`: every plugin at the same
    /// cursor wants the same answer, so a change is read from the log once, not once per plugin.
    feed_cache: FeedCache,
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

impl Store {
    /// Opens (creating when needed) `<dir>/jitgate.db`.
    #[cfg(test)]
    pub fn open(
        dir: &std::path::Path,
        pending_timeout: Duration,
        signal: ChangeSignal,
    ) -> Result<Store, String> {
        Store::connect(
            &Location::Sqlite(Some(dir.join("jitgate.db"))),
            pending_timeout,
            signal,
        )
    }

    /// Opens the store where `location` says, creating or migrating its tables.
    pub fn connect(
        location: &Location,
        pending_timeout: Duration,
        signal: ChangeSignal,
    ) -> Result<Store, String> {
        let conn = open_conn(location).map_err(|e| format!("{}: {e}", location))?;
        Store::init(conn, location.clone(), pending_timeout, signal)
            .map_err(|e| format!("{location}: {e}"))
    }

    #[cfg(test)]
    pub fn open_in_memory(
        pending_timeout: Duration,
        signal: ChangeSignal,
    ) -> Result<Store, String> {
        Store::connect(&Location::Sqlite(None), pending_timeout, signal)
    }

    fn init(
        mut conn: Conn,
        location: Location,
        pending_timeout: Duration,
        signal: ChangeSignal,
    ) -> Result<Store, String> {
        schema::migrate(&mut conn)?;
        let mut store = Store {
            conn,
            location,
            pending_timeout_ms: pending_timeout.as_millis() as i64,
            signal,
            webhooks: 0,
            feed_cache: FeedCache::default(),
        };
        let cursor = {
            let tx = store.read().map_err(|e| e.to_string())?;
            feed::cursor(&tx).map_err(|e| e.to_string())?
        };
        store.signal.published(cursor);
        Ok(store)
    }

    /// A change: one writer at a time, across every replica.
    fn begin(&mut self) -> Result<Tx<'_>> {
        self.conn.begin(Mode::Write)
    }

    /// Reads on one consistent snapshot.
    fn read(&mut self) -> Result<Tx<'_>> {
        self.conn.begin(Mode::Read)
    }

    /// Whether the database answers now (`/healthz`).
    pub fn ping(&mut self) -> Result<()> {
        self.conn.ping()
    }
}

/// A connection to the store's database, set up as the store wants it.
fn open_conn(location: &Location) -> Result<Conn, String> {
    match location {
        Location::Sqlite(path) => {
            let e = |e: rusqlite::Error| e.to_string();
            if let Some(dir) = path.as_ref().and_then(|p| p.parent()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    format!("cannot create the data directory {}: {e}", dir.display())
                })?;
            }
            let conn = match path {
                Some(p) => rusqlite::Connection::open(p),
                None => rusqlite::Connection::open_in_memory(),
            }
            .map_err(e)?;
            conn.busy_timeout(Duration::from_secs(5)).map_err(e)?;
            conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(e)?;
            conn.pragma_update(None, "foreign_keys", "ON").map_err(e)?;
            Ok(Conn::sqlite(conn))
        }
        Location::Postgres(config) => Conn::postgres(config).map_err(|e| e.to_string()),
    }
}

impl Store {
    /// Periodic housekeeping: expires stale pending requests, prunes the old change log and
    /// forgets what resources were, a day after anyone asked.
    pub fn sweep(&mut self, zones: &Zones, now: i64) -> Result<()> {
        self.expire(now)?;
        self.escalate(zones, now)?;
        self.prune_changes(now)?;
        self.prune_contexts(now)
    }

    /// Changes whenever anything a page shows changes (a request step, a grant, an audit
    /// event: each is a new link of the audit chain), so open pages know to refresh. Reads two
    /// values, whatever the size of the audit trail: pages poll it.
    pub fn stamp(&mut self) -> Result<String> {
        self.read()?.query_row(
            "SELECT COALESCE((SELECT value FROM meta WHERE key = 'chain_head'), '0') || '-' || \
             CAST((SELECT COALESCE(MAX(seq), 0) FROM changes) AS TEXT)",
            params![],
            |r| r.get(0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
