//! The change log plugins follow: every issued grant, revocation and zone change is a row,
//! numbered by a cursor that only grows; `Store::feed` answers a plugin at any cursor from it,
//! with a reset when the log cannot vouch for the cursor, and `sweep` prunes it. After each
//! commit that appends a row, `ChangeSignal` tells whoever waits for one (the feed's long-polls).

use super::grants::{grant_row, load_grant, GRANT_COLUMNS};
use super::sql::{params, Backend, Tx};
use super::{to_json, Store};
use crate::error::{Result, ServiceError};
use jitgate::wire::{self, format_time};
use std::sync::Arc;
use tokio::sync::watch;

/// Carries the newest committed cursor to every waiting long-poll. A watch channel, not a
/// bare Notify, so a change committed between a poller's read and its wait is never missed.
#[derive(Clone)]
pub struct ChangeSignal {
    tx: Arc<watch::Sender<u64>>,
}

impl ChangeSignal {
    pub fn new() -> ChangeSignal {
        ChangeSignal {
            tx: Arc::new(watch::channel(0).0),
        }
    }

    /// Called after the transaction that appended `cursor` has committed.
    pub fn published(&self, cursor: u64) {
        self.tx.send_if_modified(|seen| {
            let newer = cursor > *seen;
            if newer {
                *seen = cursor;
            }
            newer
        });
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }

    /// The newest cursor published so far.
    pub fn current(&self) -> u64 {
        *self.tx.borrow()
    }
}

impl Default for ChangeSignal {
    fn default() -> Self {
        ChangeSignal::new()
    }
}

