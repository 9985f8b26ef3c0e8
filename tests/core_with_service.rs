//! The decision core following a real `jitgate serve` process: approval, revocation, expiry,
//! restart from the cached snapshot while the service is down, and the audit trail.

mod common;

use std::time::Duration;

use common::{eventually, plugin_config, Service};
use jitgate::query::{QueryAccess, Verdict};
use jitgate::{Access, ActionSet, Config, Decision, DenyReason, Engine};

const READ: ActionSet = ActionSet(1);
const WAIT: Duration = Duration::from_secs(20);

fn engine(svc_url: &str, dir: &std::path::Path, extra: &str) -> Engine {
    let config = plugin_config(
        svc_url,
        dir,
        &format!("jitgate.feed.wait.seconds=5\n{extra}"),
    );
    Engine::start(Config::parse(&config).unwrap()).unwrap()
}

fn read(e: &Engine, user: &str, resource: &str) -> Decision {
    e.decide(&Access {
        user,
        resource,
        actions: READ,
        subtree: false,
        operation: Some("open"),
        context: None,
    })
}

/// The follower saves a snapshot just after installing it; a test that starts the next engine from
/// the cache waits for the file.
fn wait_saved(dir: &std::path::Path, grant: &str) {
    let saved = dir.join("cache").join("snapshot.json");
    eventually(WAIT, "snapshot with the grant saved", || {
        std::fs::read_to_string(&saved)
            .is_ok_and(|s| s.contains(grant))
            .then_some(())
    });
}

fn allowed(d: &Decision) -> bool {
    matches!(d, Decision::Allow(_))
}

/// Waits until the engine holds a snapshot it verified.
fn wait_verified(e: &Engine) {
    eventually(WAIT, "first snapshot", || {
        e.snapshot().verified.then_some(())
    });
}

/// Asks for and approves `actions` on `resource` for `user`, and waits until the engine has the grant.
fn grant_arrived(
    svc: &Service,
    e: &Engine,
    user: &str,
    resource: &str,
    actions: &[&str],
    duration: &str,
) -> String {
    let grant = svc.approve(&svc.request(user, resource, actions, duration));
    eventually(WAIT, "grant to arrive", || {
        e.grant_live(&grant).then_some(())
    });
    grant
}

#[test]
fn approval_revocation_and_audit_reach_the_core() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(tmp.path());
    let e = engine(
        &svc.url,
        tmp.path(),
        "jitgate.fallback.zones=hdfs:/lake/sales",
    );
    let part = "hdfs:/lake/sales/orders/part-0";

    wait_verified(&e);
    assert_eq!(read(&e, "alice", part), Decision::Deny(DenyReason::NoGrant));
    assert_eq!(read(&e, "alice", "hdfs:/open/x"), Decision::NotProtected);

    let request = svc.request("alice", "hdfs:/lake/sales", &["read"], "1m");
    let grant = svc.approve(&request);
    let (_, took) = eventually(WAIT, "approval to arrive", || {
        allowed(&read(&e, "alice", part)).then_some(())
    });
    eprintln!("approval → first allowed decision: {took:?}");
    match read(&e, "alice", part) {
        Decision::Allow(g) => {
            assert_eq!(&*g.id, grant);
            assert_eq!(&*g.request_id, request);
        }
        d => panic!("{d:?}"),
    }
    assert_eq!(
        read(&e, "carol", part),
        Decision::Deny(DenyReason::NoGrant),
        "grants are per user"
    );

    svc.revoke(&grant);
    let (_, took) = eventually(WAIT, "revoke to arrive", || {
        (!allowed(&read(&e, "alice", part))).then_some(())
    });
    eprintln!("revoke → first denied decision: {took:?}");

    let events = eventually(WAIT, "audit events", || {
        let ev = svc.audit("user=alice");
        (ev.iter().any(|v| v["decision"] == "allow") && ev.iter().any(|v| v["decision"] == "deny"))
            .then_some(ev)
    })
    .0;
    let allow = events.iter().find(|v| v["decision"] == "allow").unwrap();
    assert_eq!(allow["grant_id"], grant.as_str());
    assert_eq!(allow["request_id"], request.as_str());
    assert_eq!(allow["resource"], part);
    assert_eq!(allow["action"], "read");
    assert_eq!(allow["plugin"], "test");
    assert_eq!(allow["operation"], "open");
    e.close();
}

