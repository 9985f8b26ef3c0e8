//! The query rule: one decision for everything a query touches, as the snapshot gives it. Each
//! access needs its actions on what it names and on every zone below it (a query reads a
//! table's directory with its subdirectories, and overwrites or drops a directory whole; a glob
//! reaches the subtree of its glob-free prefix); protected data read by a query that writes
//! anywhere outside the data's zone needs export as well; a base table read through a view of
//! its own zone is covered by the view's decision; a single-use grant covers an access no other
//! grant does. Nothing here records or consumes: `Engine::check` does, with this answer.

use std::borrow::Cow;
use std::sync::Arc;

use crate::model::{canonical_key, Action, ActionSet};
use crate::places;
use crate::snapshot::{Decision, DenyReason, GrantRule, Snapshot};

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

/// A protected access the snapshot allows: the key it is decided on, the actions it needs
/// there (export added where the query takes the data out of its zone), the grant covering it.
#[derive(Debug, Clone, PartialEq)]
pub struct Covered<'q, 's> {
    pub key: Cow<'q, str>,
    pub actions: ActionSet,
    pub grant: &'s Arc<GrantRule>,
}

/// What the snapshot says of a query, before anything is recorded or consumed.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<'q, 's> {
    /// No access is in a zone.
    NotProtected,
    /// Every protected access is covered, in the query's order. `single_use` names, once each,
    /// the single-use grants among theirs: the query may rely on them only once it consumed them.
    Covered {
        accesses: Vec<Covered<'q, 's>>,
        single_use: Vec<&'s Arc<GrantRule>>,
    },
    /// The first access denied: what it names (its key, or the text passed when it has none),
    /// the actions it needed, why.
    Denied(Cow<'q, str>, ActionSet, DenyReason),
}

