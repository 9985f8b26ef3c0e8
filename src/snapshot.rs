//! An immutable picture of zones and grants, and the decision made against it.
//!
//! A decision walks the ancestors of the resource key (depth-many hash lookups) and never
//! looks at grants of other users, so its cost depends on path depth, not on how many grants
//! exist. Nothing here allocates or takes a lock.

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::model::{ActionSet, Resource};
use crate::trie::Trie;
use crate::wire;

/// Why a protected action was denied. The numbers are the codes of the C ABI and JNI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum DenyReason {
    NoGrant = 2,
    NoSnapshot = 3,
    AuditUnavailable = 4,
    BadInput = 5,
    Closed = 6,
    Internal = 7,
    /// The engine's operation has no row in the core's mapping table (`crate::engines`).
    Unmapped = 8,
}

impl DenyReason {
    pub fn from_code(code: i32) -> DenyReason {
        match code {
            2 => DenyReason::NoGrant,
            3 => DenyReason::NoSnapshot,
            4 => DenyReason::AuditUnavailable,
            5 => DenyReason::BadInput,
            6 => DenyReason::Closed,
            8 => DenyReason::Unmapped,
            _ => DenyReason::Internal,
        }
    }

    /// The words shown to the user inside the denial message.
    pub fn describe(self) -> &'static str {
        match self {
            DenyReason::NoGrant => "no active grant",
            DenyReason::NoSnapshot => {
                "no grant data yet: the approval service has not been reached"
            }
            DenyReason::AuditUnavailable => "the audit trail cannot be written",
            DenyReason::BadInput => "the request could not be read",
            DenyReason::Closed => "the jitgate engine is closed",
            DenyReason::Internal => "internal error in jitgate",
            DenyReason::Unmapped => "jitgate has no rule for this operation",
        }
    }

    /// Short name used in audit events.
    pub fn name(self) -> &'static str {
        match self {
            DenyReason::NoGrant => "no-grant",
            DenyReason::NoSnapshot => "no-snapshot",
            DenyReason::AuditUnavailable => "audit-unavailable",
            DenyReason::BadInput => "bad-input",
            DenyReason::Closed => "closed",
            DenyReason::Internal => "internal",
            DenyReason::Unmapped => "unmapped",
        }
    }
}

/// The answer for one access. The snapshot answers with a borrowed grant (`G = &Arc<GrantRule>`),
/// so deciding writes no reference count that other threads share; `owned` makes it last.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<G = Arc<GrantRule>> {
    /// The resource is in no zone: the engine's normal permissions apply.
    NotProtected,
    Allow(G),
    Deny(DenyReason),
}

impl Decision<&Arc<GrantRule>> {
    pub fn owned(self) -> Decision {
        match self {
            Decision::NotProtected => Decision::NotProtected,
            Decision::Allow(g) => Decision::Allow(g.clone()),
            Decision::Deny(r) => Decision::Deny(r),
        }
    }
}

impl<G> Decision<G> {
    /// The number passed across the C ABI and JNI (see docs/DESIGN.md).
    pub fn code(&self) -> i32 {
        match self {
            Decision::NotProtected => 0,
            Decision::Allow(_) => 1,
            Decision::Deny(r) => *r as i32,
        }
    }
}

/// A grant as the decision needs it: times in epoch milliseconds, actions as bits.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantRule {
    pub id: Arc<str>,
    pub request_id: Arc<str>,
    pub actions: ActionSet,
    pub not_before: i64,
    pub expires_at: i64,
    /// Allows one query, and only once a plugin has consumed it at the service.
    pub single_use: bool,
}

impl GrantRule {
    #[inline]
    fn active(&self, now: i64) -> bool {
        self.not_before <= now && now < self.expires_at
    }
}

#[derive(Debug, Default)]
pub struct Snapshot {
    /// Change-feed cursor this snapshot reflects; 0 when it came from local fallback config.
    pub cursor: u64,
    /// True until the first real snapshot: every zone resource is then denied.
    pub fallback: bool,
    /// Zone resources, each stored at its own key.
    zones_index: Trie<ZoneResource>,
    /// user → grants, each stored at each of its resources.
    by_user: HashMap<String, Trie<Arc<GrantRule>>>,
    /// grant id → grant, for running queries that ask whether their grants still hold.
    by_id: HashMap<Arc<str>, Arc<GrantRule>>,
    /// What this snapshot was built from, kept for saving to the cache dir.
    pub zones: Vec<wire::Zone>,
    pub grants: Vec<wire::Grant>,
}