#[test]
fn restart_while_service_is_down_keeps_enforcing_and_spilled_audit_is_resent() {
    let tmp = tempfile::tempdir().unwrap();
    let mut svc = Service::start(tmp.path());
    let part = "hdfs:/lake/sales/orders/part-0";
    let grant = {
        let e = engine(&svc.url, tmp.path(), "");
        let grant = svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["read"], "10m"));
        eventually(WAIT, "grant", || {
            allowed(&read(&e, "alice", part)).then_some(())
        });
        wait_saved(tmp.path(), &grant);
        e.close();
        grant
    };
    svc.stop();

    // A new engine with the service gone starts from the saved snapshot.
    let e = engine(
        &svc.url,
        tmp.path(),
        "jitgate.fallback.zones=hdfs:/lake/sales",
    );
    assert!(e.snapshot().verified, "the cached snapshot was loaded");
    assert!(
        allowed(&read(&e, "alice", part)),
        "the cached grant still allows"
    );
    assert_eq!(
        read(&e, "bob", part),
        Decision::Deny(DenyReason::NoGrant),
        "and the zone is still enforced"
    );
    std::thread::sleep(Duration::from_millis(300)); // let the audit worker spill
    let spill = std::fs::read_to_string(tmp.path().join("cache/audit-spill.jsonl")).unwrap();
    assert!(
        spill.contains(&grant),
        "decisions made while the service is down are spilled: {spill}"
    );

    svc.restart();
    let (ev, took) = eventually(WAIT, "spilled events re-sent", || {
        let ev = svc.audit("user=bob");
        (!ev.is_empty()).then_some(ev)
    });
    eprintln!("spilled audit events arrived {took:?} after the service came back");
    assert_eq!(ev[0]["decision"], "deny");
    e.close();
}

#[test]
fn short_grant_is_denied_from_expiry_on_with_the_service_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut svc = Service::start(tmp.path());
    let e = engine(&svc.url, tmp.path(), "");
    let part = "hdfs:/lake/sales/orders/part-0";
    svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["read"], "3s"));
    eventually(WAIT, "grant", || {
        allowed(&read(&e, "alice", part)).then_some(())
    });
    svc.stop();
    let (_, took) = eventually(WAIT, "expiry", || {
        (!allowed(&read(&e, "alice", part))).then_some(())
    });
    assert!(
        took <= Duration::from_secs(4),
        "denied only {took:?} later; the grant lasted 3s"
    );
    assert_eq!(read(&e, "alice", part), Decision::Deny(DenyReason::NoGrant));
    e.close();
}

/// A port nothing listens on: a service that is down.
fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

fn check_read(e: &Engine, user: &str, resource: &str) -> Verdict {
    e.check(
        user,
        &[query(resource, 1, false)],
        Some("QUERY"),
        Some("q-1"),
    )
}

#[test]
fn closed_until_a_verified_snapshot_whatever_the_cache_holds() {
    // A snapshot the service really sent, then saved by the engine that followed it.
    let tmp = tempfile::tempdir().unwrap();
    let mut svc = Service::start(tmp.path());
    {
        let e = engine(&svc.url, tmp.path(), "");
        let grant = svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["read"], "10m"));
        wait_saved(tmp.path(), &grant);
        e.close();
    }
    svc.stop();
    let saved = tmp.path().join("cache/snapshot.json");
    let good = std::fs::read(&saved).unwrap();
    let at = good.windows(11).position(|w| w == b"/lake/sales").unwrap();
    let mut edited = good.clone();
    edited[at + 6] = b'S'; // the zone now names /lake/Sales: parses, protects the wrong path
                           // Edited by someone who also fixes the digest: only the service's signatures tell.
    let mut body = jitgate::cache::decode(&good).unwrap();
    body.zones.as_mut().unwrap()[0].resources[0] = "hdfs:/lake/Sales".into();
    let resigned_zone = jitgate::cache::encode(&body);
    let mut body = jitgate::cache::decode(&good).unwrap();
    body.grants[0].user = "mallory".into();
    let resigned_grant = jitgate::cache::encode(&body);
    let caches: [(&str, Option<&[u8]>); 7] = [
        ("no cache file", None),
        ("garbage", Some(b"\x00\x13garbage")),
        ("truncated", Some(&good[..good.len() / 2])),
        ("an edited zone", Some(&edited)),
        ("an edited zone with its digest fixed", Some(&resigned_zone)),
        ("a grant given to another user", Some(&resigned_grant)),
        ("an empty file", Some(b"")),
    ];
    for (what, bytes) in caches {
        match bytes {
            Some(b) => std::fs::write(&saved, b).unwrap(),
            None => std::fs::remove_file(&saved).unwrap(),
        }
        let e = engine(&dead_url(), tmp.path(), "jitgate.start.wait.millis=100");
        assert!(!e.snapshot().verified, "{what}");
        for key in [
            "hdfs:/lake/sales/orders/part-0",
            "hdfs:/tmp/x",
            "hive:other.t",
        ] {
            assert_eq!(
                read(&e, "alice", key),
                Decision::Deny(DenyReason::NoSnapshot),
                "{what}: {key}"
            );
        }
        assert!(
            matches!(
                check_read(&e, "alice", "hdfs:/tmp/x"),
                Verdict::Deny(_, _, DenyReason::NoSnapshot)
            ),
            "{what}: a query is closed too"
        );
        assert_eq!(
            check_read(&e, "alice", "file:/tmp/x"),
            Verdict::NotProtected,
            "{what}"
        );
        let msg = e.explain("alice", "hdfs:/tmp/x", READ, DenyReason::NoSnapshot as i32);
        assert!(msg.contains("(no grant data yet"), "{msg}");
        e.close();
    }
    // The intact file is enforced as the service last said, with the service still down.
    std::fs::write(&saved, &good).unwrap();
    let e = engine(&dead_url(), tmp.path(), "jitgate.start.wait.millis=100");
    assert!(allowed(&read(
        &e,
        "alice",
        "hdfs:/lake/sales/orders/part-0"
    )));
    assert_eq!(read(&e, "alice", "hdfs:/tmp/x"), Decision::NotProtected);
    e.close();
}

