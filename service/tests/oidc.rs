//! `auth.mode = "oidc"` end to end: the service checks ID tokens made with a test key against
//! its JWKS file; the CLI sends `JITGATE_TOKEN`.

mod common;

use common::Server;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::process::Command;

const KEY: &str = include_str!("data/oidc-test-key.pem");
const OTHER_KEY: &str = include_str!("data/oidc-other-key.pem");

fn token(key: &str, user: &str, groups: &[&str]) -> String {
    let now = jitgate::wire::now_millis() / 1000;
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("test-key-1".into());
    encode(
        &h,
        &json!({"iss": "https://idp.test", "aud": "jitgate", "sub": format!("id-{user}"),
                "preferred_username": user, "groups": groups, "exp": now + 300}),
        &EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn oidc_server() -> Server {
    Server::start_with(&format!(
        "[auth]\nmode = \"oidc\"\n[auth.oidc]\nissuer = \"https://idp.test\"\naudience = \"jitgate\"\n\
         jwks_file = \"{}/tests/data/oidc-test-jwks.json\"\nuser_claim = \"preferred_username\"\n\
         [plugins]\ntokens_file = \"{{dir}}/tokens\"\n{}",
        env!("CARGO_MANIFEST_DIR"),
        common::ZONES
    ))
}

fn with_token(
    s: &Server,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    s.plugin(method, path, Some(token), body)
}

#[test]
fn id_tokens_act_as_their_user_and_forged_ones_are_refused() {
    let s = oidc_server();
    let alice = token(KEY, "alice", &["analysts"]);
    let (status, r) = with_token(
        &s,
        "POST",
        "/v1/requests",
        &alice,
        Some(
            json!({"resources": ["hive:sales.orders"], "actions": ["read"], "duration": "5m", "reason": "INC-1"}),
        ),
    );
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["user"], "alice");
    let id = r["id"].as_str().unwrap();

    let forged = token(OTHER_KEY, "bob", &["sales-owners"]);
    let (status, e) = with_token(
        &s,
        "POST",
        &format!("/v1/requests/{id}/approve"),
        &forged,
        None,
    );
    assert_eq!(status, 401);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("signature does not verify"),
        "{e}"
    );
    let (status, _) = s.plugin("GET", "/v1/requests", None, None);
    assert_eq!(status, 401);

    let bob = token(KEY, "bob", &["sales-owners"]);
    let (status, r) = with_token(
        &s,
        "POST",
        &format!("/v1/requests/{id}/approve"),
        &bob,
        None,
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["grant"]["approvers"], json!(["bob"]));
}

#[test]
fn the_cli_sends_jitgate_token() {
    let s = oidc_server();
    let out = Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args([
            "--server",
            &s.url,
            "--json",
            "request",
            "hive:sales.orders",
            "--action",
            "read",
            "--for",
            "5m",
            "--reason",
            "INC-2",
            "--single-use",
        ])
        .env("JITGATE_TOKEN", token(KEY, "alice", &[]))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["user"].as_str(), r["single_use"].as_bool()),
        (Some("alice"), Some(true))
    );
    let out = Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args(["--server", &s.url, "requests"])
        .env("JITGATE_TOKEN", token(OTHER_KEY, "alice", &[]))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature does not verify"));
}
