//! The engine: one per process, owning the current snapshot, the feed follower and the audit
//! buffer. Decisions read the snapshot and the clock only.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};

use crate::audit::{Audit, Record};
use crate::cache::{self, Refused};
use crate::config::Config;
use crate::feed::Follower;
use crate::model::{canonical_key, Action, ActionSet};
use crate::places;
use crate::service::ServiceClient;
use crate::snapshot::{Decision, DenyReason, GrantRule, OnPath, Snapshot};
use crate::wire;

/// One access to decide. `user`, `operation` and `context` only matter when the resource is
/// protected, which is why the bridges read them lazily.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub user: &'a str,
    pub resource: &'a str,
    pub actions: ActionSet,
    /// The access changes the entry itself (delete, rename): zones below it count too.
    pub subtree: bool,
    pub operation: Option<&'a str>,
    pub context: Option<&'a str>,
}

/// One object a query touches, for `Engine::check`.
#[derive(Debug, Clone, Copy)]
pub struct QueryAccess<'a> {
    /// A jitgate resource, or any other `scheme:...`: a place outside every zone.
    pub resource: &'a str,
    /// From the engine's mapping table; empty when the operation has no row there.
    pub actions: ActionSet,
    pub output: bool,
    /// The view an input is read through (the nearest one), if any: a base table in the view's
    /// own zone is covered by the view's decision, taken on the view's own access.
    pub via: Option<&'a str>,
}

/// The answer to `Engine::check`.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Nothing the query touches is in a zone.
    NotProtected,
    /// Allowed, relying on these grants (each once).
    Allow(Vec<Arc<str>>),
    /// The first access denied: its resource as shown to the user, the actions it needed, why.
    Deny(String, ActionSet, DenyReason),
}

impl Verdict {
    pub fn code(&self) -> i32 {
        match self {
            Verdict::NotProtected => 0,
            Verdict::Allow(_) => 1,
            Verdict::Deny(_, _, r) => *r as i32,
        }
    }
}

/// State shared by the engine, its feed thread and the bridges.
pub struct Core {
    pub config: Config,
    snapshot: ArcSwap<Snapshot>,
    audit: Audit,
    /// Consumes single-use grants; None without a service (they can then never be used).
    service: Option<ServiceClient>,
    /// Single-use grants this engine consumed, with the context of the query that did: that
    /// query may check again (engines re-analyse inner plans, Spark checks again as the query
    /// runs), no other may.
    consumed: Mutex<Vec<(Arc<str>, String)>>,
    closed: AtomicBool,
    wake: (Mutex<()>, Condvar),
    /// Set once the service has answered the follower, for `Engine::start` to wait on.
    answered: (Mutex<bool>, Condvar),
    /// The service's clock minus this host's, in ms, when they differ by more than the allowed
    /// skew (else 0): expiry is judged by the service's time (`Follower`, `clock_offset`).
    clock_offset: AtomicI64,
}

