//! The engine: one per process. It starts the live state (`crate::live`), the feed follower
//! and the audit buffer; it decides, records each protected decision, and consumes the
//! single-use grants a query relies on. Decisions read the snapshot and the clock only.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::Guard;

use crate::audit::{Audit, Record};
use crate::cache;
use crate::config::Config;
use crate::follower::Follower;
use crate::live::Live;
use crate::metrics::{Decisions, PluginMetrics};
use crate::model::{canonical_key, Action, ActionSet};
use crate::query::{self, Answer, QueryAccess, Verdict};
use crate::service_client::{self, ServiceClient};
use crate::snapshot::{Decision, DenyReason, GrantRule, OnPath, Snapshot};
use crate::wire::ResourceContext;

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

pub struct Engine {
    config: Config,
    /// Shared with the follower, which installs each new snapshot in it.
    live: Arc<Live>,
    audit: Audit,
    /// Consumes single-use grants; None without a service (they can then never be used).
    service: Option<ServiceClient>,
    /// Single-use grants this engine consumed, with the context of the query that did: that
    /// query may check again (engines re-analyse inner plans, Spark checks again as the query
    /// runs), no other may.
    consumed: Mutex<Vec<(Arc<str>, String)>>,
    /// Every decision `record` handed to the audit trail, by outcome.
    decisions: Decisions,
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
        cache::private_dir(&config.cache_dir)?;
        if !config.service_urls.is_empty() && config.service_key.is_none() {
            return Err(
                "jitgate.service.url is set but no jitgate.service.public.key (or \
                        jitgate.service.public.key.file) to verify the service's feed with: \
                        `jitgate serve --print-public-key` prints it"
                    .into(),
            );
        }
        let (snapshot, cached) = cache::load_or_closed(&config);
        for url in &config.service_urls {
            let plain = url.strip_prefix("http://");
            if let Some(host) = plain.map(url_host).filter(|h| !loopback(h)) {
                eprintln!(
                    "jitgate: WARNING: jitgate.service.url is plain http to {host}: the plugin \
                     token and audit events cross the network in clear (the feed stays signed); \
                     use https"
                );
            }
        }
        let tls = config
            .service_urls
            .iter()
            .any(|u| u.starts_with("https://"))
            .then(|| service_client::tls_config(config.ca_file.as_deref()))
            .transpose()?;
        let client = |wait| {
            (!config.service_urls.is_empty()).then(|| {
                ServiceClient::new(
                    &config.service_urls,
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
        let live = Arc::new(Live::new(snapshot));
        if let Some(client) = follower_client {
            let follower =
                Follower::new(live.clone(), client, &config, cache::file(&config), cached);
            std::thread::Builder::new()
                .name("jitgate-feed".into())
                .spawn(move || follower.run())
                .map_err(|e| format!("cannot start the feed thread: {e}"))?;
            let wait = config.start_wait;
            if !wait.is_zero() && !live.wait_answered(wait) {
                eprintln!(
                    "jitgate: WARNING: the approval service did not answer within {} ms; {}",
                    wait.as_millis(),
                    if live.snapshot().verified {
                        "enforcing the cached snapshot meanwhile"
                    } else {
                        "denying every hdfs: and hive: resource meanwhile"
                    }
                );
            }
        } else {
            eprintln!("jitgate: no jitgate.service.url: enforcing the cached snapshot only");
        }
        Ok(Engine {
            service: client(Duration::ZERO),
            consumed: Mutex::new(Vec::new()),
            decisions: Decisions::default(),
            config,
            live,
            audit,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The snapshot decisions read now, the clock, whether the engine closed.
    pub fn live(&self) -> &Live {
        &self.live
    }

    #[inline]
    pub fn snapshot(&self) -> Guard<Arc<Snapshot>> {
        self.live.snapshot()
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
    /// `bridge::decide` reads the rest of `a` (user, operation, context) only once it has `p`.
    pub fn decide_on<'s>(
        &self,
        snap: &'s Snapshot,
        p: &OnPath<'s>,
        a: &Access,
        key: &str,
    ) -> Decision<&'s Arc<GrantRule>> {
        let now = self.live.now();
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

    /// One decision for everything a query touches (`crate::query` has the rule); a single-use
    /// grant it relies on is consumed at the service once the whole query is allowed. Nothing
    /// is recorded for a query that touches no zone; otherwise each protected access is, or
    /// only the denial when the query is refused.
    pub fn check(
        &self,
        user: &str,
        accesses: &[QueryAccess],
        operation: Option<&str>,
        context: Option<&str>,
    ) -> Verdict {
        let snap = self.snapshot();
        let now = self.live.now();
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
        let (covered, single_use) = match query::decide(&snap, user, accesses, now) {
            Answer::NotProtected => return Verdict::NotProtected,
            Answer::Denied(resource, actions, reason) => return deny(&resource, actions, reason),
            Answer::Covered {
                accesses,
                single_use,
            } => (accesses, single_use),
        };
        for g in single_use {
            if !self.consume(g, context.unwrap_or("")) {
                if let Some(c) = covered.iter().find(|c| c.grant.id == g.id) {
                    return deny(&c.key, c.actions, DenyReason::NoGrant);
                }
            }
        }
        let mut grants: Vec<Arc<str>> = vec![];
        for c in &covered {
            if let Decision::Deny(reason) = record(&c.key, c.actions, Decision::Allow(c.grant)) {
                return Verdict::Deny(c.key.to_string(), c.actions, reason);
            }
            if !grants.contains(&c.grant.id) {
                grants.push(c.grant.id.clone());
            }
        }
        Verdict::Allow(grants)
    }

    /// The resources of `scheme` whose context the service's approvers wait for; empty when
    /// this engine follows no service.
    pub fn context_wanted(&self, scheme: &str) -> Result<Vec<String>, String> {
        match &self.service {
            Some(service) => service.context_wanted(scheme),
            None => Ok(vec![]),
        }
    }

    /// Sends what the plugin learnt of resources `context_wanted` named.
    pub fn report_context(&self, contexts: &[ResourceContext]) -> Result<(), String> {
        match &self.service {
            Some(service) => service.report_context(contexts),
            None => Err("no jitgate.service.url to report to".into()),
        }
    }

    /// Consumes the single-use grant `g` for the query `context`; false when another query used
    /// it, or when the service cannot say (fail closed).
    fn consume(&self, g: &GrantRule, context: &str) -> bool {
        let mut consumed = self.consumed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, by)) = consumed.iter().find(|(id, _)| *id == g.id) {
            return same_query(by, context);
        }
        let Some(service) = &self.service else {
            return false;
        };
        match service.consume(&g.id, context) {
            Ok(won) => {
                if won {
                    // Forget grants long expired: the list only needs those that can still match.
                    let now = self.live.now();
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
        match snap.decide(user, &key, actions, false, self.live.now()) {
            Decision::Allow(g) => Some(g.id.clone()),
            _ => None,
        }
    }

    /// Whether the grant `id` still holds: in the current snapshot (not revoked) and inside its
    /// time window. A running query polls this for the grants its check relied on.
    pub fn grant_live(&self, id: &str) -> bool {
        self.snapshot().grant_live(id, self.live.now())
    }

    /// Records and returns a denial decided before the snapshot could be asked.
    pub fn refuse(&self, a: &Access, reason: DenyReason) -> Decision {
        self.record(a, a.resource, Decision::Deny(reason), self.live.now())
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
            Decision::Allow(_) if !self.audit.writable() => Err(DenyReason::AuditUnavailable),
            Decision::Allow(g) => Ok(&**g),
            Decision::Deny(r) => Err(r),
        };
        let recorded = self.audit.record(Record::new(
            now,
            a.user,
            key,
            a.actions,
            outcome,
            a.operation,
            a.context,
        ));
        let allowed = recorded && outcome.is_ok();
        self.decisions.count(allowed);
        match outcome {
            Ok(_) if !recorded => Decision::Deny(DenyReason::AuditUnavailable),
            Ok(_) => d,
            Err(r) => Decision::Deny(r),
        }
    }

    /// This engine's numbers now (`crate::metrics`).
    pub fn metrics(&self) -> PluginMetrics {
        let (allowed, denied) = (self.decisions.allowed(), self.decisions.denied());
        PluginMetrics {
            allowed,
            denied,
            feed_lag_millis: self.live.feed_lag(),
            snapshot_age_millis: self.live.snapshot_age(),
            // Every counted decision was offered to the trail once.
            audit_queue_depth: self.audit.queue_depth(allowed + denied),
            audit_spill_bytes: self.audit.spill_bytes(),
        }
    }

    /// The denial message (docs/INTERFACE.md) for a decision code.
    pub fn explain(&self, user: &str, resource: &str, actions: ActionSet, code: i32) -> String {
        explain(
            self.config.request_base(),
            user,
            resource,
            actions,
            DenyReason::from_code(code),
        )
    }

    /// Stops the follower (after its current long poll) and flushes the audit buffer.
    pub fn close(&self) {
        self.live.close();
        self.audit.shutdown();
    }
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
    format!(
        "jitgate: {user} may not {verb} {shown} ({}). Request it: {}",
        reason.describe(),
        request_link(base, &shown, actions)
    )
}

/// The request form prefilled for `resource` and `actions` (read when none): the link a denial
/// carries, and the one the service's check answers with.
pub fn request_link(base: &str, resource: &str, actions: ActionSet) -> String {
    let names = actions.names();
    let action_param = if names.is_empty() {
        "read".to_string()
    } else {
        names.join(",")
    };
    format!(
        "{base}/request?resource={}&action={action_param}",
        encode_query(resource)
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
