//! An immutable picture of zones and grants, and the decision made against it.
//!
//! Zones and grants share one tree of resource keys. A decision walks the ancestors of the key
//! once (one small hash lookup per component, stopping where the tree ends) and looks up only
//! the asking user's grants at the entries it meets, so its cost depends on path depth, not on
//! how many zones or grants exist. Nothing here allocates or takes a lock.
//!
//! A feed's changes make a new snapshot from the last (`Snapshot::apply`) that shares all but
//! what changed with it, so a change costs the change, not the number of grants, and decisions
//! still reading the last snapshot see it whole.

use std::sync::Arc;

use rpds::{HashTrieMapSync, RedBlackTreeSetSync};
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
    /// The engine's operation has no row in the core's mapping table (`crate::mapping`).
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
    pub const fn code(&self) -> i32 {
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

/// A clone shares everything with the original; `apply` copies only what a change touches.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Change-feed cursor this snapshot reflects; 0 for the closed snapshot.
    pub cursor: u64,
    /// From the service, or from a cache file that passed its check. Until then the engine is
    /// closed: every `hdfs:` and `hive:` key is denied (`DenyReason::NoSnapshot`).
    pub verified: bool,
    /// Zone resources and grants, each stored at its own key.
    index: Trie<Entry>,
    /// What this snapshot holds as the service sent it: the zones (the follower keeps them when
    /// a new list is unreadable) and the live grants (expired ones left out), which the
    /// follower saves to the cache file.
    pub zones: Arc<Vec<wire::Zone>>,
    pub grants: Grants,
}

/// The grants of a snapshot by id, each as the service signed it and as the decision reads it.
/// Persistent maps: a snapshot with a grant more or less shares the rest with the one before.
#[derive(Clone, Default)]
pub struct Grants {
    /// Also for running queries that ask whether their grants still hold. FxHash: the ids are
    /// the service's, and a fixed hash keeps the work of a change the same from run to run.
    by_id: HashTrieMapSync<Arc<str>, Arc<Held>, rustc_hash::FxBuildHasher>,
    /// (expires_at, id): the expired are found without looking at the rest.
    by_expiry: RedBlackTreeSetSync<(i64, Arc<str>)>,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(|g| &g.id)).finish()
    }
}

#[derive(Debug)]
struct Held {
    rule: Arc<GrantRule>,
    grant: wire::Grant,
}

impl Grants {
    pub fn len(&self) -> usize {
        self.by_id.size()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The grants as the service sent them, signatures included; in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &wire::Grant> {
        self.by_id.values().map(|h| &h.grant)
    }

    fn rule(&self, id: &str) -> Option<&Arc<GrantRule>> {
        self.by_id.get(id).map(|h| &h.rule)
    }

    fn insert(&mut self, rule: Arc<GrantRule>, grant: wire::Grant) {
        self.by_expiry
            .insert_mut((rule.expires_at, rule.id.clone()));
        self.by_id
            .insert_mut(rule.id.clone(), Arc::new(Held { rule, grant }));
    }

    fn remove(&mut self, id: &str) -> Option<Arc<Held>> {
        let held = self.by_id.get(id)?.clone();
        self.by_id.remove_mut(id);
        self.by_expiry
            .remove_mut(&(held.rule.expires_at, held.rule.id.clone()));
        Some(held)
    }

    /// The id of a grant expired at `now`, if any.
    fn expired(&self, now: i64) -> Option<Arc<str>> {
        self.by_expiry
            .first()
            .filter(|(expires_at, _)| *expires_at <= now)
            .map(|(_, id)| id.clone())
    }
}

/// What lies at one resource key: the zones naming it, and each user's grants naming it.
/// A clone (made when a change touches the key) copies pointers to the users' lists.
#[derive(Clone)]
struct Entry {
    key: Arc<str>,
    zones: Vec<Arc<str>>,
    /// user → grants. FxHash: the users come from the service's grants, and a decision hashes
    /// one short name per entry it meets, where SipHash would cost most of the decision.
    grants: HashMap<Arc<str>, Arc<Vec<Arc<GrantRule>>>>,
}

impl Entry {
    fn new(key: &str) -> Entry {
        Entry {
            key: Arc::from(key),
            zones: Vec::new(),
            grants: HashMap::default(),
        }
    }