#[test]
fn a_new_engine_decides_its_first_access_with_the_service_s_grants() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(tmp.path());
    let part = "hdfs:/lake/sales/orders/part-0";
    let grant = svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["read"], "10m"));
    for round in 0..3 {
        // a new host each time: no cache, so only the first feed answer can open anything
        let host = tempfile::tempdir().unwrap();
        let e = engine(&svc.url, host.path(), "");
        match read(&e, "alice", part) {
            Decision::Allow(g) => assert_eq!(&*g.id, grant, "round {round}"),
            d => panic!("round {round}: the first decision was {d:?}"),
        }
        assert_eq!(read(&e, "bob", part), Decision::Deny(DenyReason::NoGrant));
        assert_eq!(read(&e, "bob", "hdfs:/open/x"), Decision::NotProtected);
        e.close();
    }
}

#[test]
fn moving_data_out_of_its_zone_needs_export() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(tmp.path());
    let e = engine(&svc.url, tmp.path(), "");
    let transform = ActionSet(8);
    let mv = |user: &str, from: &str, to: &str| {
        let a = Access {
            user,
            resource: from,
            actions: transform,
            subtree: true,
            operation: Some("rename"),
            context: None,
        };
        e.decide_move(&a, to)
    };
    let file = "hdfs:/lake/sales/orders/part-0";
    let trash = "hdfs:/user/alice/.Trash/Current/lake/sales/orders/part-0";
    svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["transform"], "10m"));
    eventually(WAIT, "transform grant", || {
        allowed(&mv("alice", file, "hdfs:/lake/sales/orders/part-9")).then_some(())
    });
    assert_eq!(
        mv("alice", file, trash),
        Decision::Deny(DenyReason::NoGrant),
        "into the trash"
    );
    assert_eq!(
        mv("alice", file, "hdfs:/open/x"),
        Decision::Deny(DenyReason::NoGrant)
    );
    assert_eq!(
        mv("alice", file, "hdfs:/lake/hr/x"),
        Decision::Deny(DenyReason::NoGrant),
        "another zone"
    );
    assert_eq!(
        mv("alice", "hdfs:/lake", "hdfs:/lake2"),
        Decision::Deny(DenyReason::NoGrant),
        "the zone carried"
    );
    assert_eq!(
        mv("alice", "hdfs:/open/a", "hdfs:/open/b"),
        Decision::NotProtected
    );
    assert_eq!(
        mv("alice", "hdfs:/open/a", "hdfs:/lake/sales/a"),
        Decision::NotProtected,
        "moving in is the destination's check"
    );

    svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["export"], "10m"));
    eventually(WAIT, "export grant", || {
        allowed(&mv("alice", file, trash)).then_some(())
    });
    assert!(allowed(&mv("alice", file, "hdfs:/open/x")));
    assert_eq!(
        mv("bob", file, "hdfs:/open/x"),
        Decision::Deny(DenyReason::NoGrant)
    );
    e.close();
}

