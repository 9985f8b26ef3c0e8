//! `GET /metrics` of the real `jitgate serve`: who may scrape it, and each number moving as
//! requests are decided, plugins follow the feed and post audit events, and a webhook fails.

mod common;

use common::{free_port, Server, PLUGIN_TOKEN, ZONES};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const BOB: &str = "bob:sales-owners";

/// The test zones, `auditors` as the auditors' group, and a webhook no one listens to.
fn server() -> Server {
    Server::start_with(&format!(
        "[auth]\nauditors = [\"auditors\"]\n[plugins]\ntokens_file = \"{{dir}}/tokens\"\n\
         [[notify.webhooks]]\nurl = \"http://127.0.0.1:{}/hook\"\n{ZONES}",
        free_port()
    ))
}

fn scrape(s: &Server) -> String {
    let (status, body) = s.plugin("GET", "/metrics", Some(PLUGIN_TOKEN), None);
    assert_eq!(status, 200, "{body}");
    match body {
        Value::String(text) => text,
        other => panic!("not the text format: {other}"),
    }
}

/// The value of `series` (name and labels, as written) in `text`.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn plugin_tokens_and_auditors_may_scrape_others_may_not() {
    let s = server();
    let (status, body) = s.plugin("GET", "/metrics", Some(PLUGIN_TOKEN), None);
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.call("GET", "/metrics", "eve:auditors", None);
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.call("GET", "/metrics", "alice:analysts", None);
    assert_eq!(status, 403, "{body}");
    let (status, _) = s.plugin("GET", "/metrics", Some("not-a-token"), None);
    assert_eq!(status, 401);
}

#[test]
fn each_number_moves_with_what_it_counts() {
    let s = server();
    let start = scrape(&s);
    for series in [
        "jitgate_requests{status=\"pending\"}",
        "jitgate_grants_active",
        "jitgate_audit_events_ingested_total",
        "jitgate_time_to_decision_seconds_count{decision=\"approved\"}",
        "jitgate_feed_followers",
    ] {
        assert_eq!(value(&start, series), 0.0, "{series}");
    }

    // Requests: one pending, then approved (a grant), one denied.
    let first = s.ask("hdfs:/lake/sales/orders", "10m");
    let second = s.ask("hdfs:/lake/sales/leads", "10m");
    let text = scrape(&s);
    assert_eq!(value(&text, "jitgate_requests{status=\"pending\"}"), 2.0);
    let (status, r) = s.call("POST", &format!("/v1/requests/{first}/approve"), BOB, None);
    assert_eq!(status, 200, "{r}");
    let (status, r) = s.call("POST", &format!("/v1/requests/{second}/deny"), BOB, None);
    assert_eq!(status, 200, "{r}");
    let text = scrape(&s);
    assert_eq!(value(&text, "jitgate_requests{status=\"pending\"}"), 0.0);
    assert_eq!(value(&text, "jitgate_requests{status=\"approved\"}"), 1.0);
    assert_eq!(value(&text, "jitgate_requests{status=\"denied\"}"), 1.0);
    assert_eq!(value(&text, "jitgate_grants_active"), 1.0);
    for decision in ["approved", "denied"] {
        let count = format!("jitgate_time_to_decision_seconds_count{{decision=\"{decision}\"}}");
        let inf = format!(
            "jitgate_time_to_decision_seconds_bucket{{decision=\"{decision}\",le=\"+Inf\"}}"
        );
        assert_eq!(value(&text, &count), 1.0, "{decision}");
        assert_eq!(value(&text, &inf), 1.0, "{decision}");
    }

    // Audit events a plugin posts.
    let event = |id: &str| {
        json!({"id": id, "time": "2026-11-27T21:00:00.000Z", "plugin": "hive", "host": "hs2-1",
               "user": "alice", "resource": "hive:sales.orders", "action": "read",
               "decision": "deny", "reason": "no_grant", "operation": "SELECT"})
    };
    let batch = json!({"events": [event("m-1"), event("m-2"), event("m-3")]});
    let (status, r) = s.plugin("POST", "/v1/audit", Some(PLUGIN_TOKEN), Some(batch));
    assert_eq!((status, r), (200, json!({"accepted": 3})));
    assert_eq!(
        value(&scrape(&s), "jitgate_audit_events_ingested_total"),
        3.0
    );

    // A follower long-polling at the newest cursor counts while it waits; one that asked from
    // two changes back lands in the lag histogram's bucket for up to 10.
    let (_, feed) = s.plugin("GET", "/v1/feed", Some(PLUGIN_TOKEN), None);
    let cursor = feed["cursor"].as_u64().unwrap();
    let (url, token) = (s.url.clone(), PLUGIN_TOKEN);
    let waiting = std::thread::spawn(move || {
        ureq::get(&format!("{url}/v1/feed?after={cursor}&wait=3"))
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .map(|r| r.status())
            .map_err(|e| e.to_string())
    });
    eventually("a follower waiting", || {
        value(&scrape(&s), "jitgate_feed_followers") == 1.0
    });
    assert_eq!(waiting.join().unwrap().unwrap(), 200);
    assert_eq!(value(&scrape(&s), "jitgate_feed_followers"), 0.0);
    let (status, _) = s.plugin(
        "GET",
        &format!("/v1/feed?after={}", cursor - 2),
        Some(PLUGIN_TOKEN),
        None,
    );
    assert_eq!(status, 200);
    let text = scrape(&s);
    assert_eq!(
        value(&text, "jitgate_feed_lag_changes_bucket{le=\"0\"}"),
        1.0
    );
    assert_eq!(
        value(&text, "jitgate_feed_lag_changes_bucket{le=\"1\"}"),
        1.0
    );
    assert_eq!(
        value(&text, "jitgate_feed_lag_changes_bucket{le=\"10\"}"),
        2.0
    );

    // The webhook no one listens to fails (and is retried).
    eventually("a webhook failure", || {
        value(&scrape(&s), "jitgate_webhook_delivery_failures_total") >= 1.0
    });

    // Every scrape and request above went through the store.
    let writer = "jitgate_store_call_seconds_count{connection=\"writer\"}";
    let before = value(&scrape(&s), writer);
    s.ask("hdfs:/lake/sales/x", "10m");
    assert!(value(&scrape(&s), writer) > before);
    assert!(
        value(
            &scrape(&s),
            "jitgate_store_call_seconds_count{connection=\"reader\"}"
        ) > 0.0
    );
}