    #[inline(always)]
    fn grants_of(&self, user: &str) -> &[Arc<GrantRule>] {
        if self.grants.is_empty() {
            return &[];
        }
        self.grants.get(user).map_or(&[], |g| g.as_slice())
    }

    /// Takes the grant `id` of `user` away; whether the entry still holds anything.
    fn forget(&mut self, user: &str, id: &str) -> bool {
        if let Some(held) = self.grants.get_mut(user) {
            Arc::make_mut(held).retain(|g| &*g.id != id);
            if held.is_empty() {
                self.grants.remove(user);
            }
        }
        !self.zones.is_empty() || !self.grants.is_empty()
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("zones", &self.zones)
            .field("users", &self.grants.len())
            .finish()
    }
}

/// The zone name of `jitgate.fallback.zones` in a snapshot.
pub const FALLBACK_ZONE: &str = "jitgate.fallback.zones";

/// Entries on one path kept by `Snapshot::on_path`: zones and grant keys rarely nest deeper.
const ON_PATH: usize = 8;

/// The index entries on the way to a protected key, outermost first.
pub struct OnPath<'s> {
    entries: [Option<&'s Entry>; ON_PATH],
    /// how many entries are on the way; more than fit, and `decide_on` walks again
    len: usize,
    /// the key itself lies in a zone (else only zones below it make it protected)
    in_zone: bool,
}

/// A grant or zone that could not be read; it is skipped and the rest of the snapshot used.
#[derive(Debug)]
pub struct Skipped(pub String);

impl Snapshot {
    /// Before a verified snapshot arrives: every `hdfs:` and `hive:` key is denied, in a zone or
    /// not, since nothing yet says which are protected.
    pub fn closed() -> Snapshot {
        Snapshot::default()
    }

    /// Builds the indexes of a verified snapshot. The locally configured `fallback` resources are
    /// zones too, whatever the service says (a safety net against a zone list that lost them).
    /// Grants already expired at `now` are left out; anything unreadable is reported in the
    /// second value (a zone resource that can't be read can't be enforced, so the caller logs
    /// it loudly).
    pub fn build(
        cursor: u64,
        zones: Vec<wire::Zone>,
        grants: Vec<wire::Grant>,
        fallback: &[Resource],
        now: i64,
    ) -> (Snapshot, Vec<Skipped>) {
        let mut skipped = vec![];
        let mut index: Trie<Entry> = Trie::default();
        for z in &zones {
            let zone: Arc<str> = Arc::from(z.name.as_str());
            for r in &z.resources {
                match Resource::parse(r) {
                    Ok(res) => {
                        if let Some(e) = index.value_mut(res.key(), || Entry::new(res.key())) {
                            e.zones.push(zone.clone());
                        }
                    }
                    Err(e) => skipped.push(Skipped(format!("zone {}: {e}", z.name))),
                }
            }
        }
        // after the service's zones, so `zone_of` names theirs where both name a key
        let fallback_zone: Arc<str> = Arc::from(FALLBACK_ZONE);
        for r in fallback {
            if let Some(e) = index.value_mut(r.key(), || Entry::new(r.key())) {
                e.zones.push(fallback_zone.clone());
            }
        }
        let mut s = Snapshot {
            cursor,
            verified: true,
            index,
            zones: Arc::new(zones),
            grants: Grants::default(),
        };
        for g in grants {
            s.add(g, now, &mut skipped);
        }
        (s, skipped)
    }

