//! A bounded loopback load test, not part of the default run:
//!
//!   cargo test --release -p jitgate-service --test load -- --ignored --nocapture
//!
//! 1,000 plugins follow the feed by long-poll while a stream of requests is created and
//! approved; prints request/approve latency and how long each grant takes to reach every
//! follower. Sizes: JITGATE_LOAD_FOLLOWERS (1000), JITGATE_LOAD_GRANTS (200); with
//! JITGATE_LOAD_REPLICAS=2, two replicas on a private PostgreSQL, the followers split between
//! them and the approvals made on the first. Also: what
//! `GET /v1/check` costs right after a change (its snapshot brought up to date) and without one, with
//! JITGATE_CHECK_GRANTS (200) live grants.

mod common;

use common::{Server, PLUGIN_TOKEN};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{name}: n={} p50={:.1?} p95={:.1?} p99={:.1?} max={:.1?}",
        v.len(),
        percentile(&v, 0.50),
        percentile(&v, 0.95),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or_default()
    );
}

#[test]
#[ignore = "load test: run explicitly"]
fn thousand_feed_followers_and_a_stream_of_approvals() {
    let followers = env("JITGATE_LOAD_FOLLOWERS", 1000);
    let grants = env("JITGATE_LOAD_GRANTS", 200);
    let replicas = env("JITGATE_LOAD_REPLICAS", 1);
    raise_open_files_limit();
    let pg = (replicas > 1).then(common::postgres::Postgres::start);
    let servers: Vec<Server> = (0..replicas)
        .map(|_| match &pg {
            Some(pg) => Server::start_with(&format!(
                "{}[plugins]\ntokens_file = \"{{dir}}/tokens\"\n{}",
                pg.store_section(),
                common::ZONES
            )),
            None => Server::start(),
        })
        .collect();
    let s = &servers[0];
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<HashMap<String, Vec<Instant>>>> = Arc::default();
    let polls = Arc::new(AtomicUsize::new(0));

    let mut threads = vec![];
    for i in 0..followers {
        let (url, stop, ready, seen, polls) = (
            servers[i % replicas].url.clone(),
            stop.clone(),
            ready.clone(),
            seen.clone(),
            polls.clone(),
        );
        threads.push(
            std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || {
                    let agent = ureq::AgentBuilder::new()
                        .timeout_read(Duration::from_secs(40))
                        .build();
                    let get = |after: Option<u64>| -> Value {
                        let q = match after {
                            Some(c) => format!("?after={c}&wait=5"),
                            None => String::new(),
                        };
                        agent
                            .get(&format!("{url}/v1/feed{q}"))
                            .set("Authorization", &format!("Bearer {PLUGIN_TOKEN}"))
                            .call()
                            .expect("feed answers")
                            .into_json()
                            .unwrap()
                    };
                    let mut cursor = get(None)["cursor"].as_u64().unwrap();
                    ready.fetch_add(1, Ordering::SeqCst);
                    while !stop.load(Ordering::SeqCst) {
                        let f = get(Some(cursor));
                        polls.fetch_add(1, Ordering::Relaxed);
                        let now = Instant::now();
                        cursor = f["cursor"].as_u64().unwrap();
                        let ids: Vec<String> = f["grants"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|g| g["id"].as_str().unwrap().to_string())
                            .collect();
                        if !ids.is_empty() {
                            let mut map = seen.lock().unwrap();
                            for id in ids {
                                map.entry(id).or_default().push(now);
                            }
                        }
                    }
                })
                .unwrap(),
        );
    }
    let t0 = Instant::now();
    while ready.load(Ordering::SeqCst) < followers {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "followers did not connect"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("{followers} followers connected in {:.1?}", t0.elapsed());

    let mut create = vec![];
    let mut approve = vec![];
    let mut issued: HashMap<String, Instant> = HashMap::new();
    let started = Instant::now();
    for i in 0..grants {
        let t = Instant::now();
        let (status, r) = s.call(
            "POST",
            "/v1/requests",
            "alice",
            Some(json!({"resources": [format!("hive:sales.t{i}")], "actions": ["read"], "duration": "10m", "reason": "load"})),
        );
        assert_eq!(status, 201, "{r}");
        create.push(t.elapsed());
        let id = r["id"].as_str().unwrap();
        let t = Instant::now();
        let (status, r) = s.call(
            "POST",
            &format!("/v1/requests/{id}/approve"),
            "bob:sales-owners",
            None,
        );
        assert_eq!(status, 200, "{r}");
        approve.push(t.elapsed());
        issued.insert(r["grant"]["id"].as_str().unwrap().to_string(), t);
        std::thread::sleep(Duration::from_millis(20));
    }
    let stream = started.elapsed();

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let complete = {
            let map = seen.lock().unwrap();
            issued
                .keys()
                .all(|g| map.get(g).is_some_and(|v| v.len() >= followers))
        };
        if complete || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    let map = seen.lock().unwrap().clone();
    let mut propagation = vec![];
    let mut delivered = 0;
    for (g, sent) in &issued {
        for at in map.get(g).into_iter().flatten() {
            propagation.push(at.saturating_duration_since(*sent));
            delivered += 1;
        }
    }
    println!(
        "{grants} requests+approvals in {:.1?} ({:.0}/s with a 20 ms pause each); {} feed answers",
        stream,
        grants as f64 / stream.as_secs_f64(),
        polls.load(Ordering::Relaxed)
    );
    summary("create request", create);
    summary("approve (grant issued)", approve);
    summary("approve sent -> follower has the grant", propagation);
    println!(
        "deliveries: {delivered} of {} (grants x followers)",
        grants * followers
    );
    for (i, s) in servers.iter().enumerate() {
        let (rss, peak) = s.memory();
        println!("replica {i} memory: RSS {rss:.1} MiB now, peak {peak:.1} MiB");
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        delivered,
        grants * followers,
        "every follower saw every grant"
    );
}

