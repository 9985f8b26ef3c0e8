//! Webhooks against a tiny HTTP receiver on 127.0.0.1: Slack-style and signed JSON payloads,
//! retries after a failing receiver, and requests that never wait for delivery.

mod common;

use common::Server;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

const BOB: &str = "bob:sales-owners";

struct Hit {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Answers `fail_first` requests with 500, then 200; every request it sees goes to the channel.
fn receiver(fail_first: usize) -> (String, mpsc::Receiver<Hit>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = 0;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split(' ').nth(1).unwrap_or("").to_string();
            let mut headers = vec![];
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let status = if seen < fail_first {
                "500 Oops"
            } else {
                "200 OK"
            };
            seen += 1;
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            );
            if tx
                .send(Hit {
                    path,
                    headers,
                    body,
                })
                .is_err()
            {
                break;
            }
        }
    });
    (url, rx)
}

fn next(rx: &mpsc::Receiver<Hit>) -> Hit {
    rx.recv_timeout(Duration::from_secs(15))
        .expect("a webhook call within 15 s")
}

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