impl Core {
    #[inline]
    pub fn snapshot(&self) -> Guard<Arc<Snapshot>> {
        self.snapshot.load()
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

    pub fn install(&self, s: Snapshot) {
        self.snapshot.store(Arc::new(s));
    }

    /// The follower applied an answer of the service.
    pub fn answered(&self) {
        *self.answered.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.answered.1.notify_all();
    }

    /// Waits up to `d` for the service's first answer; true once it came.
    fn wait_answered(&self, d: Duration) -> bool {
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

    /// Sleeps up to `d`, returning early when the engine closes.
    pub fn sleep(&self, d: Duration) {
        let guard = self.wake.0.lock().unwrap_or_else(|p| p.into_inner());
        if !self.closed() {
            let _ = self.wake.1.wait_timeout(guard, d);
        }
    }
}

pub struct Engine {
    core: Arc<Core>,
}

/// The host of a URL's `host[:port][/...]` part (an IPv6 address without its brackets).
fn url_host(authority: &str) -> &str {
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(['/', ':']).next().unwrap_or_default(),
    }
}

fn loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Engine {
    /// Loads the last snapshot from the cache dir, or starts closed (every `hdfs:` and `hive:`
    /// key denied) when there is none it can verify; starts the audit worker and, when a service
    /// is configured, the feed follower, and waits up to `jitgate.start.wait.millis` for the
    /// service's first answer so the first decisions of a new process see current grants.
    pub fn start(config: Config) -> Result<Engine, String> {
        private_dir(&config.cache_dir)?;
        let snapshot_path = config.cache_dir.join("snapshot.json");
        let shown = snapshot_path.display();
        if config.service_url.is_some() && config.service_key.is_none() {
            return Err(
                "jitgate.service.url is set but no jitgate.service.public.key (or \
                        jitgate.service.public.key.file) to verify the service's feed with: \
                        `jitgate serve --print-public-key` prints it"
                    .into(),
            );
        }
        let (snapshot, cached) = match cache::load(
            &snapshot_path,
            &config.fallback_zones,
            config.service_key.as_ref(),
        ) {
            Ok((s, body)) => (s, Some(body)),
            Err(why) => {
                let why = match why {
                    Refused::Missing => format!("there is no cached snapshot at {shown}"),
                    Refused::Unreadable(e) => format!("refusing the cached snapshot {shown}: {e}"),
                };
                eprintln!(
                    "jitgate: WARNING: {why}; every hdfs: and hive: resource is denied \
                     (no grant data yet) until the approval service answers"
                );
                (Snapshot::closed(), None)
            }
        };
        let plain = config
            .service_url
            .as_deref()
            .and_then(|u| u.strip_prefix("http://"));
        if let Some(host) = plain.map(url_host).filter(|h| !loopback(h)) {
            eprintln!(
                "jitgate: WARNING: jitgate.service.url is plain http to {host}: the plugin token \
                 and audit events cross the network in clear (the feed stays signed); use https"
            );
        }
        let tls = match &config.service_url {
            Some(u) if u.starts_with("https://") => {
                Some(crate::service::tls_config(config.ca_file.as_deref())?)
            }
            _ => None,
        };
        let client = |wait| {
            config.service_url.as_deref().map(|u| {
                ServiceClient::new(
                    u,
                    config.token_file.clone(),
                    config.service_key.clone(),
                    tls.clone(),
                    wait,
                )
            })
        };
        let audit = Audit::start(
            config.audit_queue_capacity,
            config.audit_flush,
            config.cache_dir.join("audit-spill.jsonl"),
            config.audit_spill_max_bytes,
            client(Duration::ZERO),
            (config.plugin.clone(), config.host.clone()),
        )?;
        let follower_client = client(config.feed_wait);
        let core = Arc::new(Core {
            service: client(Duration::ZERO),
            consumed: Mutex::new(Vec::new()),
            config,
            snapshot: ArcSwap::from_pointee(snapshot),
            audit,
            closed: AtomicBool::new(false),
            wake: (Mutex::new(()), Condvar::new()),
            answered: (Mutex::new(false), Condvar::new()),
            clock_offset: AtomicI64::new(0),
        });
        if let Some(client) = follower_client {
            let follower = Follower::new(
                core.clone(),
                client,
                core.config.feed_wait,
                snapshot_path,
                cached,
            );
            std::thread::Builder::new()
                .name("jitgate-feed".into())
                .spawn(move || follower.run())
                .map_err(|e| format!("cannot start the feed thread: {e}"))?;
            let wait = core.config.start_wait;
            if !wait.is_zero() && !core.wait_answered(wait) {
                eprintln!(
                    "jitgate: WARNING: the approval service did not answer within {} ms; {}",
                    wait.as_millis(),
                    if core.snapshot().verified {
                        "enforcing the cached snapshot meanwhile"
                    } else {
                        "denying every hdfs: and hive: resource meanwhile"
                    }
                );
            }
        } else {
            eprintln!("jitgate: no jitgate.service.url: enforcing the cached snapshot only");
        }
        Ok(Engine { core })
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    #[inline]
    pub fn snapshot(&self) -> Guard<Arc<Snapshot>> {
        self.core.snapshot()
    }

    /// Decides and records the decision (protected resources only).
    pub fn decide(&self, a: &Access) -> Decision {
        let key = match canonical_key(a.resource) {
            Ok(k) => k,
            Err(_) => return self.refuse(a, DenyReason::BadInput),
        };
        let snap = self.snapshot();
        match snap.on_path(&key, a.subtree) {
            Some(p) => self.decide_on(&snap, &p, a, &key).owned(),
            None => Decision::NotProtected,
        }
    }

    /// Decides and records `a` on its canonical `key`, which `snap.on_path` found protected.
    /// The JNI bridge reads the rest of `a` (user, operation, context) only once it has `p`.
    pub fn decide_on<'s>(
        &self,
        snap: &'s Snapshot,
        p: &OnPath<'s>,
        a: &Access,
        key: &str,
    ) -> Decision<&'s Arc<GrantRule>> {
        let now = self.core.now();
        let d = snap.decide_on(p, a.user, key, a.actions, a.subtree, now);
        self.record(a, key, d, now)
    }

