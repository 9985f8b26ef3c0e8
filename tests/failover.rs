//! A plugin follows several replicas of one service (`jitgate.service.url=A,B`): when one dies
//! it carries on through another from its cursor, its audit events reach whichever answers
//! once each, and a replica that signs with another key never gets a reply applied.
//!
//! The replicas are two real `jitgate serve` processes on one data dir (one SQLite database in
//! WAL mode, which several processes may share). A commit on one does not wake the other's
//! long-polls, so the plugins here poll with a one-second wait.

mod common;

use std::collections::HashSet;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, plugin_config, read_message, rebuild, Service};
use jitgate::{Access, ActionSet, Config, Decision, DenyReason, Engine};

const WAIT: Duration = Duration::from_secs(20);
const PART: &str = "hdfs:/lake/sales/orders/part-0";

fn engine(urls: &str, dir: &std::path::Path) -> Engine {
    let extra = "jitgate.feed.wait.seconds=1\njitgate.start.wait.millis=5000";
    Engine::start(Config::parse(&plugin_config(urls, dir, extra)).unwrap()).unwrap()
}

fn read(e: &Engine, user: &str) -> Decision {
    e.decide(&Access {
        user,
        resource: PART,
        actions: ActionSet(1),
        subtree: false,
        operation: Some("open"),
        context: None,
    })
}

fn allowed(d: &Decision) -> bool {
    matches!(d, Decision::Allow(_))
}

fn wait_verified(e: &Engine) {
    eventually(WAIT, "first snapshot", || {
        e.snapshot().verified.then_some(())
    });
}

/// The ids of `user`'s audit events as `svc` lists them, once each or the test fails.
fn audited_once(svc: &Service, user: &str) -> Vec<String> {
    let ids: Vec<String> = svc
        .audit(&format!("user={user}&limit=1000"))
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "an event stored twice: {ids:?}");
    ids
}

#[test]
fn the_follower_carries_on_through_another_replica_from_its_cursor() {
    let (a_dir, b_dir, plugin) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut a = Service::start(a_dir.path());
    let b = a.replica(b_dir.path());
    let e = engine(&format!("{},{}", a.url, b.url), plugin.path());
    wait_verified(&e);
    assert_eq!(e.live().resets(), 1, "the first answer is a full snapshot");

    // Approved through A while A is up: followed through A.
    let first = a.approve(&a.request("alice", "hdfs:/lake/sales", &["read"], "10m"));
    eventually(WAIT, "the grant made through A", || {
        e.grant_live(&first).then_some(())
    });
    let cursor = e.snapshot().cursor;

    a.stop(); // SIGKILL
    let second = b.approve(&b.request("dave", "hdfs:/lake/sales", &["read"], "10m"));
    eventually(WAIT, "the grant made through B", || {
        e.grant_live(&second).then_some(())
    });
    assert!(allowed(&read(&e, "dave")));
    assert!(e.snapshot().cursor > cursor);
    assert!(e.grant_live(&first), "what came through A is kept");

    b.revoke(&first);
    eventually(WAIT, "the revoke made through B", || {
        (!allowed(&read(&e, "alice"))).then_some(())
    });
    assert_eq!(read(&e, "alice"), Decision::Deny(DenyReason::NoGrant));
    assert_eq!(
        e.live().resets(),
        1,
        "the follower went on from its cursor, without a full snapshot"
    );

    // Decided while A is down: the audit events reach B, once each.
    for _ in 0..5 {
        assert!(allowed(&read(&e, "dave")));
    }
    let ids = eventually(WAIT, "dave's events through B", || {
        let ids = audited_once(&b, "dave");
        (ids.len() >= 6).then_some(ids)
    })
    .0;
    assert_eq!(ids.len(), 6, "one read above and five here: {ids:?}");
    assert_eq!(b.verify_audit()["ok"], true, "{}", b.verify_audit());
}

/// Relays each request to `upstream` and drops the connection instead of the answer: a replica
/// that took a request and died before answering. Records the status `upstream` answered.
fn answer_lost(upstream: u16) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(vec![]));
    let record = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let record = record.clone();
            std::thread::spawn(move || {
                let relayed = (|| -> std::io::Result<String> {
                    let (head, body) = read_message(&mut BufReader::new(client.try_clone()?))?;
                    let mut server = TcpStream::connect(("127.0.0.1", upstream))?;
                    server.write_all(rebuild(&head, body.len()).as_bytes())?;
                    server.write_all(&body)?;
                    let (answer, _) = read_message(&mut BufReader::new(server))?;
                    let request = head.lines().next().unwrap_or_default().to_string();
                    let status = answer.lines().next().unwrap_or_default().to_string();
                    Ok(format!("{request} -> {status}"))
                })();
                if let Ok(line) = relayed {
                    record.lock().unwrap().push(line);
                }
                drop(client);
            });
        }
    });
    (url, seen)
}

#[test]
fn an_audit_batch_whose_answer_was_lost_is_stored_once_through_another_replica() {
    let (a_dir, b_dir, plugin) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let a = Service::start(a_dir.path());
    let b = a.replica(b_dir.path());
    let (lost, seen) = answer_lost(a.port());
    let e = engine(&format!("{lost},{}", b.url), plugin.path());
    wait_verified(&e);

    for _ in 0..4 {
        assert_eq!(read(&e, "carol"), Decision::Deny(DenyReason::NoGrant));
    }
    let ids = eventually(WAIT, "carol's events through B", || {
        let ids = audited_once(&b, "carol");
        (ids.len() >= 4).then_some(ids)
    })
    .0;
    assert_eq!(ids.len(), 4, "{ids:?}");
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("POST /v1/audit") && l.contains(" 200 ")),
        "A stored a batch whose answer was lost, which was then sent to B: {seen:?}"
    );
    assert_eq!(b.verify_audit()["ok"], true, "{}", b.verify_audit());
}

#[test]
fn a_replica_signing_with_another_key_is_never_followed() {
    let (rogue_dir, b_dir, plugin) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut rogue = Service::start(rogue_dir.path());
    rogue.stop();
    let key = rogue_dir.path().join("data").join("feed-signing-key");
    std::fs::write(&key, jitgate::signature::hex(&[0x66; 32])).unwrap();
    rogue.restart();
    // What the rogue would hand out if it were believed.
    rogue.approve(&rogue.request("mallory", "hdfs:/lake/sales", &["read"], "10m"));

    let mut b = Service::start(b_dir.path());
    let e = engine(&format!("{},{}", rogue.url, b.url), plugin.path());
    wait_verified(&e);
    let grant = b.approve(&b.request("alice", "hdfs:/lake/sales", &["read"], "10m"));
    eventually(WAIT, "the grant made through B", || {
        e.grant_live(&grant).then_some(())
    });
    assert_eq!(read(&e, "mallory"), Decision::Deny(DenyReason::NoGrant));

    // With B down the rogue is the only one answering; the plugin keeps its last snapshot.
    b.stop();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(read(&e, "mallory"), Decision::Deny(DenyReason::NoGrant));
    assert!(allowed(&read(&e, "alice")));

    b.restart();
    b.revoke(&grant);
    eventually(WAIT, "the revoke made through B", || {
        (!allowed(&read(&e, "alice"))).then_some(())
    });
    assert_eq!(read(&e, "mallory"), Decision::Deny(DenyReason::NoGrant));
    assert_eq!(
        e.live().resets(),
        1,
        "only B's first answer was a full snapshot"
    );
}