#[test]
fn full_audit_spill_denies_protected_actions() {
    let tmp = tempfile::tempdir().unwrap();
    let mut svc = Service::start(tmp.path());
    let part = "hdfs:/lake/sales/orders/part-0";
    {
        let e = engine(&svc.url, tmp.path(), "");
        let grant = svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["read"], "10m"));
        eventually(WAIT, "grant", || {
            allowed(&read(&e, "alice", part)).then_some(())
        });
        wait_saved(tmp.path(), &grant);
        e.close();
    }
    svc.stop();
    let e = engine(&svc.url, tmp.path(), "jitgate.audit.spill.max.bytes=2000");
    let (_, took) = eventually(WAIT, "spill limit", || {
        (read(&e, "alice", part) == Decision::Deny(DenyReason::AuditUnavailable)).then_some(())
    });
    eprintln!("spill limit reached after {took:?}");
    assert_eq!(
        read(&e, "alice", "hdfs:/tmp/x"),
        Decision::NotProtected,
        "unprotected paths are unaffected"
    );
    let msg = e.explain("alice", part, READ, DenyReason::AuditUnavailable as i32);
    assert!(msg.contains("audit trail cannot be written"), "{msg}");

    // Once the service takes the backlog, protected actions are decided normally again.
    svc.restart();
    eventually(Duration::from_secs(30), "trail back", || {
        allowed(&read(&e, "alice", part)).then_some(())
    });
    e.close();
}

fn query(resource: &str, actions: u8, output: bool) -> QueryAccess<'_> {
    QueryAccess {
        resource,
        actions: ActionSet(actions),
        output,
        via: None,
    }
}

/// `check`, the one decision per query of the Hive and Spark plugins: export for data leaving its
/// zone, operations without a mapping, and a single-use grant consumed by exactly one query.
#[test]
fn a_query_is_decided_whole_and_a_single_use_grant_serves_one_query() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(tmp.path());
    let e = engine(&svc.url, tmp.path(), "");
    wait_verified(&e);
    let orders = query("hive:sales.orders", 1, false);
    let ctx = Some("hive.query.id=q1");

    // Nothing in a zone: not protected, nothing needed.
    let open = [
        query("hive:web.logs", 1, false),
        query("file:/tmp/out", 2, true),
    ];
    assert_eq!(
        e.check("alice", &open, Some("QUERY"), ctx),
        Verdict::NotProtected
    );
    // Protected and no grant: the denial names the resource and action.
    assert_eq!(
        e.check("alice", &[orders], Some("QUERY"), ctx),
        Verdict::Deny("hive:sales.orders".into(), READ, DenyReason::NoGrant)
    );

    let grant = grant_arrived(&svc, &e, "alice", "hive:sales.*", &["read", "write"], "5m");
    assert_eq!(
        e.check("alice", &[orders], Some("QUERY"), ctx),
        Verdict::Allow(vec![grant.as_str().into()])
    );
    // Writing into the same zone: no export.
    let within = [orders, query("hive:sales.copy", 2, true)];
    assert!(matches!(
        e.check("alice", &within, None, ctx),
        Verdict::Allow(_)
    ));
    // Writing the data anywhere else needs export, which alice does not hold.
    for out in ["file:/tmp/out", "hdfs:/tmp/out", "hive:web.copy"] {
        assert_eq!(
            e.check("alice", &[orders, query(out, 2, true)], None, ctx),
            Verdict::Deny(
                "hive:sales.orders".into(),
                ActionSet(1 | 4),
                DenyReason::NoGrant
            ),
            "{out}"
        );
    }
    // An operation without a row in the mapping table is denied inside a zone only.
    assert_eq!(
        e.check("alice", &[query("hive:sales.orders", 0, false)], None, ctx),
        Verdict::Deny(
            "hive:sales.orders".into(),
            ActionSet(0),
            DenyReason::Unmapped
        )
    );
    assert_eq!(
        e.check("alice", &[query("hive:web.logs", 0, false)], None, ctx),
        Verdict::NotProtected
    );
    // Unreadable input: denied, never skipped.
    assert!(matches!(
        e.check("alice", &[query("hdfs:relative", 1, false)], None, ctx),
        Verdict::Deny(_, _, DenyReason::BadInput)
    ));

    // A single-use grant: dave's one query, then no other.
    let once = {
        let body = serde_json::json!({"resources": ["hive:sales.customers"], "actions": ["read"],
            "duration": "5m", "reason": "INC-4412 one query", "single_use": true});
        let r = ureq::post(&format!("{}/v1/requests", svc.url))
            .set("X-Forwarded-User", "dave")
            .set("X-Forwarded-Groups", "analysts")
            .send_json(body)
            .unwrap()
            .into_json::<serde_json::Value>()
            .unwrap();
        svc.approve(r["id"].as_str().unwrap())
    };
    eventually(WAIT, "single-use grant to arrive", || {
        e.grant_live(&once).then_some(())
    });
    let customers = [query("hive:sales.customers", 1, false)];
    assert_eq!(
        e.check("dave", &customers, Some("QUERY"), Some("q-first")),
        Verdict::Allow(vec![once.as_str().into()])
    );
    // The same query may be checked again (engines re-analyse inner plans); the next may not.
    assert!(matches!(
        e.check("dave", &customers, Some("QUERY"), Some("q-first")),
        Verdict::Allow(_)
    ));
    assert_eq!(
        e.check("dave", &customers, Some("QUERY"), Some("q-second")),
        Verdict::Deny("hive:sales.customers".into(), READ, DenyReason::NoGrant)
    );
    // A second engine (another HiveServer2) cannot use it either: the service holds the use.
    let tmp2 = tempfile::tempdir().unwrap();
    let other = engine(&svc.url, tmp2.path(), "");
    eventually(WAIT, "second engine's snapshot", || {
        other.grant_live(&once).then_some(())
    });
    assert_eq!(
        other.check("dave", &customers, Some("QUERY"), Some("q-first")),
        Verdict::Deny("hive:sales.customers".into(), READ, DenyReason::NoGrant)
    );
    // The grant stays live for the query that used it, and the service shows who used it.
    assert!(e.grant_live(&once));
    let g: serde_json::Value = ureq::get(&format!("{}/v1/grants/{once}", svc.url))
        .set("X-Forwarded-User", "dave")
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(g["consumed_by"], "q-first", "{g}");
    // Revocation ends liveness at once for running queries.
    svc.revoke(&grant);
    eventually(WAIT, "revoke to arrive", || {
        (!e.grant_live(&grant)).then_some(())
    });
    e.close();
    other.close();
}