/// Decides everything `user`'s query touches at `now`.
pub fn decide<'q, 's>(
    snap: &'s Snapshot,
    user: &str,
    accesses: &[QueryAccess<'q>],
    now: i64,
) -> Answer<'q, 's> {
    // Each resource read once: its key (glob-free), or None for a place outside every zone.
    let keys: Vec<Result<Option<Cow<'q, str>>, ()>> = accesses
        .iter()
        .map(|a| match canonical_key(a.resource) {
            Ok(key) => Ok(Some(glob_free(key))),
            Err(_) if places::outside_every_zone(a.resource) => Ok(None),
            Err(_) => Err(()),
        })
        .collect();
    let unreadable = |a: &QueryAccess<'q>| {
        Answer::Denied(Cow::Borrowed(a.resource), a.actions, DenyReason::BadInput)
    };
    // Outputs first: where the query writes decides which inputs leave their zone.
    let mut outputs: Vec<Option<&str>> = vec![];
    for (a, key) in accesses.iter().zip(&keys) {
        if a.output {
            match key {
                Ok(key) => outputs.push(key.as_deref()),
                Err(()) => return unreadable(a),
            }
        }
    }
    let mut covered = vec![];
    let mut single_use: Vec<&Arc<GrantRule>> = vec![];
    for (a, key) in accesses.iter().zip(&keys) {
        let key = match key {
            Ok(Some(key)) => key,
            Ok(None) => continue, // a place outside every zone (`file:`, `s3a:`)
            Err(()) => return unreadable(a),
        };
        if !a.output && read_through_own_view(snap, key, a.via) {
            continue;
        }
        let Some(on_path) = snap.on_path(key, true) else {
            continue;
        };
        if a.actions.is_empty() {
            return Answer::Denied(key.clone(), a.actions, DenyReason::Unmapped);
        }
        let mut actions = a.actions;
        if !a.output {
            let leaves = outputs.iter().any(|o| match o {
                Some(out) => snap.leaves(key, out),
                None => true,
            });
            if leaves {
                actions = actions.with(Action::Export);
            }
        }
        let grant = match snap.decide_on(&on_path, user, key, actions, true, now) {
            Decision::Allow(g) => g,
            // A single-use grant covers one key, never zones below it.
            Decision::Deny(DenyReason::NoGrant) if !snap.zone_below(key) => {
                match snap.single_use_grant(user, key, actions, now) {
                    Some(g) => {
                        if !single_use.iter().any(|u| u.id == g.id) {
                            single_use.push(g);
                        }
                        g
                    }
                    None => return Answer::Denied(key.clone(), actions, DenyReason::NoGrant),
                }
            }
            Decision::Deny(reason) => return Answer::Denied(key.clone(), actions, reason),
            Decision::NotProtected => continue,
        };
        covered.push(Covered {
            key: key.clone(),
            actions,
            grant,
        });
    }
    if covered.is_empty() {
        Answer::NotProtected
    } else {
        Answer::Covered {
            accesses: covered,
            single_use,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    const NOW: i64 = 1_800_000_000_000;

    /// The zones `sales` (`hdfs:/lake/sales`, with `hive:sales.*`) and `hr` (`hdfs:/hr`,
    /// and `hdfs:/lake/sales/payroll` nested in sales), and `grants` as (id, user, resource,
    /// actions, single use).
    fn snapshot(grants: &[(&str, &str, &str, &[&str], bool)]) -> Snapshot {
        let zone = |name: &str, resources: &[&str]| wire::Zone {
            name: name.into(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
            approvers: vec![],
            approvals: 1,
            actions: vec![],
            max_duration: "15m".into(),
        };
        let zones = vec![
            zone("sales", &["hdfs:/lake/sales", "hive:sales.*"]),
            zone("hr", &["hdfs:/hr", "hdfs:/lake/sales/payroll"]),
        ];
        let grants = grants
            .iter()
            .map(|(id, user, resource, actions, single_use)| wire::Grant {
                id: id.to_string(),
                request_id: format!("r-{id}"),
                user: user.to_string(),
                resources: vec![resource.to_string()],
                actions: actions.iter().map(|a| a.to_string()).collect(),
                not_before: wire::format_time(NOW - 1000),
                expires_at: wire::format_time(NOW + 600_000),
                approvers: vec![],
                single_use: *single_use,
                signature: None,
            })
            .collect();
        let (s, skipped) = Snapshot::build(1, zones, grants, &[], NOW);
        assert!(skipped.is_empty());
        s
    }

    fn read(resource: &str) -> QueryAccess<'_> {
        QueryAccess {
            resource,
            actions: ActionSet(Action::Read as u8),
            output: false,
            via: None,
        }
    }

    fn write(resource: &str) -> QueryAccess<'_> {
        QueryAccess {
            resource,
            actions: ActionSet(Action::Write as u8),
            output: true,
            via: None,
        }
    }

    /// The answer as (code, key, actions) of a denial, or the grant ids covering each access.
    fn ask(
        snap: &Snapshot,
        accesses: &[QueryAccess],
    ) -> Result<Vec<String>, (DenyReason, String, u8)> {
        match decide(snap, "alice", accesses, NOW) {
            Answer::NotProtected => Ok(vec![]),
            Answer::Covered { accesses, .. } => {
                Ok(accesses.iter().map(|c| c.grant.id.to_string()).collect())
            }
            Answer::Denied(key, actions, reason) => Err((reason, key.into_owned(), actions.0)),
        }
    }

    #[test]
    fn a_query_outside_every_zone_is_not_protected() {
        let snap = snapshot(&[]);
        assert_eq!(
            ask(
                &snap,
                &[
                    read("hdfs:/open/x"),
                    write("file:/tmp/out"),
                    write("s3a://b/k")
                ]
            ),
            Ok(vec![])
        );
    }

    #[test]
    fn protected_data_written_outside_its_zone_needs_export() {
        let snap = snapshot(&[(
            "g-1",
            "alice",
            "hdfs:/lake/sales",
            &["read", "write"],
            false,
        )]);
        let inside = [
            read("hdfs:/lake/sales/orders"),
            write("hdfs:/lake/sales/copy"),
        ];
        assert_eq!(ask(&snap, &inside), Ok(vec!["g-1".into(), "g-1".into()]));
        let outside = [read("hdfs:/lake/sales/orders"), write("hdfs:/open/copy")];
        assert_eq!(
            ask(&snap, &outside),
            Err((DenyReason::NoGrant, "hdfs:/lake/sales/orders".into(), 5)),
            "read and export"
        );
        let elsewhere = [read("hdfs:/lake/sales/orders"), write("file:/tmp/copy")];
        assert!(
            ask(&snap, &elsewhere).is_err(),
            "a place jitgate does not govern"
        );
    }

    #[test]
    fn a_read_reaches_zones_below_and_a_glob_its_prefixs_subtree() {
        let snap = snapshot(&[("g-1", "alice", "hdfs:/lake/sales", &["read"], false)]);
        assert_eq!(
            ask(&snap, &[read("hdfs:/lake/sales/orders")]),
            Ok(vec!["g-1".into()])
        );
        assert_eq!(
            ask(&snap, &[read("hdfs:/lake")]),
            Ok(vec!["g-1".into()]),
            "sales lies below, and payroll inside it"
        );
        assert_eq!(
            ask(&snap, &[read("hdfs:/")]),
            Err((DenyReason::NoGrant, "hdfs:/".into(), 1)),
            "hr lies below too"
        );
        assert_eq!(
            ask(&snap, &[read("hdfs:/l*/sales/orders")]),
            Err((DenyReason::NoGrant, "hdfs:/".into(), 1)),
            "decided on the glob-free prefix"
        );
    }

    #[test]
    fn a_view_covers_base_tables_of_its_own_zone_only() {
        let snap = snapshot(&[("g-1", "alice", "hive:sales.v", &["read"], false)]);
        let through = |table| QueryAccess {
            via: Some("hive:sales.v"),
            ..read(table)
        };
        assert_eq!(
            ask(&snap, &[read("hive:sales.v"), through("hive:sales.orders")]),
            Ok(vec!["g-1".into()])
        );
        assert_eq!(
            ask(&snap, &[read("hive:sales.v"), through("hdfs:/hr/pay")]),
            Err((DenyReason::NoGrant, "hdfs:/hr/pay".into(), 1)),
            "a base table of another zone needs its own grant"
        );
    }

    #[test]
    fn an_unmapped_operation_is_denied_in_a_zone_and_ignored_outside() {
        let snap = snapshot(&[]);
        let unmapped = |resource| QueryAccess {
            actions: ActionSet::default(),
            ..read(resource)
        };
        assert_eq!(ask(&snap, &[unmapped("hdfs:/open/x")]), Ok(vec![]));
        assert_eq!(
            ask(&snap, &[unmapped("hive:sales.t")]),
            Err((DenyReason::Unmapped, "hive:sales.t".into(), 0))
        );
    }

    #[test]
    fn an_unreadable_resource_is_bad_input_and_an_unreadable_output_comes_first() {
        let snap = snapshot(&[]);
        assert_eq!(
            ask(
                &snap,
                &[read("hive:sales.t"), read("viewfs://c/lake/sales")]
            ),
            Err((DenyReason::NoGrant, "hive:sales.t".into(), 1)),
            "inputs in the query's order"
        );
        assert_eq!(
            ask(&snap, &[read("hive:sales.t"), write("webhdfs://nn/x")]),
            Err((DenyReason::BadInput, "webhdfs://nn/x".into(), 2))
        );
    }

    #[test]
    fn a_single_use_grant_covers_what_no_other_does_and_is_named_once() {
        let snap = snapshot(&[("g-1", "alice", "hive:sales.t", &["read"], true)]);
        match decide(
            &snap,
            "alice",
            &[read("hive:sales.t"), read("hive:sales.t")],
            NOW,
        ) {
            Answer::Covered {
                accesses,
                single_use,
            } => {
                assert_eq!(accesses.len(), 2);
                assert_eq!(single_use.len(), 1);
                assert_eq!(&*single_use[0].id, "g-1");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            ask(&snap, &[read("hive:sales.u")]).is_err(),
            "it covers only its own resource"
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
}
