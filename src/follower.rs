//! The core's side of the service's change feed: the follower. It keeps the zones and grants it
//! was told about, with the service's signatures, turns each change into a new immutable
//! snapshot, installs it in the engine's live state (`crate::live`), and saves what it was told
//! under the cache dir (`crate::cache`) so a restart while the service is down keeps enforcing.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cache;
use crate::config::Config;
use crate::live::Live;
use crate::model::Resource;
use crate::service_client::ServiceClient;
use crate::snapshot::Snapshot;
use crate::wire::{self, Feed};

pub struct Follower {
    live: Arc<Live>,
    client: ServiceClient,
    wait: Duration,
    /// `jitgate.clock.skew.millis`: a larger difference from the service's clock is followed.
    clock_skew: Duration,
    /// `jitgate.fallback.zones`, added to every snapshot.
    fallback_zones: Vec<Resource>,
    cache: PathBuf,
    cursor: u64,
    zones: Vec<wire::Zone>,
    zones_signature: Option<String>,
    grants: HashMap<String, wire::Grant>,
}

impl Follower {
    /// Follows on from `cached`, the snapshot the engine started with, if any, saving to `cache`.
    pub fn new(
        live: Arc<Live>,
        client: ServiceClient,
        config: &Config,
        cache: PathBuf,
        cached: Option<Feed>,
    ) -> Follower {
        let cached = cached.unwrap_or_else(|| Feed {
            cursor: 0,
            server_time: String::new(),
            reset: true,
            zones: None,
            zones_signature: None,
            grants: vec![],
            revoked: vec![],
            nonce: None,
        });
        Follower {
            live,
            client,
            wait: config.feed_wait,
            clock_skew: config.clock_skew,
            fallback_zones: config.fallback_zones.clone(),
            cache,
            cursor: cached.cursor,
            zones: cached.zones.unwrap_or_default(),
            zones_signature: cached.zones_signature,
            grants: cached
                .grants
                .into_iter()
                .map(|g| (g.id.clone(), g))
                .collect(),
        }
    }