#[test]
fn a_query_naming_a_place_of_an_unlisted_scheme_is_denied() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(tmp.path());
    let e = engine(&svc.url, tmp.path(), "");
    let ctx = Some("q-9");
    for place in [
        "hdfsx://nn:8020/lake/sales/orders",
        "viewfs://cluster/lake/sales",
        "alluxio://master:19998/lake/sales",
        "nonsense:x",
    ] {
        let read = e.check("alice", &[query(place, 1, false)], Some("QUERY"), ctx);
        assert!(
            matches!(read, Verdict::Deny(_, _, DenyReason::BadInput)),
            "reading {place}: {read:?}"
        );
        let open_data = query("hive:web.logs", 1, false);
        let write = e.check(
            "alice",
            &[open_data, query(place, 2, true)],
            Some("QUERY"),
            ctx,
        );
        assert!(
            matches!(write, Verdict::Deny(_, _, DenyReason::BadInput)),
            "writing {place}: {write:?}"
        );
    }
    let listed = [
        query("s3a://bucket/in", 1, false),
        query("file:/tmp/out", 2, true),
    ];
    assert_eq!(
        e.check("alice", &listed, Some("QUERY"), ctx),
        Verdict::NotProtected
    );
    e.close();
}

/// A query reaches everything below a path it names: a table stored above a zone, read with its
/// subdirectories, or a directory overwritten, touches the zone's files. A glob reaches the
/// subtree of its glob-free prefix.
#[test]
fn a_query_naming_a_path_above_a_zone_needs_the_zone_s_grant() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(tmp.path());
    let e = engine(&svc.url, tmp.path(), "");
    wait_verified(&e);
    let ctx = Some("q-above");
    for above in [
        "hdfs:/lake",
        "hdfs:/",
        "hdfs:/lake/sal*",
        "hdfs:/lake/s?les/x",
        "hdfs:/l[a]ke/sales",
    ] {
        let read = e.check("alice", &[query(above, 1, false)], Some("QUERY"), ctx);
        assert!(
            matches!(read, Verdict::Deny(_, _, DenyReason::NoGrant)),
            "reading {above}: {read:?}"
        );
        let write = e.check("alice", &[query(above, 2, true)], Some("QUERY"), ctx);
        assert!(
            matches!(write, Verdict::Deny(_, _, DenyReason::NoGrant)),
            "writing {above}: {write:?}"
        );
    }
    // Beside the zone, and a literal name that only looks like the zone's: nothing to decide.
    assert_eq!(
        e.check("alice", &[query("hdfs:/lake/web", 1, false)], None, ctx),
        Verdict::NotProtected
    );

    let grant = grant_arrived(&svc, &e, "alice", "hdfs:/lake/sales", &["read"], "5m");
    assert_eq!(
        e.check("alice", &[query("hdfs:/lake", 1, false)], None, ctx),
        Verdict::Allow(vec![grant.as_str().into()])
    );
    // Read into a place outside the zone: what lies below leaves it, so export too.
    assert_eq!(
        e.check(
            "alice",
            &[
                query("hdfs:/lake", 1, false),
                query("file:/tmp/out", 2, true)
            ],
            None,
            ctx
        ),
        Verdict::Deny("hdfs:/lake".into(), ActionSet(1 | 4), DenyReason::NoGrant)
    );
    e.close();
}