    /// This snapshot with a feed's changes, at `cursor`: `grants` issued, the `revoked` ids
    /// gone, and grants expired at `now` forgotten. It shares all the rest with `self`, which
    /// stays whole for the decisions still reading it, so a change of k grants costs their
    /// paths through the index and O(k log n) in the maps by id, not a rebuild. Decides as
    /// `build` would from the grants it holds; the zones stay (a new list means a new build).
    pub fn apply(
        &self,
        cursor: u64,
        grants: Vec<wire::Grant>,
        revoked: &[String],
        now: i64,
    ) -> (Snapshot, Vec<Skipped>) {
        let mut s = self.clone();
        s.cursor = cursor;
        let mut skipped = vec![];
        for g in grants {
            s.add(g, now, &mut skipped);
        }
        for id in revoked {
            s.remove(id);
        }
        while let Some(id) = s.grants.expired(now) {
            s.remove(&id);
        }
        (s, skipped)
    }

    /// Indexes `g` (replacing a grant of the same id) unless it has expired at `now`; anything
    /// unreadable is reported in `skipped`.
    fn add(&mut self, g: wire::Grant, now: i64, skipped: &mut Vec<Skipped>) {
        self.remove(&g.id);
        let rule = match grant_rule(&g) {
            Ok(rule) => rule,
            Err(e) => {
                skipped.push(Skipped(format!("grant {}: {e}", g.id)));
                return;
            }
        };
        if rule.expires_at <= now {
            return;
        }
        let rule = Arc::new(rule);
        let user: Arc<str> = Arc::from(g.user.as_str());
        for r in &g.resources {
            match Resource::parse(r) {
                Ok(res) => self.index.update(
                    res.key(),
                    || Entry::new(res.key()),
                    |e| {
                        let held = e.grants.entry(user.clone()).or_default();
                        Arc::make_mut(held).push(rule.clone());
                        true
                    },
                ),
                Err(e) => skipped.push(Skipped(format!("grant {}: {e}", g.id))),
            }
        }
        self.grants.insert(rule, g);
    }

    /// Takes the grant `id` out of the index, if it is there.
    fn remove(&mut self, id: &str) {
        let Some(held) = self.grants.remove(id) else {
            return;
        };
        for r in &held.grant.resources {
            if let Ok(res) = Resource::parse(r) {
                self.index.update(
                    res.key(),
                    || Entry::new(res.key()),
                    |e| e.forget(&held.grant.user, id),
                );
            }
        }
    }

    /// What an access to `key` meets on its way through the index; None when it needs no grant:
    /// `key` lies in no zone and, with `subtree`, no zone lies below it either (deleting or
    /// renaming `/lake` touches the zone `/lake/sales`). A bridge that reads the user only for
    /// protected keys asks this first and decides with it, walking the index once.
    #[inline]
    pub fn on_path(&self, key: &str, subtree: bool) -> Option<OnPath<'_>> {
        let mut p = OnPath {
            entries: [None; ON_PATH],
            len: 0,
            in_zone: !self.verified,
        };
        if !self.verified {
            return Some(p); // every key is protected, and denied, until a snapshot is verified
        }
        self.index.any_on_path(key, |e| {
            let e = &e[0];
            p.in_zone |= !e.zones.is_empty();
            if let Some(slot) = p.entries.get_mut(p.len) {
                *slot = Some(e);
            }
            p.len += 1;
            false
        });
        (p.in_zone || (subtree && self.zone_below(key))).then_some(p)
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
        match self.on_path(key, subtree) {
            Some(p) => self.decide_on(&p, user, key, actions, subtree, now),
            None => Decision::NotProtected,
        }
    }

