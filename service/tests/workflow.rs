//! The approval workflow over HTTP against the real service: every transition and refusal with
//! its status code and message, auto-approval, escalation, release, single use, history.

mod common;

use common::Server;
use serde_json::{json, Value};

const BOB: &str = "bob:sales-owners";
const CAROL: &str = "carol:sales-owners";

/// `sales` (1 approval, auto-approval for on-call reads up to 5m, escalation to `security`
/// after 2s), `hr` (2 approvals, read only, 30m).
fn server() -> Server {
    Server::start_with(
        r#"
pending_timeout = "4s"
[plugins]
tokens_file = "{dir}/tokens"

[[zones]]
name = "sales"
resources = ["hdfs:/lake/sales", "hive:sales.*"]
approvers = ["sales-owners"]
max_duration = "15m"
escalate_after = "2s"
escalate_to = ["security"]
[[zones.auto_approve]]
name = "oncall-read"
group = "oncall"
actions = ["read"]
max_duration = "5m"

[[zones]]
name = "hr"
resources = ["hdfs:/lake/hr", "hive:hr.*"]
approvers = ["hr-owners"]
approvals = 2
actions = ["read"]
max_duration = "30m"
"#,
    )
}

fn ask(s: &Server, who: &str, body: Value) -> (u16, Value) {
    s.call("POST", "/v1/requests", who, Some(body))
}

fn body(resource: &str, actions: &[&str], duration: &str) -> Value {
    json!({"resources": [resource], "actions": actions, "duration": duration, "reason": "INC-7"})
}

fn err(v: &Value) -> &str {
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {v}"))
}