/// One rule for views: a grant on a view in a zone covers reading through it to base tables of
/// the same zone; a base table read through a view outside its zone needs its own grant.
#[test]
fn a_view_covers_its_base_tables_in_its_own_zone_only() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(tmp.path());
    let e = engine(
        &svc.url,
        tmp.path(),
        "jitgate.fallback.zones=hive:sales.secret",
    );
    wait_verified(&e);
    let grant = grant_arrived(&svc, &e, "vic", "hive:sales.orders_view", &["read"], "5m");
    let ctx = Some("q-view");
    let through = |view: &'static str| QueryAccess {
        resource: "hive:sales.orders",
        actions: READ,
        output: false,
        via: Some(view),
    };
    // Through the zone's own view: the view's grant is enough.
    assert_eq!(
        e.check(
            "vic",
            &[
                query("hive:sales.orders_view", 1, false),
                through("hive:sales.orders_view")
            ],
            None,
            ctx
        ),
        Verdict::Allow(vec![grant.as_str().into()])
    );
    // Directly, or through a view outside the zone: the table's own grant.
    for accesses in [
        vec![query("hive:sales.orders", 1, false)],
        vec![
            query("hive:open.orders_view", 1, false),
            through("hive:open.orders_view"),
        ],
    ] {
        assert_eq!(
            e.check("vic", &accesses, None, ctx),
            Verdict::Deny("hive:sales.orders".into(), READ, DenyReason::NoGrant)
        );
    }
    // A view of the zone does not cover a table of a zone nested in it (its approvers approved
    // nothing here): the fallback zone `hive:sales.secret` lies inside `sales`.
    assert_eq!(
        e.check(
            "vic",
            &[QueryAccess {
                resource: "hive:sales.secret",
                ..through("hive:sales.orders_view")
            }],
            None,
            ctx
        ),
        Verdict::Deny("hive:sales.secret".into(), READ, DenyReason::NoGrant)
    );
    // A view that names no resource (a temporary view) covers nothing.
    assert_eq!(
        e.check("vic", &[through("nonsense")], None, ctx),
        Verdict::Deny("hive:sales.orders".into(), READ, DenyReason::NoGrant)
    );
    e.close();
}

/// Expiry is judged by the service's clock when this host's has drifted from it: every decision
/// reads the engine's clock, which the follower sets from the feed's `server_time`.
#[test]
fn decisions_judge_expiry_by_the_clock_the_follower_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(tmp.path());
    let e = engine(
        &svc.url,
        tmp.path(),
        "jitgate.fallback.zones=hdfs:/lake/sales",
    );
    let grant = grant_arrived(&svc, &e, "alice", "hdfs:/lake/sales", &["read"], "5m");
    let part = "hdfs:/lake/sales/orders/part-0";
    assert!(allowed(&read(&e, "alice", part)));
    // The service's clock is ten minutes ahead of this host's: the 5-minute grant has ended.
    e.live().set_clock_offset(10 * 60 * 1000);
    assert_eq!(read(&e, "alice", part), Decision::Deny(DenyReason::NoGrant));
    assert!(!e.grant_live(&grant));
    e.live().set_clock_offset(0);
    assert!(allowed(&read(&e, "alice", part)));
    e.close();
}