/// One resource of a zone, stored at its key in the zone index.
#[derive(Debug)]
struct ZoneResource {
    key: Arc<str>,
    zone: Arc<str>,
}

/// A grant or zone that could not be read; it is skipped and the rest of the snapshot used.
#[derive(Debug)]
pub struct Skipped(pub String);

impl Snapshot {
    /// Before any data arrives: protect the locally configured fallback zones, allow nothing in them.
    pub fn fallback(resources: &[Resource]) -> Snapshot {
        let zone = wire::Zone {
            name: "fallback".into(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
            approvers: vec![],
            approvals: 1,
            actions: vec![],
            max_duration: "15m".into(),
        };
        let mut s = Snapshot::build(0, vec![zone], vec![], i64::MIN).0;
        s.fallback = true;
        s
    }

    /// Builds the indexes. Grants already expired at `now` are left out; anything unreadable
    /// is reported in the second value (a zone resource that can't be read can't be enforced,
    /// so the caller logs it loudly).
    pub fn build(
        cursor: u64,
        zones: Vec<wire::Zone>,
        grants: Vec<wire::Grant>,
        now: i64,
    ) -> (Snapshot, Vec<Skipped>) {
        let mut skipped = vec![];
        let mut zones_index = Trie::default();
        for z in &zones {
            let zone: Arc<str> = Arc::from(z.name.as_str());
            for r in &z.resources {
                match Resource::parse(r) {
                    Ok(res) => zones_index.insert(
                        res.key(),
                        ZoneResource {
                            key: Arc::from(res.key()),
                            zone: zone.clone(),
                        },
                    ),
                    Err(e) => skipped.push(Skipped(format!("zone {}: {e}", z.name))),
                }
            }
        }
        // FxHash: the keys come from the service's grants, not from callers, and a decision
        // hashes a few short strings, where SipHash would cost most of it.
        let mut by_user: HashMap<String, Trie<Arc<GrantRule>>> = HashMap::default();
        let mut by_id = HashMap::default();
        let mut kept = Vec::with_capacity(grants.len());
        for g in grants {
            let rule = match grant_rule(&g) {
                Ok(rule) => rule,
                Err(e) => {
                    skipped.push(Skipped(format!("grant {}: {e}", g.id)));
                    continue;
                }
            };
            if rule.expires_at <= now {
                continue;
            }
            let rule = Arc::new(rule);
            by_id.insert(rule.id.clone(), rule.clone());
            let user = by_user.entry(g.user.clone()).or_default();
            for r in &g.resources {
                match Resource::parse(r) {
                    Ok(res) => user.insert(res.key(), rule.clone()),
                    Err(e) => skipped.push(Skipped(format!("grant {}: {e}", g.id))),
                }
            }
            kept.push(g);
        }
        let s = Snapshot {
            cursor,
            fallback: false,
            zones_index,
            by_user,
            by_id,
            zones,
            grants: kept,
        };
        (s, skipped)
    }

    /// Whether an access to `key` needs a grant. With `subtree`, a zone anywhere below `key`
    /// counts too (deleting or renaming `/lake` touches the zone `/lake/sales`).
    #[inline]
    pub fn protects(&self, key: &str, subtree: bool) -> bool {
        self.zones_index.any_on_path(key, |_| true)
            || (subtree && self.zones_index.any_below(key, |_| true))
    }

    /// The decision for `user` doing `actions` on the canonical resource `key` at `now`.
    pub fn decide(
        &self,
        user: &str,
        key: &str,
        actions: ActionSet,
        subtree: bool,
        now: i64,
    ) -> Decision<&Arc<GrantRule>> {
        let in_zone = self.zones_index.any_on_path(key, |_| true);
        if !in_zone && !(subtree && self.zones_index.any_below(key, |_| true)) {
            return Decision::NotProtected;
        }
        if self.fallback {
            return Decision::Deny(DenyReason::NoSnapshot);
        }
        if actions.is_empty() {
            return Decision::Deny(DenyReason::BadInput);
        }
        let Some(grants) = self.by_user.get(user) else {
            return Decision::Deny(DenyReason::NoGrant);
        };
        let mut allowed_by = None;
        if in_zone {
            match covering_grant(grants, key, actions, now) {
                Some(g) => allowed_by = Some(g),
                None => return Decision::Deny(DenyReason::NoGrant),
            }
        }
        if subtree {
            // Every zone below must be covered as well (a grant on `key` covers them already).
            let uncovered = self.zones_index.any_below(key, |zone| {
                match covering_grant(grants, &zone.key, actions, now) {
                    Some(g) => {
                        allowed_by = allowed_by.take().or(Some(g));
                        false
                    }
                    None => true,
                }
            });
            if uncovered {
                return Decision::Deny(DenyReason::NoGrant);
            }
        }
        let Some(grant) = allowed_by else {
            return Decision::Deny(DenyReason::NoGrant);
        };
        Decision::Allow(grant)
    }

    /// A single-use grant of `user` covering every one of `actions` on `key` at `now`: what a
    /// query may rely on, once it has consumed the grant, where `decide` found no grant.
    pub fn single_use_grant(
        &self,
        user: &str,
        key: &str,
        actions: ActionSet,
        now: i64,
    ) -> Option<&Arc<GrantRule>> {
        let grants = self.by_user.get(user)?;
        let mut found = None;
        grants.any_on_path(key, |gs| {
            found = gs
                .iter()
                .find(|g| g.single_use && g.actions.contains(actions) && g.active(now));
            found.is_some()
        });
        found
    }

    /// The name of the innermost zone `key` lies in.
    pub fn zone_of(&self, key: &str) -> Option<&Arc<str>> {
        let mut innermost = None;
        self.zones_index.any_on_path(key, |zs| {
            innermost = zs.first().map(|z| &z.zone);
            false
        });
        innermost
    }

    /// Whether `key` lies in the zone named `zone` (at any depth of nesting).
    pub fn in_zone(&self, key: &str, zone: &str) -> bool {
        self.zones_index
            .any_on_path(key, |zs| zs.iter().any(|z| &*z.zone == zone))
    }

    /// Whether the grant `id` is in this snapshot and inside its time window at `now`.
    pub fn grant_live(&self, id: &str, now: i64) -> bool {
        self.by_id.get(id).is_some_and(|g| g.active(now))
    }
}

/// A grant that covers `key` for every action asked. Several grants may together cover the
/// actions (overlapping grants are independent); the one covering the first action is returned.
#[inline]
fn covering_grant<'a>(
    grants: &'a Trie<Arc<GrantRule>>,
    key: &str,
    actions: ActionSet,
    now: i64,
) -> Option<&'a Arc<GrantRule>> {
    let mut first: Option<&Arc<GrantRule>> = None;
    for action in actions.iter() {
        let want = ActionSet(action as u8);
        let mut found = None;
        grants.any_on_path(key, |gs| {
            found = gs
                .iter()
                .find(|g| !g.single_use && g.actions.contains(want) && g.active(now));
            found.is_some()
        });
        match found {
            Some(g) => first = first.or(Some(g)),
            None => return None,
        }
    }
    first
}

