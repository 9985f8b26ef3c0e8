//! What a plugin tells about itself (docs/INTERFACE.md, "Plugin metrics"): its decisions by
//! outcome, how far it may be behind the service, and the audit trail's backlog. The engine
//! gathers them (`Engine::metrics`); both bridges hand them over as `name value` lines
//! (`bridge::metrics`), which the Java side shows as Hadoop metrics2 or a JMX MBean.

use std::sync::atomic::{AtomicU64, Ordering};

/// Protected decisions by outcome. Counting is one relaxed add on the decision's path; the
/// counters have a cache line of their own, so threads deciding at once do not also fight over
/// the engine's fields read beside them.
#[derive(Default)]
#[repr(align(128))]
pub struct Decisions {
    allowed: AtomicU64,
    denied: AtomicU64,
}

impl Decisions {
    #[inline]
    pub fn count(&self, allowed: bool) {
        let counter = if allowed { &self.allowed } else { &self.denied };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn allowed(&self) -> u64 {
        self.allowed.load(Ordering::Relaxed)
    }

    pub fn denied(&self) -> u64 {
        self.denied.load(Ordering::Relaxed)
    }
}

/// One reading of a plugin's numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PluginMetrics {
    /// Protected accesses allowed since the engine started.
    pub allowed: u64,
    /// Protected accesses denied since the engine started (whatever the reason).
    pub denied: u64,
    /// Milliseconds since the follower last knew it had every change: 0 while it follows the
    /// feed, else since its first failed call (since the start, before any answer).
    pub feed_lag_millis: u64,
    /// Milliseconds since the snapshot decisions read was installed (a change applied, or the
    /// cache file read at the start).
    pub snapshot_age_millis: u64,
    /// Decisions recorded but not yet taken by the audit worker.
    pub audit_queue_depth: u64,
    /// Bytes of the audit spill file still to be sent to the service.
    pub audit_spill_bytes: u64,
}

impl PluginMetrics {
    /// The names, in the order `text` writes them; Java reads them by these names.
    pub const NAMES: [&'static str; 6] = [
        "decisions_allowed",
        "decisions_denied",
        "feed_lag_millis",
        "snapshot_age_millis",
        "audit_queue_depth",
        "audit_spill_bytes",
    ];

    fn values(&self) -> [u64; 6] {
        [
            self.allowed,
            self.denied,
            self.feed_lag_millis,
            self.snapshot_age_millis,
            self.audit_queue_depth,
            self.audit_spill_bytes,
        ]
    }

    /// `name value` lines, one per metric: easy to read in any language, and a new metric does
    /// not change a function's signature.
    pub fn text(&self) -> String {
        Self::NAMES
            .iter()
            .zip(self.values())
            .map(|(name, value)| format!("{name} {value}\n"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_metric_once_in_order() {
        let m = PluginMetrics {
            allowed: 1,
            denied: 2,
            feed_lag_millis: 3,
            snapshot_age_millis: 4,
            audit_queue_depth: 5,
            audit_spill_bytes: 6,
        };
        assert_eq!(
            m.text(),
            "decisions_allowed 1\ndecisions_denied 2\nfeed_lag_millis 3\nsnapshot_age_millis 4\n\
             audit_queue_depth 5\naudit_spill_bytes 6\n"
        );
    }

    #[test]
    fn decisions_are_counted_by_outcome() {
        let d = Decisions::default();
        d.count(true);
        d.count(false);
        d.count(false);
        assert_eq!((d.allowed(), d.denied()), (1, 2));
    }
}
