//! The live state the engine's decisions read and its follower writes: the current snapshot,
//! the clock expiry is judged by, whether the engine is closed, whether the service has
//! answered. The engine and the follower each hold it; neither holds the other.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};

use crate::snapshot::Snapshot;
use crate::wire;

pub struct Live {
    snapshot: ArcSwap<Snapshot>,
    /// The service's clock minus this host's, in ms, when they differ by more than the allowed
    /// skew (else 0): expiry is judged by the service's time (`Follower`).
    clock_offset: AtomicI64,
    closed: AtomicBool,
    wake: (Mutex<()>, Condvar),
    /// Set once the service has answered the follower, for `Engine::start` to wait on.
    answered: (Mutex<bool>, Condvar),
    /// Full snapshots (resets) the follower applied.
    resets: AtomicU64,
    /// When, in this host's ms, the snapshot decisions read was installed.
    installed_at: AtomicI64,
    /// Since when, in this host's ms, the follower may have missed changes: 0 while it follows
    /// the feed; the start until its first answer.
    behind_since: AtomicI64,
}

impl Live {
    pub fn new(snapshot: Snapshot) -> Live {
        Live {
            snapshot: ArcSwap::from_pointee(snapshot),
            clock_offset: AtomicI64::new(0),
            closed: AtomicBool::new(false),
            wake: (Mutex::new(()), Condvar::new()),
            answered: (Mutex::new(false), Condvar::new()),
            resets: AtomicU64::new(0),
            installed_at: AtomicI64::new(wire::now_millis()),
            behind_since: AtomicI64::new(wire::now_millis()),
        }
    }

    #[inline]
    pub fn snapshot(&self) -> Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// Decisions from now on read `s`.
    pub fn install(&self, s: Snapshot) {
        self.snapshot.store(Arc::new(s));
        self.installed_at
            .store(wire::now_millis(), Ordering::Relaxed);
    }

    /// Milliseconds since the current snapshot was installed.
    pub fn snapshot_age(&self) -> u64 {
        since(self.installed_at.load(Ordering::Relaxed))
    }

    /// Milliseconds the follower may be behind the service: 0 while it follows the feed.
    pub fn feed_lag(&self) -> u64 {
        match self.behind_since.load(Ordering::Relaxed) {
            0 => 0,
            t => since(t),
        }
    }

    /// A feed call failed: changes made from now on may be missed until one succeeds.
    pub fn feed_failed(&self) {
        let _ = self.behind_since.compare_exchange(
            0,
            wire::now_millis(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Now, in ms since the epoch, by the service's clock where this host's has drifted from it.
    #[inline]
    pub fn now(&self) -> i64 {
        wire::now_millis() + self.clock_offset.load(Ordering::Relaxed)
    }

    /// What decisions add to this host's clock, in ms.
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }

    /// Decisions from now on judge time by `offset` ms added to this host's clock.
    pub fn set_clock_offset(&self, offset: i64) {
        self.clock_offset.store(offset, Ordering::Relaxed);
    }

    /// How many full snapshots the follower applied: its first answer without a cache is one;
    /// another means the service could not vouch for the follower's cursor (the log was pruned,
    /// or the cursor was ahead of the log, as on a restored database).
    pub fn resets(&self) -> u64 {
        self.resets.load(Ordering::Relaxed)
    }

    /// The follower applied a full snapshot.
    pub fn reset_applied(&self) {
        self.resets.fetch_add(1, Ordering::Relaxed);
    }

    /// The follower applied an answer of the service.
    pub fn answered(&self) {
        self.behind_since.store(0, Ordering::Relaxed);
        *self.answered.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.answered.1.notify_all();
    }

    /// Waits up to `d` for the service's first answer; true once it came.
    pub fn wait_answered(&self, d: Duration) -> bool {
        let guard = self.answered.0.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = self
            .answered
            .1
            .wait_timeout_while(guard, d, |answered| !*answered)
            .unwrap_or_else(|p| p.into_inner());
        *guard
    }

    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Marks the engine closed and wakes the follower from its sleep.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.1.notify_all();
    }

    /// Sleeps up to `d`, returning early when the engine closes.
    pub fn sleep(&self, d: Duration) {
        let guard = self.wake.0.lock().unwrap_or_else(|p| p.into_inner());
        if !self.closed() {
            let _ = self.wake.1.wait_timeout(guard, d);
        }
    }
}

/// Milliseconds from `t` (this host's ms) to now; 0 for a time ahead.
fn since(t: i64) -> u64 {
    wire::now_millis().saturating_sub(t).max(0) as u64
}
