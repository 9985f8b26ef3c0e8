//! A bounded loopback load test, not part of the default run:
//!
//!   cargo test --release -p jitgate-service --test load -- --ignored --nocapture
//!
//! 1,000 plugins follow the feed by long-poll while a stream of requests is created and
//! approved; prints request/approve latency and how long each grant takes to reach every
//! follower. Sizes: JITGATE_LOAD_FOLLOWERS (1000), JITGATE_LOAD_GRANTS (200).

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
    let s = Server::start();
    let url = s.url.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<HashMap<String, Vec<Instant>>>> = Arc::default();
    let polls = Arc::new(AtomicUsize::new(0));

    let mut threads = vec![];
    for _ in 0..followers {
        let (url, stop, ready, seen, polls) = (
            url.clone(),
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
    let (rss, peak) = s.memory();
    println!("service memory: RSS {rss:.1} MiB now, peak {peak:.1} MiB");
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        delivered,
        grants * followers,
        "every follower saw every grant"
    );
}