    /// `decide` for a key whose `on_path` the caller holds.
    #[inline]
    pub fn decide_on<'s>(
        &'s self,
        p: &OnPath<'s>,
        user: &str,
        key: &str,
        actions: ActionSet,
        subtree: bool,
        now: i64,
    ) -> Decision<&'s Arc<GrantRule>> {
        // Do this user's grants on the way cover the actions (several may cover different ones)?
        let (mut need, mut covered) = (actions, None);
        let mut cover = |e: &'s Entry| {
            for g in e.grants_of(user) {
                if !g.single_use && g.actions.0 & need.0 != 0 && g.active(now) {
                    need = ActionSet(need.0 & !g.actions.0);
                    covered = covered.or(Some(g));
                }
            }
        };
        match p.entries.get(..p.len) {
            Some(entries) => entries.iter().flatten().for_each(|e| cover(e)),
            None => {
                self.index.any_on_path(key, |e| {
                    cover(&e[0]);
                    false
                });
            }
        }
        let in_zone = p.in_zone;
        if !self.verified {
            return Decision::Deny(DenyReason::NoSnapshot);
        }
        if actions.is_empty() {
            return Decision::Deny(DenyReason::BadInput);
        }
        let mut allowed_by = if in_zone {
            match (need.is_empty(), covered) {
                (true, Some(g)) => Some(g),
                _ => return Decision::Deny(DenyReason::NoGrant),
            }
        } else {
            None
        };
        if subtree {
            // Every zone below must be covered as well (a grant on `key` covers them already).
            let uncovered = self.index.any_below(key, |zone| {
                if zone.zones.is_empty() {
                    return false;
                }
                match self.covering_grant(user, &zone.key, actions, now) {
                    Some(g) => {
                        allowed_by = allowed_by.or(Some(g));
                        false
                    }
                    None => true,
                }
            });
            if uncovered {
                return Decision::Deny(DenyReason::NoGrant);
            }
        }
        match allowed_by {
            Some(grant) => Decision::Allow(grant),
            None => Decision::Deny(DenyReason::NoGrant),
        }
    }

    /// A grant (not single-use) of `user` covering every one of `actions` on `key`, alone or
    /// with others; the first of them is returned.
    fn covering_grant(
        &self,
        user: &str,
        key: &str,
        actions: ActionSet,
        now: i64,
    ) -> Option<&Arc<GrantRule>> {
        let mut need = actions;
        let mut first = None;
        self.index.any_on_path(key, |e| {
            for g in e[0].grants_of(user) {
                if !g.single_use && g.actions.0 & need.0 != 0 && g.active(now) {
                    need = ActionSet(need.0 & !g.actions.0);
                    first = first.or(Some(g));
                }
            }
            need.is_empty()
        });
        first.filter(|_| need.is_empty())
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
        let mut found = None;
        self.index.any_on_path(key, |e| {
            found = e[0]
                .grants_of(user)
                .iter()
                .find(|g| g.single_use && g.actions.contains(actions) && g.active(now));
            found.is_some()
        });
        found
    }

    /// The name of the innermost zone `key` lies in.
    pub fn zone_of(&self, key: &str) -> Option<&Arc<str>> {
        let mut innermost = None;
        self.index.any_on_path(key, |e| {
            innermost = e[0].zones.first().or(innermost);
            false
        });
        innermost
    }

    /// Whether `key` lies in the zone named `zone` (at any depth of nesting).
    pub fn in_zone(&self, key: &str, zone: &str) -> bool {
        self.index
            .any_on_path(key, |e| e[0].zones.iter().any(|z| &**z == zone))
    }

    /// Whether moving what lies at `from` to `to` takes protected data out of a zone: `to` lies
    /// outside `from`'s innermost zone, or outside a zone below `from` (which moves along).
    pub fn leaves(&self, from: &str, to: &str) -> bool {
        let outside = |zone: &str| !self.in_zone(to, zone);
        self.zone_of(from).is_some_and(|z| outside(z))
            || self
                .index
                .any_below(from, |e| e.zones.iter().any(|z| outside(z)))
    }

    /// Whether a zone lies strictly below `key`.
    pub fn zone_below(&self, key: &str) -> bool {
        self.index.any_below(key, |e| !e.zones.is_empty())
    }

    /// Whether the grant `id` is in this snapshot and inside its time window at `now`.
    pub fn grant_live(&self, id: &str, now: i64) -> bool {
        self.grants.rule(id).is_some_and(|g| g.active(now))
    }
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
            signature: None,
        }
    }

    fn snap(grants: Vec<wire::Grant>) -> Snapshot {
        let zones = vec![zone(&["hdfs:/lake/sales", "hive:sales.*"])];
        let (s, skipped) = Snapshot::build(1, zones, grants, &[], NOW);
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
            matches!(allowed, Decision::Allow(g) if &*g.id == "g1"),
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
    fn grants_deeper_than_on_path_keeps_are_still_found() {
        // a grant at each of 20 nested keys under the zone, alice's at the deepest: more entries
        // on the way than `OnPath` holds, so the decision walks again for them
        let mut key = "hdfs:/lake/sales".to_string();
        let mut grants = vec![];
        for i in 0..20 {
            key.push_str(&format!("/d{i}"));
            let user = if i == 19 { "alice" } else { "bob" };
            grants.push(grant(
                &format!("g{i}"),
                user,
                &key,
                &["read"],
                NOW - 1,
                NOW + 1,
            ));
        }
        let s = snap(grants);
        let deep = format!("{key}/part-0");
        let p = s.on_path(&deep, false).expect("protected");
        assert!(p.len > ON_PATH);
        assert!(matches!(
            s.decide_on(&p, "alice", &deep, READ, false, NOW),
            Decision::Allow(g) if &*g.id == "g19"
        ));
        assert_eq!(
            s.decide("alice", &deep, WRITE, false, NOW),
            Decision::Deny(DenyReason::NoGrant)
        );
        let shallow = "hdfs:/lake/sales/d0/d1/x";
        assert!(s.on_path(shallow, false).unwrap().len <= ON_PATH);
        assert_eq!(
            s.decide("alice", shallow, READ, false, NOW),
            Decision::Deny(DenyReason::NoGrant)
        );
        assert!(s.on_path("hdfs:/lake/other", false).is_none());
        assert!(
            s.on_path("hdfs:/lake", true).is_some(),
            "a zone below a subtree access"
        );
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
    fn a_move_leaves_when_its_destination_is_outside_a_zone_it_carries() {
        let mut outer = zone(&["hdfs:/lake"]);
        outer.name = "lake".into();
        let (s, _) = Snapshot::build(
            1,
            vec![outer, zone(&["hdfs:/lake/sales"])],
            vec![],
            &[],
            NOW,
        );
        let leaves = |from, to| s.leaves(from, to);
        assert!(leaves(
            "hdfs:/lake/sales/x",
            "hdfs:/user/alice/.Trash/Current/lake/sales/x"
        ));
        assert!(
            leaves("hdfs:/lake/sales/x", "hdfs:/lake/other/x"),
            "out of the inner zone"
        );
        assert!(
            !leaves("hdfs:/lake/sales/x", "hdfs:/lake/sales/y/x"),
            "within the zone"
        );
        assert!(
            !leaves("hdfs:/lake/other/x", "hdfs:/lake/sales/x"),
            "into a nested zone"
        );
        assert!(
            leaves("hdfs:/lake", "hdfs:/lake2"),
            "the zones below move along"
        );
        assert!(!leaves("hdfs:/open/x", "hdfs:/open/y"));
    }

    #[test]
    fn the_closed_snapshot_denies_every_hdfs_and_hive_key() {
        let s = Snapshot::closed();
        for key in [
            "hdfs:/lake/sales/x",
            "hdfs:/tmp/x",
            "hdfs:/",
            "hive:other.t",
        ] {
            assert_eq!(
                s.decide("alice", key, READ, false, NOW),
                Decision::Deny(DenyReason::NoSnapshot),
                "{key}"
            );
        }
        assert!(!s.grant_live("g1", NOW));
    }

    #[test]
    fn fallback_zones_stay_zones_whatever_the_service_says() {
        let fallback = [Resource::parse("hdfs:/lake/sales").unwrap()];
        let lost = Snapshot::build(2, vec![], vec![], &fallback, NOW).0;
        assert_eq!(
            lost.decide("alice", "hdfs:/lake/sales/x", READ, false, NOW),
            Decision::Deny(DenyReason::NoGrant),
            "a zone list without the zone does not open it"
        );
        assert_eq!(
            lost.decide("alice", "hdfs:/tmp/x", READ, false, NOW),
            Decision::NotProtected
        );
        let g = grant(
            "g1",
            "alice",
            "hdfs:/lake/sales",
            &["read"],
            NOW,
            NOW + 60_000,
        );
        let both = Snapshot::build(
            3,
            vec![zone(&["hdfs:/lake/sales"])],
            vec![g],
            &fallback,
            NOW,
        )
        .0;
        assert!(matches!(
            both.decide("alice", "hdfs:/lake/sales/x", READ, false, NOW),
            Decision::Allow(_)
        ));
        assert_eq!(
            both.zone_of("hdfs:/lake/sales/x").map(|z| &**z),
            Some("sales")
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
            &[],
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
        let (s, skipped) = Snapshot::build(1, zones, vec![old, bad], &[], NOW);
        assert_eq!(s.grants.len(), 0);
        assert_eq!(skipped.len(), 1);
    }

    /// A small seeded generator (xorshift64*), so a failing sequence comes back with its seed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
        }

        fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
            of[self.below(of.len())]
        }
    }

    const USERS: &[&str] = &["alice", "bob", "carol"];
    const KEYS: &[&str] = &[
        "hdfs:/lake",
        "hdfs:/lake/sales",
        "hdfs:/lake/sales/orders",
        "hdfs:/lake/sales/orders/2026/part-0",
        "hdfs:/lake/sales/secret",
        "hdfs:/lake/sales/secret/x",
        "hdfs:/lake/hr/people",
        "hdfs:/lake/other",
        "hdfs:/open/x",
        "hive:sales",
        "hive:sales.orders",
        "hive:sales.orders.amount",
        "hive:other.t",
    ];

    /// Everything a decision can ask of `s` about `KEYS`, at `now`: for a subtree access only
    /// the code, since which of several zones below names the allowing grant is the tree's
    /// order of visit.
    fn answers(s: &Snapshot, now: i64) -> Vec<String> {
        let mut out = vec![];
        for key in KEYS {
            out.push(format!("{key} zone {:?}", s.zone_of(key)));
            for user in USERS {
                for actions in [1, 2, 3, 4, 9, 15] {
                    let actions = ActionSet(actions);
                    for subtree in [false, true] {
                        let d = s.decide(user, key, actions, subtree, now);
                        let by = match (&d, subtree) {
                            (Decision::Allow(g), false) => g.id.to_string(),
                            _ => String::new(),
                        };
                        out.push(format!(
                            "{user} {key} {actions:?} {subtree}: {} {by}",
                            d.code()
                        ));
                    }
                    let single = s.single_use_grant(user, key, actions, now);
                    out.push(format!(
                        "{user} {key} {actions:?} single {:?}",
                        single.map(|g| &g.id)
                    ));
                }
            }
        }
        for i in 0..30 {
            out.push(format!("g{i} live {}", s.grant_live(&format!("g{i}"), now)));
        }
        out.push(format!("held {}", s.grants.len()));
        out
    }

    /// Fails with the first answer that differs, not a thousand lines of them.
    fn same(got: Vec<String>, want: Vec<String>, what: &str) {
        if let Some((g, w)) = got.iter().zip(&want).find(|(g, w)| g != w) {
            panic!("{what}: {g} where a fresh build says {w}");
        }
        assert_eq!(got.len(), want.len(), "{what}");
    }

    #[test]
    fn a_snapshot_changed_by_deltas_decides_as_one_built_from_its_grants() {
        let mut lake = zone(&["hdfs:/lake"]);
        lake.name = "lake".into();
        let mut secret = zone(&["hdfs:/lake/sales/secret", "hive:sales.orders"]);
        secret.name = "secret".into();
        let zones = vec![lake, zone(&["hdfs:/lake/sales", "hive:sales.*"]), secret];
        let fallback = [Resource::parse("hdfs:/lake/hr").unwrap()];
        for seed in 1..=8u64 {
            let mut rng = Rng(seed * 0x9e37_79b9_7f4a_7c15);
            let (mut s, _) = Snapshot::build(1, zones.clone(), vec![], &fallback, NOW);
            // what the service has issued and not revoked, in the order issued
            let mut issued: Vec<wire::Grant> = vec![];
            for step in 0..80i64 {
                let now = NOW + step * 10;
                let mut new = vec![];
                for _ in 0..rng.below(4) {
                    let actions: Vec<&str> = ["read", "write", "export", "transform"]
                        .into_iter()
                        .filter(|_| rng.below(2) == 0)
                        .collect();
                    let from = now - rng.below(50) as i64 + (rng.below(4) == 0) as i64 * 100;
                    let mut g = grant(
                        &format!("g{}", rng.below(30)),
                        rng.pick(USERS),
                        rng.pick(KEYS),
                        &actions,
                        from,
                        now + rng.below(400) as i64,
                    );
                    g.single_use = rng.below(6) == 0;
                    match rng.below(12) {
                        0 => g.resources.push("nonsense".into()),
                        1 => g.expires_at = "later".into(),
                        2 => g.resources.push(rng.pick(KEYS).into()),
                        _ => {}
                    }
                    new.push(g);
                }
                let revoked: Vec<String> = (0..rng.below(3))
                    .map(|_| format!("g{}", rng.below(30)))
                    .collect();
                for g in &new {
                    issued.retain(|held| held.id != g.id);
                    issued.push(g.clone());
                }
                issued.retain(|g| !revoked.contains(&g.id));

                let before = answers(&s, now);
                let (next, _) = s.apply(step as u64 + 2, new, &revoked, now);
                assert_eq!(
                    answers(&s, now),
                    before,
                    "seed {seed} step {step}: the old snapshot changed"
                );
                let (fresh, _) = Snapshot::build(
                    step as u64 + 2,
                    zones.clone(),
                    issued.clone(),
                    &fallback,
                    now,
                );
                for at in [now, now + 150] {
                    let what = format!("seed {seed} step {step} at +{}", at - now);
                    same(answers(&next, at), answers(&fresh, at), &what);
                }
                s = next;
            }
        }
    }

    #[test]
    fn revoking_one_grant_among_100000_takes_effect() {
        let part = "hdfs:/lake/sales/orders/part-0";
        let mut grants: Vec<wire::Grant> = (0..100_000)
            .map(|i| {
                let res = format!("hdfs:/lake/sales/t{}", i % 100);
                grant(
                    &format!("g{i}"),
                    &format!("u{}", i % 5000),
                    &res,
                    &["read"],
                    NOW,
                    NOW + 60_000,
                )
            })
            .collect();
        grants.push(grant(
            "g-alice",
            "alice",
            "hdfs:/lake/sales/orders",
            &["read"],
            NOW,
            NOW + 60_000,
        ));
        let s = snap(grants);
        assert!(matches!(
            s.decide("alice", part, READ, false, NOW),
            Decision::Allow(_)
        ));

        let (after, _) = s.apply(2, vec![], &["g-alice".into()], NOW);
        assert_eq!(
            after.decide("alice", part, READ, false, NOW),
            Decision::Deny(DenyReason::NoGrant)
        );
        assert!(!after.grant_live("g-alice", NOW));
        assert_eq!(after.grants.len(), 100_000);
        assert!(matches!(
            after.decide("u7", "hdfs:/lake/sales/t7/x", READ, false, NOW),
            Decision::Allow(g) if &*g.id == "g7"
        ));
        assert!(
            matches!(
                s.decide("alice", part, READ, false, NOW),
                Decision::Allow(_)
            ),
            "decisions still reading the old snapshot see it whole"
        );
    }
}