/// Changes made by other replicas reach this one's followers: on PostgreSQL a thread listens
/// for the notification every change sends at commit and publishes its cursor on `signal`
/// (on SQLite, replicas sharing a file learn of each other's changes when followers ask).
/// A lost connection is opened again after a second; the cursor read then catches up on
/// whatever was said meanwhile.
pub fn hear_other_replicas(location: &super::Location, signal: ChangeSignal) {
    let super::Location::Postgres(config) = location else {
        return;
    };
    let config = config.clone();
    let spawned = std::thread::Builder::new()
        .name("jitgate-listen".into())
        .spawn(move || loop {
            if let Err(e) = listen(&config, &signal) {
                log_event!("feed: not hearing other replicas' changes ({e}); trying again");
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        });
    if let Err(e) = spawned {
        log_event!("feed: cannot start the listener for other replicas' changes: {e}");
    }
}

fn listen(config: &postgres::Config, signal: &ChangeSignal) -> Result<(), postgres::Error> {
    let mut client = config.connect(postgres::NoTls)?;
    client.batch_execute("LISTEN jitgate_feed")?;
    let newest: Option<i64> = client
        .query_one("SELECT MAX(seq) FROM changes", &[])?
        .get(0);
    signal.published(newest.unwrap_or(0).max(0) as u64);
    let mut notifications = client.notifications();
    let mut heard = notifications.blocking_iter();
    use postgres::fallible_iterator::FallibleIterator;
    while let Some(n) = heard.next()? {
        if let Ok(seq) = n.payload().parse::<u64>() {
            signal.published(seq);
        }
    }
    Ok(())
}

/// Change-log rows older than this are pruned; a plugin whose cursor is older gets a reset.
const CHANGE_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// The feed answers kept for the current cursor (`Store::feed_cache`).
#[derive(Default)]
pub(super) struct FeedCache {
    cursor: u64,
    answers: std::collections::HashMap<u64, wire::Feed>,
}

/// Distinct `after` values kept per cursor; plugins are nearly always at one or two.
const FEED_CACHE_ENTRIES: usize = 64;

impl Store {
    /// Records the configured zones; when they differ from the last recorded ones, appends a
    /// zone change so following plugins receive the new list.
    pub fn record_zones(&mut self, zones: &[wire::Zone], now: i64) -> Result<()> {
        let json = to_json(&zones);
        let tx = self.begin()?;
        let old: Option<String> = tx.query_opt(
            "SELECT value FROM meta WHERE key = 'zones'",
            params![],
            |r| r.get(0),
        )?;
        if old.as_deref() == Some(json.as_str()) {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('zones', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![json],
        )?;
        let seq = append_change(&tx, "zones", None, now)?;
        tx.commit()?;
        self.signal.published(seq);
        Ok(())
    }

    /// What a plugin at cursor `after` needs to catch up: everything (a reset) when `after` is
    /// missing, unknown or older than the retained log, else the changes since.
    pub fn feed(
        &mut self,
        after: Option<u64>,
        zones: &[wire::Zone],
        now: i64,
    ) -> Result<wire::Feed> {
        let tx = self.conn.begin(super::sql::Mode::Read)?;
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
                let rows = tx.query_map(
                    &format!(
                        "SELECT {GRANT_COLUMNS} FROM grants WHERE revoked_at IS NULL AND expires_at > ?1 ORDER BY rowid"
                    ),
                    params![now],
                    grant_row,
                )?;
                feed.grants = rows.into_iter().map(|g| g.view.grant).collect();
            }
            Some(after) => {
                let rows = tx.query_map(
                    "SELECT kind, grant_id FROM changes WHERE seq > ?1 ORDER BY seq",
                    params![after],
                    |r| Ok((r.get::<String>(0)?, r.get::<Option<String>>(1)?)),
                )?;
                for row in rows {
                    match row {
                        (kind, _) if kind == "zones" => feed.zones = Some(zones.to_vec()),
                        (kind, Some(id)) if kind == "revoke" => feed.revoked.push(id),
                        // A grant changed twice since `after` (issued, then extended) is
                        // sent once, as it is now.
                        (kind, Some(id))
                            if kind == "grant" && feed.grants.iter().any(|g| g.id == id) => {}
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
}

impl Store {
    /// Drops change-log rows past `CHANGE_RETENTION_MS`; cursors older than what is left get
    /// a reset.
    pub(super) fn prune_changes(&mut self, now: i64) -> Result<()> {
        let tx = self.begin()?;
        let pruned: Option<i64> = tx.query_row(
            "SELECT MAX(seq) FROM changes WHERE time < ?1",
            params![now - CHANGE_RETENTION_MS],
            |r| r.get(0),
        )?;
        if let Some(seq) = pruned {
            tx.execute("DELETE FROM changes WHERE seq <= ?1", params![seq])?;
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'log_floor' AND CAST(value AS BIGINT) < ?2",
                params![seq.to_string(), seq],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// The newest change's cursor: the highest sequence number committed, or, when pruning took
/// every change, the floor pruning left (a sequence number is never handed out twice).
pub(super) fn cursor(conn: &Tx) -> Result<u64> {
    let newest: Option<i64> =
        conn.query_row("SELECT MAX(seq) FROM changes", params![], |r| r.get(0))?;
    Ok(log_floor(conn)?.max(newest.unwrap_or(0).max(0) as u64))
}

pub(super) fn log_floor(conn: &Tx) -> Result<u64> {
    let v: String = conn.query_row(
        "SELECT value FROM meta WHERE key = 'log_floor'",
        params![],
        |r| r.get(0),
    )?;
    v.parse()
        .map_err(|_| ServiceError::Internal(format!("bad log_floor {v} in the database")))
}

pub(super) fn append_change(
    conn: &Tx,
    kind: &str,
    grant_id: Option<&str>,
    now: i64,
) -> Result<u64> {
    let seq: i64 = conn.query_row(
        "INSERT INTO changes (kind, grant_id, time) VALUES (?1, ?2, ?3) RETURNING seq",
        params![kind, grant_id, now],
        |r| r.get(0),
    )?;
    if conn.backend() == Backend::Postgres {
        // Delivered at commit to every replica listening (`store::listen`), whose followers
        // then read the change; never delivered for a change rolled back.
        conn.execute(
            "SELECT pg_notify('jitgate_feed', ?1)",
            params![seq.to_string()],
        )?;
    }
    Ok(seq as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::*;

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