/// Each follower holds a connection: as many open files as the hard limit allows.
fn raise_open_files_limit() {
    // SAFETY: reads and sets this process's own limit; the services started after inherit it.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

/// Revoke → a following plugin's feed, with no other load and then while ten clients keep
/// running audit queries that each scan every one of JITGATE_LOAD_EVENTS (1,000,000) events.
///
///   cargo test --release -p jitgate-service --test load revoke -- --ignored --nocapture
#[test]
#[ignore = "load test: run explicitly"]
fn revoke_reaches_a_follower_while_audit_queries_scan_a_million_events() {
    let events = env("JITGATE_LOAD_EVENTS", 1_000_000);
    let trials = env("JITGATE_LOAD_TRIALS", 300);
    let s = Server::start();
    let url = s.url.clone();

    // The trail: batches as plugins post them.
    let t0 = Instant::now();
    let batch = 10_000;
    for b in 0..events.div_ceil(batch) {
        let list: Vec<Value> = (0..batch.min(events - b * batch))
            .map(|i| {
                let n = b * batch + i;
                json!({"id": format!("load-{n}"), "time": "2026-12-01T10:00:00.000Z", "plugin": "hdfs",
                       "host": "nn1", "user": format!("user{}", n % 500), "resource": format!("hdfs:/lake/sales/t{}/part-{n}", n % 100),
                       "action": "read", "decision": "allow", "grant_id": null, "request_id": null,
                       "operation": "open", "context": null})
            })
            .collect();
        let (status, r) = s.plugin(
            "POST",
            "/v1/audit",
            Some(PLUGIN_TOKEN),
            Some(json!({"events": list})),
        );
        assert_eq!(status, 200, "{r}");
    }
    println!("{events} audit events stored in {:.1?}", t0.elapsed());

    // One follower, long-polling as a plugin does, noting when each revoked id arrives.
    let revoked_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let (url, revoked_at, stop) = (url.clone(), revoked_at.clone(), stop.clone());
        std::thread::spawn(move || {
            let agent = ureq::AgentBuilder::new()
                .timeout_read(Duration::from_secs(40))
                .build();
            let mut cursor: Option<u64> = None;
            while !stop.load(Ordering::SeqCst) {
                let q = cursor.map_or(String::new(), |c| format!("?after={c}&wait=2"));
                let f: Value = agent
                    .get(&format!("{url}/v1/feed{q}"))
                    .set("Authorization", &format!("Bearer {PLUGIN_TOKEN}"))
                    .call()
                    .expect("feed answers")
                    .into_json()
                    .unwrap();
                let now = Instant::now();
                cursor = f["cursor"].as_u64();
                let mut map = revoked_at.lock().unwrap();
                for id in f["revoked"].as_array().unwrap() {
                    map.entry(id.as_str().unwrap().to_string()).or_insert(now);
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));

    let measure = |label: &str| {
        let mut lags = vec![];
        for i in 0..trials {
            let (_, r) = s.call(
                "POST",
                "/v1/requests",
                "alice",
                Some(json!({"resources": [format!("hive:sales.r{i}")], "actions": ["read"], "duration": "10m", "reason": "load"})),
            );
            let id = r["id"].as_str().unwrap();
            let (_, r) = s.call(
                "POST",
                &format!("/v1/requests/{id}/approve"),
                "bob:sales-owners",
                None,
            );
            let grant = r["grant"]["id"].as_str().unwrap().to_string();
            let sent = Instant::now();
            let (status, _) = s.call(
                "POST",
                &format!("/v1/grants/{grant}/revoke"),
                "bob:sales-owners",
                None,
            );
            assert_eq!(status, 200);
            let deadline = sent + Duration::from_secs(30);
            loop {
                if let Some(at) = revoked_at.lock().unwrap().get(&grant) {
                    lags.push(at.saturating_duration_since(sent));
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "revocation {grant} never reached the follower"
                );
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        summary(label, lags.clone());
        lags.sort();
        percentile(&lags, 0.99)
    };
    let quiet = measure("revoke sent -> follower has it, no other load");

    // Ten clients scanning the whole trail over and over: a resource no event is under makes
    // SQLite read every row.
    let scanning = Arc::new(AtomicBool::new(true));
    let scans: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let clients: Vec<_> = (0..10)
        .map(|_| {
            let (url, scanning, scans) = (url.clone(), scanning.clone(), scans.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout_read(Duration::from_secs(120))
                    .build();
                while scanning.load(Ordering::SeqCst) {
                    let t = Instant::now();
                    let r = agent
                        .get(&format!("{url}/v1/audit?resource=hive:nosuch.*&limit=1000"))
                        .set("X-Forwarded-User", "auditor")
                        .call();
                    assert!(r.is_ok(), "an audit query failed: {:?}", r.err());
                    scans.lock().unwrap().push(t.elapsed());
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let busy = measure("revoke sent -> follower has it, ten audit queries scanning");
    scanning.store(false, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    follower.join().unwrap();
    summary(
        "audit query scanning every event",
        scans.lock().unwrap().clone(),
    );
    println!(
        "p99 with the scans / p99 without: {:.2} ({:.1?} / {:.1?})",
        busy.as_secs_f64() / quiet.as_secs_f64().max(1e-6),
        busy,
        quiet
    );
    let (rss, peak) = s.memory();
    println!("service memory: RSS {rss:.1} MiB now, peak {peak:.1} MiB");
}

/// One live grant of `user` on `resource`, through the API.
fn grant(s: &Server, user: &str, resource: &str) {
    let (status, r) = s.call(
        "POST",
        "/v1/requests",
        user,
        Some(json!({"resources": [resource], "actions": ["read"], "duration": "10m", "reason": "load"})),
    );
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_str().unwrap();
    let (status, r) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        "bob:sales-owners",
        None,
    );
    assert_eq!(status, 200, "{r}");
}

#[test]
#[ignore = "load test: run explicitly"]
fn check_right_after_a_change_and_without_one() {
    let live = env("JITGATE_CHECK_GRANTS", 200);
    let trials = 100;
    let s = Server::start();
    for i in 0..live {
        grant(&s, &format!("u{}", i % 50), &format!("hive:sales.t{i}"));
    }
    let check = |user: &str, table: usize| {
        let t = Instant::now();
        let (status, a) = s.call(
            "GET",
            &format!("/v1/check?resource=hive:sales.t{table}&action=read"),
            user,
            None,
        );
        let took = t.elapsed();
        assert_eq!(
            (status, a["decision"].as_str()),
            (200, Some("allow")),
            "{a}"
        );
        took
    };
    let (mut rebuilt, mut kept) = (vec![], vec![]);
    for i in 0..trials {
        // a new grant moves the change signal: the next check builds its snapshot again
        let table = live + i;
        grant(&s, "carol", &format!("hive:sales.t{table}"));
        rebuilt.push(check("carol", table));
        kept.push(check("carol", table));
    }
    println!("{live} live grants (and up to {trials} more), {trials} trials:");
    summary(
        "check right after a change (snapshot brought up to date)",
        rebuilt,
    );
    summary("check with no change since (snapshot kept)", kept);
}