    pub fn run(mut self) {
        let mut backoff = Duration::from_millis(100);
        let mut reported = false;
        // The first call does not wait for changes: the engine's start waits for its answer.
        let mut wait = Duration::ZERO;
        while !self.live.closed() {
            match self.client.feed(self.cursor, wait) {
                Ok(feed) => {
                    backoff = Duration::from_millis(100);
                    if reported {
                        eprintln!("jitgate: change feed reachable again");
                        reported = false;
                    }
                    self.apply(feed);
                    self.live.answered();
                    wait = self.wait;
                }
                Err(e) => {
                    if !reported {
                        eprintln!(
                            "jitgate: change feed unavailable, enforcing the last snapshot: {e}"
                        );
                        reported = true;
                    }
                    self.live.sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Judges expiry by the service's clock when this host's differs from it by more than the
    /// allowed skew, and says so when that changes.
    fn follow_clock(&mut self, server_time: &str) {
        let Some(service) = wire::parse_time(server_time) else {
            return;
        };
        let local = wire::now_millis();
        let skew = self.clock_skew.as_millis() as i64;
        let offset = clock_offset(service, local, skew);
        if offset != self.live.clock_offset() {
            if offset != 0 {
                eprintln!(
                    "jitgate: this host's clock is {} ms {} the service's (more than the {skew} ms \
                     allowed): judging expiry by the service's time",
                    offset.abs(),
                    if offset > 0 { "behind" } else { "ahead of" }
                );
            } else if (service - local).abs() > MAX_TRUSTED_SKEW_MS {
                eprintln!(
                    "jitgate: WARNING: this host's clock and the service's differ by {} ms, too \
                     much to trust either: judging expiry by this host's clock; fix the clocks",
                    (service - local).abs()
                );
            } else {
                eprintln!("jitgate: this host's clock agrees with the service's again");
            }
        }
        self.live.set_clock_offset(offset);
    }

    fn apply(&mut self, feed: Feed) {
        self.follow_clock(&feed.server_time);
        if !feed.reset && !self.live.snapshot().verified {
            // Only a full snapshot can open a closed engine; the next poll (cursor 0) asks for one.
            eprintln!("jitgate: the change feed sent changes before a full snapshot; still closed");
            return;
        }
        let changed = feed.reset
            || feed.zones.is_some()
            || !feed.grants.is_empty()
            || !feed.revoked.is_empty();
        if feed.reset {
            self.grants.clear();
            self.live.reset_applied();
        }
        if let Some(zones) = feed.zones {
            self.zones = zones;
            self.zones_signature = feed.zones_signature;
        } else if feed.reset {
            self.zones.clear();
            self.zones_signature = None;
        }
        for g in feed.grants {
            self.grants.insert(g.id.clone(), g);
        }
        for id in &feed.revoked {
            self.grants.remove(id);
        }
        self.cursor = feed.cursor;
        if !changed {
            return;
        }
        // A zone resource that cannot be read cannot be enforced. Revocations must still land,
        // so the grants are taken; the zones of the last snapshot stay protected too.
        let unreadable_zone = self
            .zones
            .iter()
            .flat_map(|z| &z.resources)
            .any(|r| Resource::parse(r).is_err());
        let mut zones = self.zones.clone();
        if unreadable_zone {
            let current = self.live.snapshot();
            if !current.verified {
                eprintln!(
                    "jitgate: WARNING: the service sent a zone resource this plugin cannot read; \
                     still closed until it sends zones it can"
                );
                return;
            }
            eprintln!(
                "jitgate: WARNING: the service sent a zone resource this plugin cannot read; \
                 enforcing the zones of the last snapshot as well as the readable new ones"
            );
            for z in &current.zones {
                if !zones.contains(z) {
                    zones.push(z.clone());
                }
            }
        }
        let grants = self.grants.values().cloned().collect();
        let (snapshot, skipped) = Snapshot::build(
            self.cursor,
            zones,
            grants,
            &self.fallback_zones,
            self.live.now(),
        );
        for s in skipped {
            eprintln!("jitgate: ignoring unreadable feed entry: {}", s.0);
        }
        // expired grants were left out of the snapshot; forget them here too
        let kept: HashSet<&str> = snapshot.grants.iter().map(|g| g.id.as_str()).collect();
        self.grants.retain(|id, _| kept.contains(id.as_str()));
        // Decisions see the change first; the copy on disk only matters at the next start.
        self.live.install(snapshot);
        let saved = Feed {
            cursor: self.cursor,
            server_time: wire::format_time(wire::now_millis()),
            reset: true,
            zones: Some(self.zones.clone()),
            zones_signature: self.zones_signature.clone(),
            grants: self.grants.values().cloned().collect(),
            revoked: vec![],
            nonce: None,
        };
        if let Err(e) = cache::save(&self.cache, &saved) {
            eprintln!(
                "jitgate: cannot save snapshot to {}: {e}",
                self.cache.display()
            );
        }
    }
}

/// A difference between the clocks beyond which neither is trusted to judge expiry by the other
/// (a feed from a wrong or forged clock could otherwise bring expired grants back).
const MAX_TRUSTED_SKEW_MS: i64 = 3_600_000;

/// What to add to this host's clock to judge expiry: the service's time minus this host's when
/// they differ by more than `skew` (and less than an hour), else nothing.
fn clock_offset(service: i64, local: i64, skew: i64) -> i64 {
    let d = service - local;
    if d.abs() <= skew || d.abs() > MAX_TRUSTED_SKEW_MS {
        0
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::clock_offset;

    #[test]
    fn expiry_follows_the_services_clock_beyond_the_allowed_skew() {
        assert_eq!(
            clock_offset(10_000, 9_000, 2_000),
            0,
            "within the skew: this host's clock"
        );
        assert_eq!(
            clock_offset(10_000, 5_000, 2_000),
            5_000,
            "this host is 5 s behind"
        );
        assert_eq!(
            clock_offset(5_000, 10_000, 2_000),
            -5_000,
            "this host is 5 s ahead"
        );
        assert_eq!(
            clock_offset(10_000_000, 0, 2_000),
            0,
            "hours apart: neither is trusted"
        );
    }
}
