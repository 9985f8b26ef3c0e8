//! The change feed plugins follow. Every issued grant, revocation and zone change is a row of
//! the store's change log, numbered by a cursor that only grows; this module wakes waiting
//! long-polls the moment a new row is committed, so a revoke reaches plugins in milliseconds.

use crate::error::Result;
use crate::store::Db;
use jitgate::wire::{self, format_time, now_millis};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The longest a feed request is held open.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

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
}

impl Default for ChangeSignal {
    fn default() -> Self {
        ChangeSignal::new()
    }
}

fn has_changes(feed: &wire::Feed) -> bool {
    feed.reset || feed.zones.is_some() || !feed.grants.is_empty() || !feed.revoked.is_empty()
}

/// Answers a feed request: at once when there is anything after `after` (or a reset is due),
/// else as soon as something is committed, or with an empty answer when `wait` runs out.
pub async fn next(
    db: &Db,
    signal: &ChangeSignal,
    zones: Arc<Vec<wire::Zone>>,
    after: Option<u64>,
    wait: Duration,
) -> Result<wire::Feed> {
    let deadline = Instant::now() + wait.min(MAX_WAIT);
    let mut changes = signal.subscribe();
    loop {
        // Mark what we have seen before reading, so a commit after the read still wakes us.
        changes.borrow_and_update();
        let z = zones.clone();
        let mut feed = db.call(move |s| s.feed(after, &z, now_millis())).await?;
        if has_changes(&feed) {
            return Ok(feed);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => continue,
            // Out of time, or the service is shutting down: an empty answer, fresh clock.
            _ => {
                feed.server_time = format_time(now_millis());
                return Ok(feed);
            }
        }
    }
}