    /// Decides moving what lies at `a.resource` to `to` (a rename, a concat's source into its
    /// target): the zones it carries (its own and any below it) must allow `a.actions`, and
    /// `export` too when `to` lies outside one of them; data leaving a zone is an export
    /// whoever moves it.
    pub fn decide_move(&self, a: &Access, to: &str) -> Decision {
        let (Ok(from), Ok(to)) = (canonical_key(a.resource), canonical_key(to)) else {
            return self.refuse(a, DenyReason::BadInput);
        };
        let snap = self.snapshot();
        let Some(p) = snap.on_path(&from, true) else {
            return Decision::NotProtected;
        };
        let mut a = *a;
        a.subtree = true;
        a.actions = move_actions(&snap, &from, &to, a.actions);
        self.decide_on(&snap, &p, &a, &from).owned()
    }

    /// The denial message for a move `decide_move` refused: it names export when the move
    /// leaves a zone.
    pub fn explain_move(
        &self,
        user: &str,
        from: &str,
        to: &str,
        actions: ActionSet,
        code: i32,
    ) -> String {
        let actions = match (canonical_key(from), canonical_key(to)) {
            (Ok(f), Ok(t)) => move_actions(&self.snapshot(), &f, &t, actions),
            _ => actions,
        };
        self.explain(user, from, actions, code)
    }

