//! The core's side of the service's change feed: the follower. It turns each change into a new
//! immutable snapshot made from the last (`Snapshot::apply`: the change's cost, not the
//! snapshot's), installs it in the engine's live state (`crate::live`), and has what it was
//! told, with the service's signatures, saved under the cache dir (`crate::cache`) so a restart
//! while the service is down keeps enforcing.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
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
    saver: Saver,
    cursor: u64,
    /// The service's zone list and its signature, as last sent (the grants are the snapshot's).
    zones: Arc<Vec<wire::Zone>>,
    zones_signature: Option<String>,
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
            saver: Saver::start(cache),
            cursor: cached.cursor,
            zones: Arc::new(cached.zones.unwrap_or_default()),
            zones_signature: cached.zones_signature,
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
                    self.live.feed_failed();
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
            self.cursor = 0;
            return;
        }
        let changed = feed.reset
            || feed.zones.is_some()
            || !feed.grants.is_empty()
            || !feed.revoked.is_empty();
        if feed.reset {
            self.live.reset_applied();
        }
        self.cursor = feed.cursor;
        if !changed {
            return;
        }
        let current = self.live.snapshot();
        let now = self.live.now();
        let rebuilt = feed.reset || feed.zones.is_some();
        let (snapshot, skipped) = if rebuilt {
            // Everything anew, or a new zone list (a change of the service's configuration):
            // the index is built again.
            let mut grants: Vec<wire::Grant> = if feed.reset {
                vec![]
            } else {
                current.grants.iter().cloned().collect()
            };
            grants.extend(feed.grants);
            let revoked: HashSet<&str> = feed.revoked.iter().map(String::as_str).collect();
            grants.retain(|g| !revoked.contains(g.id.as_str()));
            match feed.zones {
                Some(zones) => {
                    self.zones = Arc::new(zones);
                    self.zones_signature = feed.zones_signature;
                }
                None => {
                    self.zones = Arc::default();
                    self.zones_signature = None;
                }
            }
            let Some(zones) = self.zones_to_enforce(&current) else {
                // Nothing verified to enforce. The cursor moves on (asking for everything again
                // at once would spin); the next delta finds the engine closed and asks for it.
                return;
            };
            Snapshot::build(self.cursor, zones, grants, &self.fallback_zones, now)
        } else {
            current.apply(self.cursor, feed.grants, &feed.revoked, now)
        };
        for s in skipped {
            eprintln!("jitgate: ignoring unreadable feed entry: {}", s.0);
        }
        // Decisions see the change first; the copy on disk only matters at the next start.
        drop(current);
        self.live.install(snapshot);
        self.saver.save(
            Saved {
                cursor: self.cursor,
                zones: self.zones.clone(),
                zones_signature: self.zones_signature.clone(),
                snapshot: Arc::clone(&self.live.snapshot()),
            },
            rebuilt,
        );
    }

    /// The zones a new build enforces: the service's list, and where a zone resource in it
    /// cannot be read (so cannot be enforced), the zones of the `current` snapshot as well;
    /// None while no verified snapshot had zones to fall back on.
    fn zones_to_enforce(&self, current: &Snapshot) -> Option<Vec<wire::Zone>> {
        let mut zones = (*self.zones).clone();
        let unreadable_zone = zones
            .iter()
            .flat_map(|z| &z.resources)
            .any(|r| Resource::parse(r).is_err());
        if unreadable_zone {
            if !current.verified {
                eprintln!(
                    "jitgate: WARNING: the service sent a zone resource this plugin cannot read; \
                     still closed until it sends zones it can"
                );
                return None;
            }
            eprintln!(
                "jitgate: WARNING: the service sent a zone resource this plugin cannot read; \
                 enforcing the zones of the last snapshot as well as the readable new ones"
            );
            for z in current.zones.iter() {
                if !zones.contains(z) {
                    zones.push(z.clone());
                }
            }
        }
        Some(zones)
    }
}

/// What the cache file is written from.
struct Saved {
    cursor: u64,
    zones: Arc<Vec<wire::Zone>>,
    zones_signature: Option<String>,
    snapshot: Arc<Snapshot>,
}

/// Writes the cache file on a thread of its own. Writing it costs the whole snapshot, so after
/// a change the follower hands over the newest state and goes on polling; a state still waiting
/// when a newer one comes is dropped (the file only matters at the next start). After a full
/// snapshot (the first answer among them) the follower waits for the file, so an engine that
/// has started has it saved. Dropping the saver writes what waits, then stops the thread.
struct Saver {
    state: Arc<(Mutex<SaverState>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct SaverState {
    next: Option<Saved>,
    /// how many states were handed over, and how many of them are written or dropped
    handed: u64,
    done_with: u64,
    stop: bool,
}

impl Saver {
    fn start(path: PathBuf) -> Saver {
        let state: Arc<(Mutex<SaverState>, Condvar)> = Arc::default();
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("jitgate-cache".into())
            .spawn(move || loop {
                let (saved, handed, stop) = {
                    let mut st = shared.0.lock().unwrap_or_else(|p| p.into_inner());
                    while st.next.is_none() && !st.stop {
                        st = shared.1.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                    (st.next.take(), st.handed, st.stop)
                };
                if let Some(saved) = saved {
                    // A panic here must not leave the follower waiting for this thread forever.
                    let written =
                        std::panic::catch_unwind(AssertUnwindSafe(|| write(&path, saved)));
                    if written.is_err() {
                        eprintln!("jitgate: the cache file could not be written (panic)");
                    }
                }
                shared.0.lock().unwrap_or_else(|p| p.into_inner()).done_with = handed;
                shared.1.notify_all();
                if stop {
                    return;
                }
            })
            .map_err(|e| eprintln!("jitgate: cannot start the cache thread: {e}"))
            .ok();
        Saver { state, thread }
    }

    /// Hands `saved` over to be written; with `wait`, returns once it is.
    fn save(&self, saved: Saved, wait: bool) {
        if self.thread.is_none() {
            return;
        }
        let (lock, signal) = &*self.state;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        st.next = Some(saved);
        st.handed += 1;
        let mine = st.handed;
        signal.notify_all();
        while wait && st.done_with < mine {
            st = signal.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.state.0.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        self.state.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Saves `saved` as a reset feed body, as the service signed its pieces.
fn write(path: &std::path::Path, saved: Saved) {
    let body = Feed {
        cursor: saved.cursor,
        server_time: wire::format_time(wire::now_millis()),
        reset: true,
        zones: Some((*saved.zones).clone()),
        zones_signature: saved.zones_signature,
        grants: saved.snapshot.grants.iter().cloned().collect(),
        revoked: vec![],
        nonce: None,
    };
    if let Err(e) = cache::save(path, &body) {
        eprintln!("jitgate: cannot save snapshot to {}: {e}", path.display());
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