fn grant_rule(g: &wire::Grant) -> Result<GrantRule, String> {
    let actions =
        ActionSet::parse(g.actions.iter().map(String::as_str)).map_err(|e| e.to_string())?;
    let not_before = wire::parse_time(&g.not_before).ok_or("bad not_before")?;
    let expires_at = wire::parse_time(&g.expires_at).ok_or("bad expires_at")?;
    Ok(GrantRule {
        id: g.id.as_str().into(),
        request_id: g.request_id.as_str().into(),
        actions,
        not_before,
        expires_at,
        single_use: g.single_use,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn zone(resources: &[&str]) -> wire::Zone {
        wire::Zone {
            name: "sales".into(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            approvers: vec!["sales-owners".into()],
            approvals: 1,
            actions: vec![],
            max_duration: "15m".into(),
        }
    }

    fn grant(id: &str, user: &str, res: &str, actions: &[&str], from: i64, to: i64) -> wire::Grant {
        wire::Grant {
            id: id.into(),
            request_id: format!("r-{id}"),
            user: user.into(),
            resources: vec![res.into()],
            actions: actions.iter().map(|s| s.to_string()).collect(),
            not_before: wire::format_time(from),
            expires_at: wire::format_time(to),
            approvers: vec!["bob".into()],
            single_use: false,
        }
    }

    fn snap(grants: Vec<wire::Grant>) -> Snapshot {
        let zones = vec![zone(&["hdfs:/lake/sales", "hive:sales.*"])];
        let (s, skipped) = Snapshot::build(1, zones, grants, NOW);
        assert!(skipped.is_empty(), "{skipped:?}");
        s
    }

    const READ: ActionSet = ActionSet(1);
    const WRITE: ActionSet = ActionSet(2);

    #[test]
    fn outside_every_zone_is_not_protected() {
        let s = snap(vec![]);
        assert_eq!(
            s.decide("alice", "hdfs:/open/x", READ, false, NOW),
            Decision::NotProtected
        );
        assert_eq!(
            s.decide("alice", "hdfs:/lake/salesforce", READ, false, NOW),
            Decision::NotProtected
        );
    }

    #[test]
    fn protected_resource_without_grant_is_denied() {
        let s = snap(vec![grant(
            "g1",
            "carol",
            "hdfs:/lake/sales",
            &["read"],
            NOW - 1,
            NOW + 60_000,
        )]);
        assert_eq!(
            s.decide("alice", "hdfs:/lake/sales/orders/part-0", READ, false, NOW),
            Decision::Deny(DenyReason::NoGrant)
        );
    }

    #[test]
    fn grant_allows_only_its_action_and_resources_within_its_window() {
        let s = snap(vec![grant(
            "g1",
            "alice",
            "hdfs:/lake/sales/orders",
            &["read"],
            NOW,
            NOW + 60_000,
        )]);
        let allowed = s.decide("alice", "hdfs:/lake/sales/orders/part-0", READ, false, NOW);
        assert!(
            matches!(allowed, Decision::Allow(ref g) if &*g.id == "g1"),
            "{allowed:?}"
        );
        assert_eq!(
            s.decide("alice", "hdfs:/lake/sales/orders/part-0", WRITE, false, NOW),
            Decision::Deny(DenyReason::NoGrant)
        );
        assert_eq!(
            s.decide("alice", "hdfs:/lake/sales/customers", READ, false, NOW),
            Decision::Deny(DenyReason::NoGrant)
        );
        assert_eq!(
            s.decide("alice", "hdfs:/lake/sales/orders", READ, false, NOW - 1),
            Decision::Deny(DenyReason::NoGrant),
            "before not_before"
        );
        assert_eq!(
            s.decide(
                "alice",
                "hdfs:/lake/sales/orders",
                READ,
                false,
                NOW + 60_000
            ),
            Decision::Deny(DenyReason::NoGrant),
            "from the expiry instant on"
        );
    }

    #[test]
    fn overlapping_grants_together_cover_several_actions() {
        let s = snap(vec![
            grant(
                "g1",
                "alice",
                "hdfs:/lake/sales",
                &["read"],
                NOW,
                NOW + 60_000,
            ),
            grant(
                "g2",
                "alice",
                "hdfs:/lake/sales/orders",
                &["write"],
                NOW,
                NOW + 1_000,
            ),
        ]);
        let both = ActionSet(3);
        assert!(matches!(
            s.decide("alice", "hdfs:/lake/sales/orders", both, false, NOW),
            Decision::Allow(_)
        ));
        // g2 ending takes away write but never the read g1 still grants
        assert_eq!(
            s.decide("alice", "hdfs:/lake/sales/orders", both, false, NOW + 1_000),
            Decision::Deny(DenyReason::NoGrant)
        );
        assert!(matches!(
            s.decide("alice", "hdfs:/lake/sales/orders", READ, false, NOW + 1_000),
            Decision::Allow(_)
        ));
    }

    #[test]
    fn deleting_an_ancestor_of_a_zone_needs_a_grant_on_the_zone() {
        let s = snap(vec![grant(
            "g1",
            "alice",
            "hdfs:/lake/sales",
            &["write"],
            NOW,
            NOW + 60_000,
        )]);
        assert_eq!(
            s.decide("bob", "hdfs:/lake", WRITE, true, NOW),
            Decision::Deny(DenyReason::NoGrant)
        );
        assert_eq!(
            s.decide("bob", "hdfs:/lake", WRITE, false, NOW),
            Decision::NotProtected
        );
        // alice holds write on the zone, but /lake itself is outside it: the zone below is covered
        assert!(matches!(
            s.decide("alice", "hdfs:/lake", WRITE, true, NOW),
            Decision::Allow(_)
        ));
    }

    #[test]
    fn hive_database_zone_covers_its_tables() {
        let s = snap(vec![grant(
            "g1",
            "alice",
            "hive:sales.orders",
            &["read"],
            NOW,
            NOW + 60_000,
        )]);
        assert!(matches!(
            s.decide("alice", "hive:sales.orders", READ, false, NOW),
            Decision::Allow(_)
        ));
        assert!(matches!(
            s.decide("alice", "hive:sales.orders.amount", READ, false, NOW),
            Decision::Allow(_)
        ));
        assert_eq!(
            s.decide("alice", "hive:sales.customers", READ, false, NOW),
            Decision::Deny(DenyReason::NoGrant)
        );
        assert_eq!(
            s.decide("alice", "hive:other.t", READ, false, NOW),
            Decision::NotProtected
        );
    }

    #[test]
    fn fallback_snapshot_denies_its_zones_and_nothing_else() {
        let s = Snapshot::fallback(&[Resource::parse("hdfs:/lake/sales").unwrap()]);
        assert_eq!(
            s.decide("alice", "hdfs:/lake/sales/x", READ, false, NOW),
            Decision::Deny(DenyReason::NoSnapshot)
        );
        assert_eq!(
            s.decide("alice", "hdfs:/tmp/x", READ, false, NOW),
            Decision::NotProtected
        );
    }

    #[test]
    fn single_use_grants_allow_nothing_until_a_plugin_consumes_them() {
        let mut g = grant(
            "g1",
            "alice",
            "hdfs:/lake/sales",
            &["read"],
            NOW,
            NOW + 60_000,
        );
        g.single_use = true;
        let s = snap(vec![g]);
        assert_eq!(
            s.decide("alice", "hdfs:/lake/sales/x", READ, false, NOW),
            Decision::Deny(DenyReason::NoGrant)
        );
    }

    #[test]
    fn single_use_grants_are_offered_to_queries_only_whole() {
        let mut g = grant(
            "g1",
            "alice",
            "hive:sales",
            &["read", "write"],
            NOW,
            NOW + 60_000,
        );
        g.single_use = true;
        let s = snap(vec![g]);
        let found = s.single_use_grant("alice", "hive:sales.orders", READ, NOW);
        assert_eq!(found.map(|g| &*g.id), Some("g1"));
        assert!(s
            .single_use_grant("alice", "hive:sales.orders", ActionSet(4), NOW)
            .is_none());
        assert!(s
            .single_use_grant("bob", "hive:sales.orders", READ, NOW)
            .is_none());
        assert!(s
            .single_use_grant("alice", "hive:sales.orders", READ, NOW + 60_000)
            .is_none());
    }

    #[test]
    fn zones_are_named_innermost_first_and_grants_live_in_their_window() {
        let mut outer = zone(&["hdfs:/lake", "hive:lake"]);
        outer.name = "lake".into();
        let inner = zone(&["hdfs:/lake/sales", "hive:sales"]);
        let (s, _) = Snapshot::build(
            1,
            vec![outer, inner],
            vec![grant(
                "g1",
                "alice",
                "hdfs:/lake/sales",
                &["read"],
                NOW,
                NOW + 10,
            )],
            NOW,
        );
        assert_eq!(s.zone_of("hdfs:/lake/sales/x").map(|z| &**z), Some("sales"));
        assert_eq!(s.zone_of("hdfs:/lake/other").map(|z| &**z), Some("lake"));
        assert_eq!(s.zone_of("hdfs:/elsewhere"), None);
        assert!(s.in_zone("hive:sales.t", "sales"), "one zone, two schemes");
        assert!(s.in_zone("hdfs:/lake/sales/x", "lake"), "nested in both");
        assert!(!s.in_zone("hdfs:/lake/other", "sales"));
        assert!(s.grant_live("g1", NOW));
        assert!(!s.grant_live("g1", NOW + 10), "expired");
        assert!(!s.grant_live("g2", NOW), "unknown or revoked");
    }

    #[test]
    fn expired_and_unreadable_grants_are_left_out() {
        let mut bad = grant("g2", "alice", "hdfs:/lake/sales", &["read"], NOW, NOW + 1);
        bad.expires_at = "yesterday".into();
        let zones = vec![zone(&["hdfs:/lake/sales"])];
        let old = grant(
            "g1",
            "alice",
            "hdfs:/lake/sales",
            &["read"],
            NOW - 10,
            NOW - 1,
        );
        let (s, skipped) = Snapshot::build(1, zones, vec![old, bad], NOW);
        assert_eq!(s.grants.len(), 0);
        assert_eq!(skipped.len(), 1);
    }
}
