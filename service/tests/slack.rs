//! Approve from chat against the real `jitgate serve`: the Slack message a waiting request's
//! webhook posts (a local receiver stands in for Slack), and button clicks signed in the test
//! with Slack's scheme: valid, badly signed, too old, from an unmapped user, from someone who
//! is no approver or is the requester, and played again.

mod common;

use common::receiver::{next, receiver, Hit};
use common::Server;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

type Hits = mpsc::Receiver<Hit>;

/// A server with a Slack webhook and Slack callbacks on, its webhook's receiver, and the base
/// URL and receiver standing in for Slack's `response_url`s.
struct Chat {
    s: Server,
    hooks: Hits,
    response_url: String,
    responses: Hits,
    _secret: tempfile::TempDir,
}

/// With `by_username`, a Slack user missing from `[slack] users` is their username at
/// `@example.com`.
fn start(by_username: bool) -> Chat {
    let (hook_url, hooks) = receiver(0);
    let (response_url, responses) = receiver(0);
    let secret = tempfile::tempdir().unwrap();
    let secret_file = secret.path().join("slack-signing-secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let s = Server::start_with(&format!(
        "public_url = \"https://jitgate.example\"\n\
         [plugins]\ntokens_file = \"{{dir}}/tokens\"\n\
         [[notify.webhooks]]\nurl = \"{hook_url}/slack\"\nkind = \"slack\"\n\
         [slack]\nsigning_secret_file = \"{}\"\n\
         response_url_prefix = \"{response_url}/\"\n\
         match_usernames = {by_username}\nusername_suffix = \"@example.com\"\n\
         [slack.users]\nUBOB = \"bob:sales-owners\"\nUCAROL = \"carol:analysts\"\nUALICE = \"alice:sales-owners\"\n\
         UHANA = \"hana:hr-owners\"\nUHUGO = \"hugo:hr-owners\"\n{}",
        secret_file.display(),
        common::ZONES
    ));
    Chat {
        s,
        hooks,
        response_url,
        responses,
        _secret: secret,
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A `block_actions` body as Slack sends it for a click on `action` of request `id`.
fn click_body(action: &str, id: &str, user_id: &str, username: &str, response_url: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user_id, "username": username, "name": username, "team_id": "T1"},
        "response_url": format!("{response_url}/respond"),
        "actions": [{"type": "button", "action_id": action, "value": id, "block_id": format!("jitgate_{id}")}],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts `body` to the callback with the given timestamp and signature.
fn post(s: &Server, timestamp: i64, signature: &str, body: &str) -> (u16, Value) {
    let resp = ureq::post(&format!("{}/v1/slack/actions", s.url))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .set("X-Slack-Request-Timestamp", &timestamp.to_string())
        .set("X-Slack-Signature", signature)
        .send_string(body);
    let resp = match resp {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    (resp.status(), resp.into_json().unwrap())
}

/// A click signed now with the right secret.
fn click(s: &Server, body: &str) -> (u16, Value) {
    let t = now_secs();
    post(s, t, &sign(SECRET, t, body), body)
}

fn status(s: &Server, id: &str) -> (String, usize) {
    let (_, r) = s.call("GET", &format!("/v1/requests/{id}"), "alice", None);
    (
        r["status"].as_str().unwrap().to_string(),
        r["history"].as_array().unwrap().len(),
    )
}

#[test]
fn a_waiting_request_s_slack_message_has_buttons_and_a_signed_click_approves_it_once() {
    let Chat {
        s,
        hooks,
        response_url,
        responses,
        ..
    } = start(false);
    let id = s.ask("hive:sales.orders", "10m");
    let m = next(&hooks).json();
    let text = m["text"].as_str().unwrap();
    assert!(
        text.contains("alice asks to read hive:sales.orders for 10m"),
        "{m}"
    );
    let buttons = &m["blocks"][1];
    assert_eq!(buttons["type"], "actions", "{m}");
    let elements = buttons["elements"].as_array().unwrap();
    assert_eq!(
        elements
            .iter()
            .map(|b| (
                b["text"]["text"].as_str().unwrap(),
                b["value"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("Approve", id.as_str()), ("Deny", id.as_str())]
    );
    let action = elements[0]["action_id"].as_str().unwrap();

    let body = click_body(action, &id, "UBOB", "bob", &response_url);
    let t = now_secs();
    let signature = sign(SECRET, t, &body);
    let (code, reply) = post(&s, t, &signature, &body);
    assert_eq!(code, 200, "{reply}");
    assert_eq!(reply["replace_original"], true, "{reply}");
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .contains("was approved (by bob)"),
        "{reply}"
    );
    assert!(
        !reply.to_string().contains("\"actions\""),
        "the outcome replaces the buttons: {reply}"
    );
    let (_, r) = s.call("GET", &format!("/v1/requests/{id}"), "alice", None);
    assert_eq!(r["status"], "approved", "{r}");
    assert_eq!(r["approvals"][0]["approver"], "bob", "{r}");
    assert!(r["grant"]["id"].as_str().is_some(), "{r}");
    let updated = next(&responses);
    assert_eq!(updated.path, "/respond");
    assert_eq!(
        updated.json(),
        reply,
        "Slack's response_url gets the outcome too"
    );

    // The same signed click again, within the window: refused, nothing changes.
    let before = status(&s, &id);
    let (code, again) = post(&s, t, &signature, &body);
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["replace_original"], false, "{again}");
    assert!(
        again["text"]
            .as_str()
            .unwrap()
            .starts_with("jitgate refused to approve"),
        "{again}"
    );
    assert_eq!(status(&s, &id), before);
    let (_, grants) = s.call("GET", "/v1/grants?user=alice", "alice", None);
    assert_eq!(grants["grants"].as_array().unwrap().len(), 1, "{grants}");
}

#[test]
fn a_click_on_deny_denies_and_a_username_of_the_domain_maps_by_its_rule() {
    let Chat {
        s,
        hooks,
        response_url,
        ..
    } = start(true);
    let id = s.ask("hive:sales.orders", "10m");
    let action = next(&hooks).json()["blocks"][1]["elements"][1]["action_id"]
        .as_str()
        .unwrap()
        .to_string();
    // dave is mapped by username but jitgate knows no groups for him outside [slack] users.
    let (code, reply) = click(
        &s,
        &click_body(&action, &id, "UDAVE", "dave@example.com", &response_url),
    );
    assert_eq!(code, 200);
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .contains("knows no groups for dave"),
        "{reply}"
    );
    // A username of another domain names no one.
    let (_, reply) = click(
        &s,
        &click_body(&action, &id, "UEVE", "bob@evil.example", &response_url),
    );
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .contains("is not of @example.com"),
        "{reply}"
    );
    assert_eq!(status(&s, &id), ("pending".to_string(), 1));
    let (_, reply) = click(
        &s,
        &click_body(&action, &id, "UBOB", "robert", &response_url),
    );
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .contains("was denied (by bob)"),
        "{reply}"
    );
    assert_eq!(status(&s, &id).0, "denied");
}

