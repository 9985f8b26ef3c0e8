//! Webhooks against a tiny HTTP receiver on 127.0.0.1: Slack-style and signed JSON payloads,
//! retries after a failing receiver, and requests that never wait for delivery.

mod common;

use common::receiver::{next, receiver};
use common::Server;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::time::Duration;

const BOB: &str = "bob:sales-owners";

#[test]
fn signed_json_and_slack_webhooks_hear_every_event_with_a_link() {
    let (json_url, json_rx) = receiver(0);
    let (slack_url, slack_rx) = receiver(0);
    let s = Server::start_with(&format!(
        "public_url = \"https://jitgate.example\"\n\
         [plugins]\ntokens_file = \"{{dir}}/tokens\"\n\
         [[notify.webhooks]]\nurl = \"{json_url}/hook\"\nkind = \"json\"\nsecret_file = \"{{dir}}/secret\"\n\
         [[notify.webhooks]]\nurl = \"{slack_url}/slack\"\nkind = \"slack\"\n{}",
        common::ZONES
    )
    .replace("{dir}/secret", "{dir}/tokens"));
    // The secret is the tokens file's text (trimmed), which the harness wrote.
    let secret = std::fs::read_to_string(s.dir.path().join("tokens")).unwrap();
    let secret = secret.trim();

    let id = s.ask("hive:sales.orders", "10m");
    let (_, r) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        BOB,
        Some(json!({"comment": "ok"})),
    );
    let gid = r["grant"]["id"].as_str().unwrap().to_string();
    s.call("POST", &format!("/v1/grants/{gid}/revoke"), "alice", None);
    let denied = s.ask("hive:sales.orders", "5m");
    s.call(
        "POST",
        &format!("/v1/requests/{denied}/deny"),
        BOB,
        Some(json!({"reason": "no"})),
    );

    let mut events = vec![];
    for _ in 0..5 {
        let hit = next(&json_rx);
        assert_eq!(hit.path, "/hook");
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&hit.body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(hit.header("x-jitgate-signature"), Some(expected.as_str()));
        let v = hit.json();
        assert_eq!(hit.header("x-jitgate-event"), v["event"].as_str());
        assert_eq!(
            v["link"].as_str().unwrap(),
            format!(
                "https://jitgate.example/requests/{}",
                v["request"]["id"].as_str().unwrap()
            )
        );
        events.push((
            v["event"].as_str().unwrap().to_string(),
            v["actor"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(
        events,
        [
            ("created", "alice"),
            ("approved", "bob"),
            ("revoked", "alice"),
            ("created", "alice"),
            ("denied", "bob")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let slack = next(&slack_rx);
    assert_eq!(
        slack.header("x-jitgate-signature"),
        None,
        "no secret, no signature"
    );
    assert!(
        slack.json().get("blocks").is_none(),
        "no buttons without [slack] to verify their clicks"
    );
    let text = slack.json()["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("alice asks to read hive:sales.orders for 10m"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "<https://jitgate.example/requests/{id}|Open request {id}>"
        )),
        "{text}"
    );
}

#[test]
fn a_failing_receiver_gets_retries_and_never_blocks_requests() {
    let (url, rx) = receiver(2);
    let s = Server::start_with(&format!(
        "[plugins]\ntokens_file = \"{{dir}}/tokens\"\n\
         [[notify.webhooks]]\nurl = \"{url}/hook\"\n{}",
        common::ZONES
    ));
    let started = std::time::Instant::now();
    let id = s.ask("hive:sales.orders", "10m");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the request does not wait for delivery"
    );
    let first = next(&rx);
    let second = next(&rx);
    let third = next(&rx);
    for hit in [&first, &second, &third] {
        assert_eq!(hit.json()["request"]["id"], id.as_str());
        assert_eq!(
            hit.header("x-jitgate-delivery"),
            first.header("x-jitgate-delivery")
        );
    }
    let log = s.log();
    assert!(
        log.contains("failed (HTTP 500)") && log.contains("retry 2"),
        "{log}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !s.log().contains("delivered: created of request") {
        assert!(std::time::Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}
