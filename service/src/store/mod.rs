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
mod counts;
mod db;
mod feed;
mod grants;
mod outbox;
mod requests;
mod schema;
#[cfg(test)]
mod testing;

pub use crate::views::{GrantView, ReportRow, RequestView, Status};
pub use audit::{page_cursor, read_audit, read_report, AuditFilter};
pub use counts::counts;
pub use db::Db;
pub use feed::ChangeSignal;
pub use outbox::Delivery;

use crate::error::{Result, ServiceError};
use crate::zones::Zones;
use feed::FeedCache;
use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// The store's connection (the one that writes) and what it needs between calls.
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
        schema::migrate(&mut conn)?;
        let store = Store {
            conn,
            path: None,
            pending_timeout_ms: pending_timeout.as_millis() as i64,
            signal,
            webhooks: 0,
            feed_cache: FeedCache::default(),
        };
        let cursor = feed::cursor(&store.conn).map_err(|e| e.to_string())?;
        store.signal.published(cursor);
        Ok(store)
    }

    fn begin(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

impl Store {
    /// Periodic housekeeping: expires stale pending requests and prunes the old change log.
    pub fn sweep(&mut self, zones: &Zones, now: i64) -> Result<()> {
        self.expire(now)?;
        self.escalate(zones, now)?;
        self.prune_changes(now)
    }

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