#[test]
fn bad_signatures_old_timestamps_unknown_users_and_non_approvers_change_nothing() {
    let Chat {
        s,
        hooks,
        response_url,
        ..
    } = start(false);
    let id = s.ask("hive:sales.orders", "10m");
    let action = next(&hooks).json()["blocks"][1]["elements"][0]["action_id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = click_body(&action, &id, "UBOB", "bob", &response_url);
    let t = now_secs();

    let (code, reply) = post(&s, t, &sign("another-secret", t, &body), &body);
    assert_eq!(code, 401, "{reply}");
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("X-Slack-Signature"),
        "{reply}"
    );
    let (code, _) = post(&s, t, &sign(SECRET, t, &body).replace("v0=", "v1="), &body);
    assert_eq!(code, 401);
    let tampered = body.replace("UBOB", "UBOC");
    let (code, _) = post(&s, t, &sign(SECRET, t, &body), &tampered);
    assert_eq!(code, 401, "the signature covers the body");
    let old = t - 600;
    let (code, reply) = post(&s, old, &sign(SECRET, old, &body), &body);
    assert_eq!(code, 401, "{reply}");
    assert!(
        reply["error"].as_str().unwrap().contains("window"),
        "{reply}"
    );
    let (code, _) = post(&s, t + 600, &sign(SECRET, t + 600, &body), &body);
    assert_eq!(code, 401, "a timestamp from the future is no better");

    for (user, username, why) in [
        ("UNOBODY", "mallory", "is not mapped"),
        ("UCAROL", "carol", "not an approver"),
        ("UALICE", "alice", "your own request"),
    ] {
        let (code, reply) = click(&s, &click_body(&action, &id, user, username, &response_url));
        assert_eq!(code, 200, "{reply}");
        assert_eq!(reply["response_type"], "ephemeral", "{reply}");
        let text = reply["text"].as_str().unwrap();
        assert!(
            text.starts_with("jitgate refused to approve") && text.contains(why),
            "{user}: {text}"
        );
    }
    assert_eq!(
        status(&s, &id),
        ("pending".to_string(), 1),
        "only `created` in the history"
    );
    let log = s.log();
    assert!(
        log.contains("slack: refused a callback: X-Slack-Signature"),
        "{log}"
    );
    assert!(
        log.contains("slack: refused to approve request") && log.contains("UCAROL"),
        "{log}"
    );

    // And a valid click still works afterwards.
    let (_, reply) = click(&s, &body);
    assert_eq!(reply["replace_original"], true, "{reply}");
    assert_eq!(status(&s, &id).0, "approved");
}

#[test]
fn in_a_zone_needing_two_approvals_the_buttons_stay_until_the_second() {
    let Chat {
        s,
        hooks,
        response_url,
        ..
    } = start(false);
    let id = s.ask("hive:hr.salaries", "10m");
    let action = next(&hooks).json()["blocks"][1]["elements"][0]["action_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, first) = click(
        &s,
        &click_body(&action, &id, "UHANA", "hana", &response_url),
    );
    assert_eq!(first["replace_original"], true, "{first}");
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .contains("has an approval (by hana)"),
        "{first}"
    );
    let buttons = &first["blocks"][1];
    assert_eq!(buttons["type"], "actions", "still waiting: {first}");
    assert_eq!(status(&s, &id).0, "pending");
    let (_, again) = click(
        &s,
        &click_body(&action, &id, "UHANA", "hana", &response_url),
    );
    assert!(
        again["text"].as_str().unwrap().contains("already approved"),
        "one approver counts once: {again}"
    );
    let (_, second) = click(
        &s,
        &click_body(&action, &id, "UHUGO", "hugo", &response_url),
    );
    assert!(
        second["text"]
            .as_str()
            .unwrap()
            .contains("was approved (by hugo)")
            && second.get("blocks").is_none(),
        "{second}"
    );
    assert_eq!(status(&s, &id).0, "approved");
}