    /// One decision for everything a query touches. Each access needs its actions on what it
    /// names and on every zone below it (a query reads a table's directory with its
    /// subdirectories, and overwrites or drops a directory whole; a glob reaches the subtree of
    /// its glob-free prefix); protected data read by a query that writes anywhere outside the
    /// data's zone needs export as well; a single-use grant covers an access no other grant
    /// does, and is consumed at the service once the whole query is allowed. Nothing is recorded
    /// for a query that touches no zone; otherwise each protected access is, or only the denial
    /// when the query is refused.
    pub fn check(
        &self,
        user: &str,
        accesses: &[QueryAccess],
        operation: Option<&str>,
        context: Option<&str>,
    ) -> Verdict {
        let snap = self.snapshot();
        let now = self.core.now();
        let record = |resource: &str, actions, d| {
            let a = Access {
                user,
                resource,
                actions,
                subtree: false,
                operation,
                context,
            };
            self.record(&a, resource, d, now)
        };
        let deny = |resource: &str, actions, reason| {
            record(resource, actions, Decision::Deny(reason));
            Verdict::Deny(resource.to_string(), actions, reason)
        };
        // Outputs first: where the query writes decides which inputs leave their zone.
        let mut outputs: Vec<Option<Cow<str>>> = vec![];
        for a in accesses.iter().filter(|a| a.output) {
            match canonical_key(a.resource) {
                Ok(key) => outputs.push(Some(glob_free(key))),
                Err(_) if places::outside_every_zone(a.resource) => outputs.push(None),
                Err(_) => return deny(a.resource, a.actions, DenyReason::BadInput),
            }
        }
        let mut decided: Vec<(Cow<str>, ActionSet, Arc<GrantRule>)> = vec![];
        let mut single_use: Vec<Arc<GrantRule>> = vec![];
        for a in accesses {
            let Ok(key) = canonical_key(a.resource) else {
                if places::outside_every_zone(a.resource) {
                    continue; // a place outside every zone (`file:`, `s3a:`)
                }
                return deny(a.resource, a.actions, DenyReason::BadInput);
            };
            let key = glob_free(key);
            if !a.output && read_through_own_view(&snap, &key, a.via) {
                continue;
            }
            let Some(on_path) = snap.on_path(&key, true) else {
                continue;
            };
            if a.actions.is_empty() {
                return deny(&key, a.actions, DenyReason::Unmapped);
            }
            let mut actions = a.actions;
            if !a.output {
                let leaves = outputs.iter().any(|o| match o {
                    Some(out) => snap.leaves(&key, out),
                    None => true,
                });
                if leaves {
                    actions = actions.with(Action::Export);
                }
            }
            match snap.decide_on(&on_path, user, &key, actions, true, now) {
                Decision::Allow(g) => decided.push((key, actions, g.clone())),
                // A single-use grant covers one key, never zones below it.
                Decision::Deny(DenyReason::NoGrant) if !snap.zone_below(&key) => {
                    match snap.single_use_grant(user, &key, actions, now) {
                        Some(g) => {
                            if !single_use.iter().any(|u| u.id == g.id) {
                                single_use.push(g.clone());
                            }
                            decided.push((key, actions, g.clone()));
                        }
                        None => return deny(&key, actions, DenyReason::NoGrant),
                    }
                }
                Decision::Deny(reason) => return deny(&key, actions, reason),
                Decision::NotProtected => {}
            }
        }
        if decided.is_empty() {
            return Verdict::NotProtected;
        }
        for g in &single_use {
            if !self.consume(g, context.unwrap_or("")) {
                for (key, actions, used) in &decided {
                    if used.id == g.id {
                        return deny(key, *actions, DenyReason::NoGrant);
                    }
                }
            }
        }
        let mut grants: Vec<Arc<str>> = vec![];
        for (key, actions, grant) in &decided {
            if let Decision::Deny(reason) = record(key, *actions, Decision::Allow(grant)) {
                return Verdict::Deny(key.to_string(), *actions, reason);
            }
            if !grants.contains(&grant.id) {
                grants.push(grant.id.clone());
            }
        }
        Verdict::Allow(grants)
    }

    /// Consumes the single-use grant `g` for the query `context`; false when another query used
    /// it, or when the service cannot say (fail closed).
    fn consume(&self, g: &GrantRule, context: &str) -> bool {
        let mut consumed = self.core.consumed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, by)) = consumed.iter().find(|(id, _)| *id == g.id) {
            return same_query(by, context);
        }
        let Some(service) = &self.core.service else {
            return false;
        };
        match service.consume(&g.id, context) {
            Ok(won) => {
                if won {
                    // Forget grants long expired: the list only needs those that can still match.
                    let now = self.core.now();
                    consumed.retain(|(id, _)| self.snapshot().grant_live(id, now));
                    consumed.push((g.id.clone(), context.to_string()));
                }
                won
            }
            Err(e) => {
                eprintln!(
                    "jitgate: cannot consume single-use grant {}: {e}; denying",
                    g.id
                );
                false
            }
        }
    }

    /// The id of an active grant that lets `user` do `actions` on `resource` now, deciding and
    /// recording nothing: for a plugin that watches what it allowed earlier (the NameNode's open
    /// output streams) and stops it once no grant covers it. None as well outside every zone
    /// and for anything unreadable.
    pub fn covering_grant(
        &self,
        user: &str,
        resource: &str,
        actions: ActionSet,
    ) -> Option<Arc<str>> {
        let key = canonical_key(resource).ok()?;
        let snap = self.snapshot();
        match snap.decide(user, &key, actions, false, self.core.now()) {
            Decision::Allow(g) => Some(g.id.clone()),
            _ => None,
        }
    }

    /// Whether the grant `id` still holds: in the current snapshot (not revoked) and inside its
    /// time window. A running query polls this for the grants its check relied on.
    pub fn grant_live(&self, id: &str) -> bool {
        self.snapshot().grant_live(id, self.core.now())
    }

    /// Records and returns a denial decided before the snapshot could be asked.
    pub fn refuse(&self, a: &Access, reason: DenyReason) -> Decision {
        self.record(a, a.resource, Decision::Deny(reason), self.core.now())
            .owned()
    }

    /// `now` is the decision's own clock reading, so the record carries the instant decided at.
    fn record<'g>(
        &self,
        a: &Access,
        key: &str,
        d: Decision<&'g Arc<GrantRule>>,
        now: i64,
    ) -> Decision<&'g Arc<GrantRule>> {
        let outcome = match d {
            Decision::NotProtected => return d,
            Decision::Allow(_) if !self.core.audit.writable() => Err(DenyReason::AuditUnavailable),
            Decision::Allow(g) => Ok(&**g),
            Decision::Deny(r) => Err(r),
        };
        let recorded = self.core.audit.record(Record::new(
            now,
            a.user,
            key,
            a.actions,
            outcome,
            a.operation,
            a.context,
        ));
        match outcome {
            Ok(_) if !recorded => Decision::Deny(DenyReason::AuditUnavailable),
            Ok(_) => d,
            Err(r) => Decision::Deny(r),
        }
    }

    /// The denial message (docs/INTERFACE.md) for a decision code.
    pub fn explain(&self, user: &str, resource: &str, actions: ActionSet, code: i32) -> String {
        explain(
            self.core.config.request_base(),
            user,
            resource,
            actions,
            DenyReason::from_code(code),
        )
    }

    /// Stops the follower (after its current long poll) and flushes the audit buffer.
    pub fn close(&self) {
        self.core.closed.store(true, Ordering::SeqCst);
        self.core.wake.1.notify_all();
        self.core.audit.shutdown();
    }
}