fn history(v: &Value) -> Vec<(String, String)> {
    v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().into(),
                e["actor"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn refusals_of_a_new_request_are_400_with_the_rule_named() {
    let s = server();
    for (b, says) in [
        (
            body("hive:sales.t", &["read"], "20m"),
            "duration 20m exceeds the 15m cap of zone sales: ask for 15m or less",
        ),
        (
            body("hdfs:/lake/hr/x", &["write"], "5m"),
            "action write is not allowed in zone hr (allowed: read)",
        ),
        (
            json!({"resources": ["hive:sales.t"], "actions": ["read"], "duration": "5m"}),
            "a reason is required",
        ),
        (body("hdfs:/tmp/x", &["read"], "5m"), "is not in any zone"),
    ] {
        let (status, e) = ask(&s, "alice", b);
        assert_eq!(status, 400, "{e}");
        assert!(err(&e).contains(says), "{e} should say {says}");
    }
    // A ticket is optional.
    let (status, r) = ask(&s, "alice", body("hive:sales.t", &["read"], "5m"));
    assert_eq!((status, r["ticket"].clone()), (201, Value::Null));
}

#[test]
fn every_transition_and_wrong_state_has_its_status_and_message() {
    let s = server();
    let (_, r) = ask(&s, "alice", body("hdfs:/lake/hr/pay", &["read"], "10m"));
    let id = r["id"].as_str().unwrap().to_string();
    let path = |verb: &str| format!("/v1/requests/{id}/{verb}");

    let (status, e) = s.call("POST", &path("approve"), BOB, None);
    assert_eq!(
        (status, err(&e)),
        (
            403,
            "you are not an approver of zone hr (approver groups: hr-owners)"
        )
    );
    let (status, e) = s.call("POST", &path("approve"), "alice:hr-owners", None);
    assert_eq!(
        (status, err(&e)),
        (403, "you cannot approve your own request")
    );
    let (status, e) = s.call("POST", &path("cancel"), BOB, None);
    assert_eq!(
        (status, err(&e)),
        (403, "only the requester can cancel a request")
    );

    let (status, r) = s.call(
        "POST",
        &path("approve"),
        "dave:hr-owners",
        Some(json!({"comment": "one"})),
    );
    assert_eq!(
        (status, r["status"].as_str()),
        (200, Some("pending")),
        "two approvals needed"
    );
    let (status, e) = s.call("POST", &path("approve"), "dave:hr-owners", None);
    assert_eq!(
        (status, err(&e)),
        (
            409,
            format!("you have already approved request {id}").as_str()
        )
    );
    let (status, r) = s.call(
        "POST",
        &path("approve"),
        "erin:hr-owners",
        Some(json!({"comment": "two"})),
    );
    assert_eq!((status, r["status"].as_str()), (200, Some("approved")));
    assert_eq!(r["grant"]["approvers"], json!(["dave", "erin"]));
    assert_eq!(
        history(&r),
        [
            ("created", "alice"),
            ("approved", "dave"),
            ("approved", "erin"),
            ("granted", "jitgate")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(r["history"][1]["comment"], "one");
    for verb in ["approve", "deny", "cancel"] {
        let who = if verb == "cancel" {
            "alice"
        } else {
            "frank:hr-owners"
        };
        let (status, e) = s.call("POST", &path(verb), who, None);
        assert_eq!(
            (status, err(&e)),
            (
                409,
                format!("request {id} is approved, not pending").as_str()
            ),
            "{verb}"
        );
    }

    let (_, r) = ask(&s, "alice", body("hive:sales.t", &["read"], "10m"));
    let id2 = r["id"].as_str().unwrap();
    let (status, r) = s.call(
        "POST",
        &format!("/v1/requests/{id2}/deny"),
        BOB,
        Some(json!({"reason": "freeze"})),
    );
    assert_eq!(
        (status, r["status"].as_str(), r["decision_reason"].as_str()),
        (200, Some("denied"), Some("freeze"))
    );
    let (_, r) = ask(&s, "alice", body("hive:sales.t", &["read"], "10m"));
    let id3 = r["id"].as_str().unwrap();
    let (status, r) = s.call("POST", &format!("/v1/requests/{id3}/cancel"), "alice", None);
    assert_eq!((status, r["status"].as_str()), (200, Some("cancelled")));
    let (status, e) = s.call("POST", &format!("/v1/requests/{id3}/approve"), BOB, None);
    assert_eq!(
        (status, err(&e)),
        (
            409,
            format!("request {id3} is cancelled, not pending").as_str()
        )
    );
    let (status, e) = s.call("POST", "/v1/requests/r-none/approve", BOB, None);
    assert_eq!((status, err(&e)), (404, "no request r-none"));
}

#[test]
fn auto_approval_grants_at_once_and_release_is_recorded_as_such() {
    let s = server();
    let mut b = body("hive:sales.orders", &["read"], "5m");
    b["single_use"] = json!(true);
    let (status, r) = ask(&s, "olga:oncall", b);
    assert_eq!(
        (status, r["status"].as_str()),
        (201, Some("approved")),
        "{r}"
    );
    let g = &r["grant"];
    assert_eq!(
        (g["approvers"].clone(), g["single_use"].clone()),
        (json!(["auto:oncall-read"]), json!(true))
    );
    let (_, feed) = s.plugin("GET", "/v1/feed", Some(common::PLUGIN_TOKEN), None);
    assert_eq!(feed["grants"][0]["single_use"], true);

    let gid = g["id"].as_str().unwrap();
    let (status, e) = s.call("POST", &format!("/v1/grants/{gid}/revoke"), "mallory", None);
    assert_eq!(status, 403);
    assert!(
        err(&e).starts_with("only the grantee or an approver of zone sales"),
        "{e}"
    );
    let (status, g) = s.call("POST", &format!("/v1/grants/{gid}/revoke"), "olga", None);
    assert_eq!(
        (status, g["released"].clone(), g["revoked_by"].clone()),
        (200, json!(true), json!("olga"))
    );
    let (_, r) = s.call(
        "GET",
        &format!("/v1/requests/{}", r["id"].as_str().unwrap()),
        "olga",
        None,
    );
    assert_eq!(
        history(&r).last().unwrap(),
        &("released".to_string(), "olga".to_string())
    );
    let (status, e) = s.call("POST", &format!("/v1/grants/{gid}/revoke"), BOB, None);
    assert_eq!(
        (status, err(&e)),
        (409, format!("grant {gid} is already revoked").as_str())
    );

    // Write is not covered by the rule: people decide.
    let (_, r) = ask(
        &s,
        "olga:oncall",
        body("hive:sales.orders", &["write"], "5m"),
    );
    assert_eq!(r["status"], "pending");
}

#[test]
fn escalation_then_pending_timeout() {
    let s = server();
    let (_, r) = ask(&s, "alice", body("hive:sales.orders", &["read"], "5m"));
    let id = r["id"].as_str().unwrap().to_string();
    let (status, e) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        "sam:security",
        None,
    );
    assert_eq!(status, 403, "{e}");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (_, r2) = ask(&s, "alice", body("hive:sales.orders", &["read"], "5m"));
    let (status, r) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        "sam:security",
        None,
    );
    assert_eq!(
        (status, r["status"].as_str()),
        (200, Some("approved")),
        "{r}"
    );
    assert_eq!(
        history(&r)[..2],
        [("created", "alice"), ("escalated", "jitgate")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // The second request is never decided and expires after pending_timeout (4s).
    std::thread::sleep(std::time::Duration::from_millis(4100));
    let id2 = r2["id"].as_str().unwrap();
    let (_, r2) = s.call("GET", &format!("/v1/requests/{id2}"), BOB, None);
    assert_eq!(r2["status"], "expired");
    assert_eq!(history(&r2).last().unwrap().0, "expired");
    let (status, e) = s.call("POST", &format!("/v1/requests/{id2}/approve"), CAROL, None);
    assert_eq!(
        (status, err(&e)),
        (
            409,
            format!("request {id2} is expired, not pending").as_str()
        )
    );
}

#[test]
fn concurrent_http_approvals_issue_one_grant() {
    let s = server();
    let (_, r) = ask(&s, "alice", body("hdfs:/lake/hr/x", &["read"], "5m"));
    let id = r["id"].as_str().unwrap().to_string();
    let results: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (s, id) = (&s, id.clone());
                scope.spawn(move || {
                    s.call(
                        "POST",
                        &format!("/v1/requests/{id}/approve"),
                        &format!("o{i}:hr-owners"),
                        None,
                    )
                    .0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|s| **s == 200).count(),
        2,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|s| **s == 409).count(),
        6,
        "{results:?}"
    );
    let (_, g) = s.call("GET", "/v1/grants", BOB, None);
    assert_eq!(g["grants"].as_array().unwrap().len(), 1);
}
