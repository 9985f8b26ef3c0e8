//! Two `jitgate serve` replicas on one private PostgreSQL: a change made on one reaches the
//! followers of the other while they wait, and a webhook hears each event once, not once per
//! replica.

mod common;

use common::postgres::Postgres;
use common::{Server, PLUGIN_TOKEN, ZONES};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BOB: &str = "bob:sales-owners";

/// A replica of the service on `pg`, notifying `hook` when given.
fn replica(pg: &Postgres, hook: Option<&str>) -> Server {
    let hook = hook
        .map(|u| format!("[[notify.webhooks]]\nurl = \"{u}\"\nkind = \"json\"\n"))
        .unwrap_or_default();
    Server::start_with(&format!(
        "{}[plugins]\ntokens_file = \"{{dir}}/tokens\"\n{hook}{ZONES}",
        pg.store_section()
    ))
}

#[test]
fn a_change_on_one_replica_reaches_the_waiting_followers_of_the_other() {
    let pg = Postgres::start();
    let (a, b) = (replica(&pg, None), replica(&pg, None));
    let (_, first) = b.plugin("GET", "/v1/feed", Some(PLUGIN_TOKEN), None);
    let mut cursor = first["cursor"].as_u64().unwrap();
    let mut waits = vec![];
    for _ in 0..20 {
        let id = a.ask("hive:sales.orders", "5m");
        // A follower of B waits (up to 20 s) for what comes after its cursor ...
        let url = format!("/v1/feed?after={cursor}&wait=20");
        let (follower, approved_at) = std::thread::scope(|s| {
            let h = s.spawn(|| {
                let answer = b.plugin("GET", &url, Some(PLUGIN_TOKEN), None);
                (answer, Instant::now())
            });
            std::thread::sleep(Duration::from_millis(200));
            // ... while the request is approved on A.
            let approved_at = Instant::now();
            let (status, v) = a.call("POST", &format!("/v1/requests/{id}/approve"), BOB, None);
            assert_eq!(status, 200, "{v}");
            (h.join().unwrap(), approved_at)
        });
        let ((status, feed), heard_at) = follower;
        assert_eq!(status, 200, "{feed}");
        let grants = feed["grants"].as_array().unwrap();
        assert_eq!(
            grants.len(),
            1,
            "B's follower woke without A's grant (its wait ran out): {feed}"
        );
        assert_eq!(grants[0]["request_id"], id.as_str());
        waits.push(heard_at.saturating_duration_since(approved_at));
        cursor = feed["cursor"].as_u64().unwrap();
    }
    waits.sort();
    // Reported, not asserted (machines here are noisy): BENCHMARKS.md records the figures.
    eprintln!(
        "approve on A -> follower of B: p50 {:?}, max {:?} over {} approvals",
        waits[waits.len() / 2],
        waits[waits.len() - 1],
        waits.len()
    );
}

/// Counts the webhook deliveries it receives, by event and request.
fn counting_receiver() -> (String, Arc<Mutex<HashMap<(String, String), usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let counts = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end().to_ascii_lowercase();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let key = (
                v["event"].as_str().unwrap().to_string(),
                v["request"]["id"].as_str().unwrap().to_string(),
            );
            *counts.lock().unwrap().entry(key).or_insert(0) += 1;
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, seen)
}

#[test]
fn two_replicas_deliver_each_webhook_event_once() {
    let pg = Postgres::start();
    let (hook, seen) = counting_receiver();
    let replicas = [replica(&pg, Some(&hook)), replica(&pg, Some(&hook))];
    let mut ids = vec![];
    for i in 0..12 {
        let r = &replicas[i % 2];
        let id = r.ask("hive:sales.orders", "5m");
        let (status, v) = replicas[(i + 1) % 2].call(
            "POST",
            &format!("/v1/requests/{id}/approve"),
            BOB,
            None,
        );
        assert_eq!(status, 200, "{v}");
        ids.push(id);
    }
    let expected = ids.len() * 2; // created and approved
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().values().sum::<usize>() < expected {
        assert!(Instant::now() < deadline, "not every event arrived: {seen:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Both replicas look at the outbox every half second: give each several more looks, in
    // which a second delivery would arrive.
    std::thread::sleep(Duration::from_secs(3));
    let seen = seen.lock().unwrap();
    for id in &ids {
        for event in ["created", "approved"] {
            assert_eq!(
                seen.get(&(event.to_string(), id.clone())),
                Some(&1),
                "{event} of {id}: {seen:?}"
            );
        }
    }
    assert_eq!(seen.values().sum::<usize>(), expected, "{seen:?}");
}
