//! "Would I be allowed?" against a real `jitgate serve`: `GET /v1/check` and `jitgate check`
//! answer what the plugins would decide now, as grants are made, revoked and run out.

mod common;

use common::{Server, PLUGIN_TOKEN, ZONES};
use serde_json::{json, Value};
use std::process::Output;
use std::time::{Duration, Instant};

const BOB: &str = "bob:sales-owners";

/// The test zones, with `auditors` as the auditors' group.
fn server() -> Server {
    Server::start_with(&format!(
        "[auth]\nauditors = [\"auditors\"]\n[plugins]\ntokens_file = \"{{dir}}/tokens\"\n{ZONES}"
    ))
}

fn check(s: &Server, who: &str, query: &str) -> (u16, Value) {
    s.call("GET", &format!("/v1/check?{query}"), who, None)
}

fn cli(s: &Server, args: &[&str]) -> (i32, String, String) {
    let out: Output = std::process::Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .env_remove("JITGATE_SERVER")
        .env_remove("JITGATE_TOKEN")
        .args(["--server", &s.url])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// alice asks for `actions` on `resource` for `duration`, bob approves; the grant's JSON.
fn granted(s: &Server, resource: &str, actions: &[&str], duration: &str) -> Value {
    let (status, r) = s.call(
        "POST",
        "/v1/requests",
        "alice:analysts",
        Some(json!({"resources": [resource], "actions": actions, "duration": duration, "reason": "INC-7"})),
    );
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_str().unwrap();
    let (status, r) = s.call("POST", &format!("/v1/requests/{id}/approve"), BOB, None);
    assert_eq!(status, 200, "{r}");
    r["grant"].clone()
}

#[test]
fn a_grant_allows_and_names_itself_and_its_expiry() {
    let s = server();
    let g = granted(&s, "hdfs:/lake/sales/orders", &["read"], "10m");
    let (status, a) = check(
        &s,
        "alice",
        "resource=hdfs:/lake/sales/orders/part-0&action=read",
    );
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["decision"], "allow", "{a}");
    assert_eq!(a["user"], "alice");
    assert_eq!(a["grants"][0]["id"], g["id"], "{a}");
    assert_eq!(a["grants"][0]["request_id"], g["request_id"]);
    assert_eq!(a["expires_at"], g["expires_at"]);
    assert_eq!(a["zones"][0]["name"], "sales");
    assert_eq!(a["request_url"], Value::Null);

    // the grant covers read only
    let (_, a) = check(
        &s,
        "alice",
        "resource=hdfs:/lake/sales/orders&action=read,write",
    );
    assert_eq!(a["decision"], "deny", "{a}");

    let (code, out, err) = cli(
        &s,
        &[
            "--as",
            "alice",
            "check",
            "hdfs:/lake/sales/orders/part-0",
            "--action",
            "read",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let gid = g["id"].as_str().unwrap();
    assert!(
        out.starts_with("allowed: alice may read hdfs:/lake/sales/orders/part-0 by grant ")
            && out.contains(gid)
            && out.lines().count() == 1,
        "{out}"
    );
    let (code, out, _) = cli(
        &s,
        &[
            "--as",
            "alice",
            "--json",
            "check",
            "hdfs:/lake/sales/orders",
            "-a",
            "read",
        ],
    );
    assert_eq!(code, 0);
    let a: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(a["grants"][0]["id"], gid);
}

#[test]
fn a_denial_names_the_zone_its_approvers_and_the_link_the_plugins_give() {
    let s = server();
    let (status, a) = check(&s, "alice", "resource=hdfs:/lake/sales/x&action=write");
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["decision"], "deny");
    assert_eq!(a["reason"], "no active grant");
    assert_eq!(
        a["zones"],
        json!([{"name": "sales", "approvers": ["sales-owners"], "approvals": 1}])
    );
    let link = format!("{}/request?resource=hdfs:/lake/sales/x&action=write", s.url);
    assert_eq!(a["request_url"], link.as_str());
    assert_eq!(
        a["message"],
        format!(
            "jitgate: alice may not write hdfs:/lake/sales/x (no active grant). Request it: {link}"
        )
        .as_str()
    );
    assert_eq!(a["grants"], json!([]));

    let (code, out, err) = cli(
        &s,
        &[
            "--as",
            "alice",
            "check",
            "hdfs:/lake/sales/x",
            "--action",
            "write",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        out.trim_end(),
        format!(
            "denied: alice may not write hdfs:/lake/sales/x (no active grant) in zone sales \
             (approvers: sales-owners). Request it: {link}"
        )
    );
}

#[test]
fn outside_every_zone_is_not_protected() {
    let s = server();
    let (status, a) = check(&s, "alice", "resource=hdfs:/open/x&action=read");
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["decision"], "not_protected");
    assert_eq!(a["zones"], json!([]));
    let (code, out, err) = cli(
        &s,
        &["--as", "alice", "check", "hdfs:/open/x", "-a", "read"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("not protected: hdfs:/open/x"), "{out}");
}

#[test]
fn only_approvers_of_the_zone_and_auditors_may_ask_for_someone_else() {
    let s = server();
    granted(&s, "hive:sales.orders", &["read"], "10m");
    let ask = "user=alice&resource=hive:sales.orders&action=read";
    let (status, e) = check(&s, "carol", ask);
    assert_eq!(status, 403, "{e}");
    assert!(e["error"].as_str().unwrap().contains("approver"), "{e}");
    // an approver of another zone is a plain user here
    let (status, _) = check(&s, "harry:hr-owners", ask);
    assert_eq!(status, 403);
    let (status, a) = check(&s, BOB, ask);
    assert_eq!(
        (status, a["decision"].as_str()),
        (200, Some("allow")),
        "{a}"
    );
    assert_eq!(a["user"], "alice");
    let (status, a) = check(&s, "audrey:auditors", ask);
    assert_eq!(
        (status, a["decision"].as_str()),
        (200, Some("allow")),
        "{a}"
    );
    // asking about oneself by name is asking about oneself
    let (status, _) = check(&s, "alice", ask);
    assert_eq!(status, 200);
    // not protected, but still not carol's to ask
    let (status, _) = check(&s, "carol", "user=alice&resource=hdfs:/open&action=read");
    assert_eq!(status, 403);

    let (code, out, err) = cli(
        &s,
        &[
            "--as",
            "carol",
            "check",
            "hive:sales.orders",
            "-a",
            "read",
            "--as-user",
            "alice",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("approver"), "{err}");
    let (code, out, err) = cli(
        &s,
        &[
            "--as",
            BOB,
            "check",
            "hive:sales.orders",
            "-a",
            "read",
            "--as-user",
            "alice",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("allowed: alice may read hive:sales.orders"),
        "{out}"
    );

    // a plugin token is not a person
    let (status, _) = s.plugin("GET", &format!("/v1/check?{ask}"), Some(PLUGIN_TOKEN), None);
    assert_eq!(status, 401);
}

#[test]
fn a_group_is_auditors_only_when_the_config_says_so() {
    let s = Server::start(); // no auth.auditors
    let (status, e) = check(
        &s,
        "audrey:auditors",
        "user=alice&resource=hive:sales.orders&action=read",
    );
    assert_eq!(status, 403, "{e}");
}

#[test]
fn a_revoked_grant_no_longer_allows() {
    let s = server();
    let g = granted(&s, "hive:sales.orders", &["read"], "10m");
    let ask = "resource=hive:sales.orders&action=read";
    assert_eq!(check(&s, "alice", ask).1["decision"], "allow");
    let gid = g["id"].as_str().unwrap();
    let (status, r) = s.call("POST", &format!("/v1/grants/{gid}/revoke"), BOB, None);
    assert_eq!(status, 200, "{r}");
    let (_, a) = check(&s, "alice", ask);
    assert_eq!(a["decision"], "deny", "{a}");
    assert_eq!(a["reason"], "no active grant");
}

#[test]
fn an_expired_grant_no_longer_allows() {
    let s = server();
    let g = granted(&s, "hive:sales.orders", &["read"], "2s");
    let ask = "resource=hive:sales.orders&action=read";
    let (_, a) = check(&s, "alice", ask);
    assert_eq!(a["decision"], "allow", "{a}");
    assert_eq!(a["expires_at"], g["expires_at"]);
    // nothing is committed when a grant runs out: the answer follows the clock
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, a) = check(&s, "alice", ask);
        if a["decision"] == "deny" {
            assert_eq!(a["reason"], "no active grant");
            break;
        }
        assert!(Instant::now() < deadline, "still allowed: {a}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let expires = jitgate::wire::parse_time(g["expires_at"].as_str().unwrap()).unwrap();
    assert!(
        jitgate::wire::now_millis() >= expires,
        "denied before the grant ended"
    );
}

#[test]
fn bad_input_is_a_400_that_says_what_to_write() {
    let s = server();
    for (query, says) in [
        ("resource=ftp://x&action=read", "unknown resource `ftp://x`"),
        (
            "resource=hdfs:/lake/sales&action=delete",
            "unknown action `delete`",
        ),
        ("resource=hdfs:/lake/sales", "no action given"),
        ("action=read", "resource is required"),
        (
            "resource=hdfs:/lake&action=read&color=red",
            "unknown field `color`",
        ),
    ] {
        let (status, e) = check(&s, "alice", query);
        assert_eq!(status, 400, "{query}: {e}");
        assert!(e["error"].as_str().unwrap().contains(says), "{query}: {e}");
    }
    let (code, out, err) = cli(&s, &["--as", "alice", "check", "ftp://x", "-a", "read"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("unknown resource"), "{err}");
}
