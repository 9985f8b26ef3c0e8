//! The decision core following a real `jitgate serve` process: approval, revocation, expiry,
//! restart from the cached snapshot while the service is down, and the audit trail.

mod common;

use std::time::Duration;

use common::{eventually, Service, TOKEN};
use jitgate::{Access, ActionSet, Config, Decision, DenyReason, Engine};

const READ: ActionSet = ActionSet(1);
const WAIT: Duration = Duration::from_secs(20);

fn engine(svc_url: &str, dir: &std::path::Path, extra: &str) -> Engine {
    std::fs::write(dir.join("plugin-token"), TOKEN).unwrap();
    let config = format!(
        "jitgate.service.url={svc_url}\njitgate.service.token.file={}\njitgate.cache.dir={}\n\
         jitgate.plugin=test\njitgate.feed.wait.seconds=5\njitgate.audit.flush.millis=50\n{extra}",
        dir.join("plugin-token").display(),
        dir.join("cache").display()
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

fn allowed(d: &Decision) -> bool {
    matches!(d, Decision::Allow(_))
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

    eventually(WAIT, "first snapshot", || {
        (!e.snapshot().fallback).then_some(())
    });
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
    assert!(!e.snapshot().fallback, "the cached snapshot was loaded");
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

#[test]
fn fallback_zones_are_denied_until_a_snapshot_exists() {
    let tmp = tempfile::tempdir().unwrap();
    // nothing listens on this port: the feed never answers
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = engine(
        &format!("http://127.0.0.1:{port}"),
        tmp.path(),
        "jitgate.fallback.zones=hdfs:/lake/sales",
    );
    assert_eq!(
        read(&e, "alice", "hdfs:/lake/sales/x"),
        Decision::Deny(DenyReason::NoSnapshot)
    );
    assert_eq!(read(&e, "alice", "hdfs:/tmp/x"), Decision::NotProtected);
    let msg = e.explain(
        "alice",
        "hdfs:/lake/sales/x",
        READ,
        DenyReason::NoSnapshot as i32,
    );
    assert!(
        msg.contains("approval service has not been reached"),
        "{msg}"
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
        svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["read"], "10m"));
        eventually(WAIT, "grant", || {
            allowed(&read(&e, "alice", part)).then_some(())
        });
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