/// Whether `key` is read through a view of its own zone: the view and `key` have the same
/// innermost zone, and no other zone lies below `key`. One rule for views in every engine: a
/// grant on a view covers reading through it to base tables of the view's zone (whoever approved
/// the view approved what it shows); a base table in another zone (a zone nested in the view's
/// included, whose approvers approved nothing here), or in a zone when the view is outside every
/// zone, needs its own grant.
fn read_through_own_view(snap: &Snapshot, key: &str, via: Option<&str>) -> bool {
    let Some(view) = via.and_then(|v| canonical_key(v).ok()) else {
        return false;
    };
    match (snap.zone_of(&view), snap.zone_of(key)) {
        (Some(v), Some(k)) => v == k && !snap.zone_below(key),
        _ => false,
    }
}

/// The part of an `hdfs:` key a filesystem glob cannot widen: up to the component before the
/// first one holding a glob character (`*`, `?`, `[`, `{`, or a backslash escaping one). A query engine
/// expands globs as it reads, so jitgate decides on that whole subtree. Other keys as they are.
fn glob_free(key: Cow<'_, str>) -> Cow<'_, str> {
    let Some(path) = key.strip_prefix("hdfs:") else {
        return key;
    };
    let Some(glob) = path.find(['*', '?', '[', '{', '\\']) else {
        return key;
    };
    let cut = path[..glob].rfind('/').unwrap_or(0);
    Cow::Owned(format!(
        "hdfs:{}",
        if cut == 0 { "/" } else { &path[..cut] }
    ))
}

/// What moving `from` to `to` asks: `actions`, and export when the move leaves a zone.
fn move_actions(snap: &Snapshot, from: &str, to: &str, actions: ActionSet) -> ActionSet {
    if snap.leaves(from, to) {
        actions.with(Action::Export)
    } else {
        actions
    }
}

/// Whether `context` names the query that consumed a grant under `by`: the same text, or the same
/// text with more detail appended (Spark learns a query's execution id only once it runs).
fn same_query(by: &str, context: &str) -> bool {
    !by.is_empty()
        && context
            .strip_prefix(by)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

/// Creates the cache dir (mode 0700) or checks the one there: it must be a real directory owned
/// by this process's user and closed to others, since whoever can write it decides which grants
/// a restart enforces.
fn private_dir(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let shown = dir.display();
    match std::fs::symlink_metadata(dir) {
        Err(_) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create jitgate.cache.dir {shown}: {e}")),
        Ok(m) => {
            // /proc/self belongs to the process's effective user
            let me = std::fs::metadata("/proc/self")
                .map(|p| p.uid())
                .unwrap_or(u32::MAX);
            if !m.is_dir() {
                Err(format!(
                    "jitgate.cache.dir {shown} is not a directory (a symlink is not accepted)"
                ))
            } else if m.uid() != me {
                Err(format!(
                    "jitgate.cache.dir {shown} belongs to uid {}, not to this process's user {me}",
                    m.uid()
                ))
            } else if m.permissions().mode() & 0o022 != 0 {
                Err(format!(
                    "jitgate.cache.dir {shown} is writable by other users; make it mode 0700"
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// `jitgate: alice may not read hdfs:/lake/sales/orders (no active grant). Request it: URL`
pub fn explain(
    base: &str,
    user: &str,
    resource: &str,
    actions: ActionSet,
    reason: DenyReason,
) -> String {
    let shown: Cow<str> = canonical_key(resource).unwrap_or(Cow::Borrowed(resource));
    let names = actions.names();
    let verb = if names.is_empty() {
        "access".to_string()
    } else {
        names.join(" and ")
    };
    let action_param = if names.is_empty() {
        "read".to_string()
    } else {
        names.join(",")
    };
    format!(
        "jitgate: {user} may not {verb} {shown} ({}). Request it: {base}/request?resource={}&action={}",
        reason.describe(),
        encode_query(&shown),
        action_param
    )
}

/// Percent-encodes for a query value, keeping the characters that read well in a resource.
fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b':'
            | b'/'
            | b'*'
            | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_url_is_local_only_on_a_loopback_host() {
        for (authority, local) in [
            ("127.0.0.1:8470", true),
            ("localhost:8470/x", true),
            ("[::1]:8470", true),
            ("jitgate.example:8470", false),
            ("10.1.2.3", false),
            ("[2001:db8::1]:8470", false),
        ] {
            assert_eq!(loopback(url_host(authority)), local, "{authority}");
        }
    }

    #[test]
    fn a_query_is_known_by_its_context_and_detail_added_to_it() {
        assert!(same_query("q=1", "q=1"));
        assert!(same_query("q=1", "q=1 spark.sql.execution.id=7"));
        assert!(!same_query("q=1", "q=12"));
        assert!(!same_query("q=1", "q=2"));
        assert!(
            !same_query("", ""),
            "a query without a context is never the same query"
        );
    }

    #[test]
    fn a_glob_is_decided_on_the_subtree_of_its_glob_free_prefix() {
        let g = |k: &'static str| glob_free(Cow::Borrowed(k)).into_owned();
        assert_eq!(g("hdfs:/lake/sales/x"), "hdfs:/lake/sales/x");
        assert_eq!(g("hdfs:/lake/sal*"), "hdfs:/lake");
        assert_eq!(g("hdfs:/lake/sales/{a,b}/x"), "hdfs:/lake/sales");
        assert_eq!(g("hdfs:/l?ke/sales"), "hdfs:/");
        assert_eq!(g("hdfs:/lake/s\\ales"), "hdfs:/lake");
        assert_eq!(g("hdfs:/*"), "hdfs:/");
        assert_eq!(g("hive:sales.orders"), "hive:sales.orders");
    }

    #[test]
    fn denial_message_names_user_resource_action_and_link() {
        let m = explain(
            "http://svc:8470",
            "alice",
            "hdfs:/lake/sales/orders",
            ActionSet(1),
            DenyReason::NoGrant,
        );
        assert_eq!(
            m,
            "jitgate: alice may not read hdfs:/lake/sales/orders (no active grant). \
             Request it: http://svc:8470/request?resource=hdfs:/lake/sales/orders&action=read"
        );
        let m = explain(
            "http://s",
            "bob",
            "hdfs:/a b&c",
            ActionSet(3),
            DenyReason::AuditUnavailable,
        );
        assert!(m.contains("may not read and write"), "{m}");
        assert!(
            m.ends_with("resource=hdfs:/a%20b%26c&action=read,write"),
            "{m}"
        );
    }
}
