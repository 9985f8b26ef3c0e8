//! The approval service as a separate process, driven over HTTP.

mod common;

use common::{Server, PLUGIN_TOKEN};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const BOB: &str = "bob:sales-owners";

fn feed(s: &Server, query: &str) -> Value {
    let (status, f) = s.plugin("GET", &format!("/v1/feed{query}"), Some(PLUGIN_TOKEN), None);
    assert_eq!(status, 200, "{f}");
    f
}

#[test]
fn request_approve_revoke_flow() {
    let s = Server::start();
    let id = s.ask("hive:Sales.Orders", "10m");
    let (status, r) = s.call("GET", &format!("/v1/requests/{id}"), BOB, None);
    assert_eq!(status, 200);
    assert_eq!(
        (r["status"].as_str(), r["resources"].clone()),
        (Some("pending"), json!(["hive:sales.orders"]))
    );
    let (_, pending) = s.call("GET", "/v1/requests?status=pending", BOB, None);
    assert_eq!(pending["requests"][0]["id"], id.as_str());

    let (status, r) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        BOB,
        Some(json!({"comment": "ok"})),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "approved");
    let grant = &r["grant"];
    let gid = grant["id"].as_str().unwrap();
    assert_eq!(
        (grant["user"].as_str(), grant["approvers"].clone()),
        (Some("alice"), json!(["bob"]))
    );
    assert_eq!(grant["revoked_at"], Value::Null);

    let (_, active) = s.call("GET", "/v1/grants?active=true", "alice", None);
    assert_eq!(active["grants"].as_array().unwrap().len(), 1);

    let (status, g) = s.call("POST", &format!("/v1/grants/{gid}/revoke"), BOB, None);
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["revoked_by"], "bob");
    let (_, active) = s.call("GET", "/v1/grants?active=true", "alice", None);
    assert!(active["grants"].as_array().unwrap().is_empty());
    let (status, e) = s.call("POST", &format!("/v1/grants/{gid}/revoke"), "alice", None);
    assert_eq!(
        (status, e["error"].as_str().unwrap()),
        (409, format!("grant {gid} is already revoked").as_str())
    );
    assert!(
        s.log().contains(&format!("request {id} created by alice")),
        "{}",
        s.log()
    );
}

#[test]
fn refusals_come_back_as_json_errors_with_fitting_statuses() {
    let s = Server::start();
    let ask = |body: Value| s.call("POST", "/v1/requests", "alice", Some(body));
    let (status, e) = ask(
        json!({"resources": ["hive:sales.t"], "actions": ["read"], "duration": "1h", "reason": "r"}),
    );
    assert_eq!(status, 400);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("15m cap of zone sales"),
        "{e}"
    );
    let (status, e) = ask(
        json!({"resources": ["hdfs:/tmp/x"], "actions": ["read"], "duration": "5m", "reason": "r"}),
    );
    assert_eq!(
        (status, e["error"].as_str().unwrap()),
        (400, "hdfs:/tmp/x is not in any zone; it needs no request")
    );

    let id = s.ask("hive:sales.t", "5m");
    let (status, e) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        "alice:sales-owners",
        None,
    );
    assert_eq!(
        (status, e["error"].as_str().unwrap()),
        (403, "you cannot approve your own request")
    );
    let (status, _) = s.call("POST", &format!("/v1/requests/{id}/cancel"), "alice", None);
    assert_eq!(status, 200);
    let (status, e) = s.call("POST", &format!("/v1/requests/{id}/approve"), BOB, None);
    assert_eq!(status, 409);
    assert!(e["error"].as_str().unwrap().contains("cancelled"), "{e}");

    let resp = ureq::post(&format!("{}/v1/requests", s.url))
        .set("X-Forwarded-User", "alice")
        .set("Content-Type", "application/json")
        .send_string("{oops");
    let Err(ureq::Error::Status(400, resp)) = resp else {
        panic!("expected a 400")
    };
    assert!(resp.content_type().contains("json"));
    let e: Value = resp.into_json().unwrap();
    assert!(
        e["error"].as_str().unwrap().starts_with("bad JSON body"),
        "{e}"
    );
}

#[test]
fn feed_resets_then_follows_incrementally() {
    let s = Server::start();
    let first = feed(&s, "");
    assert_eq!(first["reset"], true);
    let zones: Vec<&str> = first["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["name"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["sales", "hr"]);
    assert_eq!(
        first["zones"][0]["resources"],
        json!(["hdfs:/lake/sales", "hive:sales.*"])
    );
    let cursor = first["cursor"].as_u64().unwrap();

    let quiet = feed(&s, &format!("?after={cursor}"));
    assert_eq!(
        (
            quiet["reset"].as_bool(),
            quiet["zones"].clone(),
            quiet["cursor"].as_u64()
        ),
        (Some(false), Value::Null, Some(cursor))
    );

    let id = s.ask("hdfs:/lake/sales/orders", "10m");
    let (_, r) = s.call("POST", &format!("/v1/requests/{id}/approve"), BOB, None);
    let gid = r["grant"]["id"].as_str().unwrap().to_string();
    let next = feed(&s, &format!("?after={cursor}"));
    assert_eq!(next["reset"], false);
    assert_eq!(next["grants"][0]["id"], gid.as_str());
    assert_eq!(
        next["grants"][0]["resources"],
        json!(["hdfs:/lake/sales/orders"])
    );
    let cursor2 = next["cursor"].as_u64().unwrap();
    assert!(cursor2 > cursor);

    // A new plugin gets the active grant in its snapshot.
    let snapshot = feed(&s, "?after=0");
    assert_eq!(
        (
            snapshot["reset"].as_bool(),
            snapshot["grants"][0]["id"].as_str()
        ),
        (Some(true), Some(gid.as_str()))
    );

    s.call("POST", &format!("/v1/grants/{gid}/revoke"), BOB, None);
    let after_revoke = feed(&s, &format!("?after={cursor2}"));
    assert_eq!(after_revoke["revoked"], json!([gid]));
    assert!(after_revoke["grants"].as_array().unwrap().is_empty());
    assert!(feed(&s, "?after=0")["grants"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn feed_long_poll_wakes_promptly_on_approve() {
    let s = Server::start();
    let cursor = feed(&s, "")["cursor"].as_u64().unwrap();
    let id = s.ask("hive:sales.orders", "10m");
    let (url, token) = (s.url.clone(), PLUGIN_TOKEN);
    let poll = std::thread::spawn(move || {
        let start = Instant::now();
        let f: Value = ureq::get(&format!("{url}/v1/feed?after={cursor}&wait=30"))
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        (f, start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    let approved_at = Instant::now();
    let (status, _) = s.call("POST", &format!("/v1/requests/{id}/approve"), BOB, None);
    assert_eq!(status, 200);
    let (f, waited) = poll.join().unwrap();
    let after_approve = approved_at.elapsed();
    assert_eq!(f["grants"].as_array().unwrap().len(), 1, "{f}");
    assert!(
        waited < Duration::from_secs(20),
        "the long-poll waited {waited:?} of its 30 s"
    );
    assert!(
        after_approve < Duration::from_secs(10),
        "woke {after_approve:?} after the approval"
    );
}

#[test]
fn idle_long_poll_answers_empty_with_the_same_cursor() {
    let s = Server::start();
    let cursor = feed(&s, "")["cursor"].as_u64().unwrap();
    let start = Instant::now();
    let f = feed(&s, &format!("?after={cursor}&wait=1"));
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "it should have waited"
    );
    assert_eq!(f["cursor"].as_u64(), Some(cursor));
    assert!(
        f["grants"].as_array().unwrap().is_empty() && f["revoked"].as_array().unwrap().is_empty()
    );
}

#[test]
fn plugin_token_is_required_for_feed_and_audit() {
    let s = Server::start();
    for token in [None, Some("wrong-token")] {
        let (status, e) = s.plugin("GET", "/v1/feed", token, None);
        assert_eq!(status, 401, "{e}");
        assert!(e["error"].is_string());
        let (status, _) = s.plugin("POST", "/v1/audit", token, Some(json!({"events": []})));
        assert_eq!(status, 401);
    }
    // A person's trusted headers are not a plugin token.
    let (status, _) = s.call("GET", "/v1/feed", BOB, None);
    assert_eq!(status, 401);
}

#[test]
fn a_generated_plugin_token_is_written_to_the_data_dir() {
    let s = Server::start_with(common::ZONES);
    let token_file = s.dir.path().join("data/plugin-token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    let (status, f) = s.plugin("GET", "/v1/feed", Some(token.trim()), None);
    assert_eq!(status, 200, "{f}");
    assert!(
        s.log().contains(&token_file.display().to_string()),
        "the path is logged: {}",
        s.log()
    );
}

#[test]
fn the_printed_public_key_is_stable_and_verifies_every_feed_reply() {
    let s = Server::start();
    let printed = |data: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_jitgate"))
            .args(["serve", "--print-public-key", "--data"])
            .arg(data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let data = s.dir.path().join("data");
    let key = jitgate::signature::PublicKey::parse(&printed(&data)).unwrap();
    assert_eq!(
        printed(&data),
        key.to_string() + "\n",
        "the same key every time"
    );
    assert!(
        s.log().contains(&key.to_string()),
        "the key is logged at start"
    );
    let key_file = data.join("feed-signing-key");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the private key is the service user's alone"
    );

    let id = s.ask("hdfs:/lake/sales/q4", "10m");
    let (_, r) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        BOB,
        Some(json!({})),
    );
    let grant = r["grant"]["id"].as_str().unwrap().to_string();
    let resp = ureq::get(&format!("{}/v1/feed?nonce=1f2e", s.url))
        .set("Authorization", &format!("Bearer {PLUGIN_TOKEN}"))
        .call()
        .unwrap();
    let signature = resp.header("x-jitgate-signature").map(str::to_string);
    let body = resp.into_string().unwrap();
    key.reply(body.as_bytes(), signature.as_deref()).unwrap();
    let feed: jitgate::wire::Feed = serde_json::from_str(&body).unwrap();
    assert_eq!(feed.nonce.as_deref(), Some("1f2e"));
    key.zones(
        feed.zones.as_deref().unwrap(),
        feed.zones_signature.as_deref(),
    )
    .unwrap();
    let g = feed.grants.iter().find(|g| g.id == grant).unwrap();
    key.grant(g).unwrap();

    let (status, _) = s.plugin("GET", "/v1/feed?nonce=not-hex", Some(PLUGIN_TOKEN), None);
    assert_eq!(status, 400);
    // Another data dir is another service with another key.
    let other = tempfile::tempdir().unwrap();
    assert_ne!(printed(other.path()), key.to_string() + "\n");
}

/// Runs `jitgate serve` on `config` until it prints `until` or exits; returns what it logged.
fn serve_until(config: &str, until: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jitgate.toml");
    let text = config.replace("{dir}", &dir.path().display().to_string());
    std::fs::write(
        &path,
        format!("data_dir = \"{}/data\"\n{text}", dir.path().display()),
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args(["serve", "--config"])
        .arg(&path)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let exited = child.try_wait().unwrap().is_some();
        if text.contains(until) || exited || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return std::fs::read_to_string(&log).unwrap_or_default();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn listening_beyond_this_machine_without_tls_is_warned_about_loudly() {
    let open = serve_until(
        &format!("listen = \"0.0.0.0:0\"\n{}", common::ZONES),
        "listening on",
    );
    assert!(
        open.contains("WARNING") && open.contains("WITHOUT TLS"),
        "{open}"
    );
    let local = serve_until(
        &format!("listen = \"127.0.0.1:0\"\n{}", common::ZONES),
        "listening on",
    );
    assert!(local.contains("listening on http://127.0.0.1:"), "{local}");
    assert!(!local.contains("WITHOUT TLS"), "{local}");
    // A certificate that cannot be read stops the start, naming the file.
    let bad = serve_until(
        &format!(
            "listen = \"0.0.0.0:0\"\n[tls]\ncert_file = \"{{dir}}/missing.pem\"\nkey_file = \"{{dir}}/key.pem\"\n{}",
            common::ZONES
        ),
        "listening on",
    );
    assert!(
        bad.contains("tls.cert_file") && bad.contains("missing.pem"),
        "{bad}"
    );
    assert!(!bad.contains("listening on"), "{bad}");
}

#[test]
fn trusted_headers_from_an_untrusted_address_are_refused() {
    let s = Server::start_with(&format!(
        "[auth]\ntrusted_proxies = [\"10.9.9.9/32\"]\n{}",
        common::ZONES
    ));
    let (status, e) = s.call("GET", "/v1/requests", "alice", None);
    assert_eq!(status, 401);
    assert!(
        e["error"].as_str().unwrap().contains("trusted proxy"),
        "{e}"
    );
}

fn event(id: &str, second: u32, user: &str, resource: &str, operation: &str) -> Value {
    json!({"id": id, "time": format!("2026-11-27T21:00:{second:02}.000Z"), "plugin": "hive", "host": "hs2-1",
           "user": user, "resource": resource, "action": "read", "decision": "allow", "grant_id": "g-abc",
           "request_id": "r-abc", "operation": operation, "context": "hive query q-1"})
}

#[test]
fn audit_ingest_stores_each_event_once() {
    let s = Server::start();
    let batch = json!({"events": [event("h1-1", 0, "alice", "hive:sales.orders", "SELECT"), event("h1-2", 1, "alice", "hive:hr.people", "SELECT")]});
    let (status, r) = s.plugin("POST", "/v1/audit", Some(PLUGIN_TOKEN), Some(batch.clone()));
    assert_eq!((status, r), (200, json!({"accepted": 2})));
    let (_, r) = s.plugin("POST", "/v1/audit", Some(PLUGIN_TOKEN), Some(batch));
    assert_eq!(r, json!({"accepted": 0}));
    let (_, all) = s.call("GET", "/v1/audit", "auditor", None);
    assert_eq!(all["events"].as_array().unwrap().len(), 2);
    let (_, sales) = s.call("GET", "/v1/audit?resource=hive:sales.*", "auditor", None);
    assert_eq!(
        sales["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["h1-1"]
    );
    let (_, since) = s.call(
        "GET",
        "/v1/audit?since=2026-11-27T21:00:01Z",
        "auditor",
        None,
    );
    assert_eq!(since["events"][0]["id"], "h1-2");

    let (status, e) = s.plugin(
        "POST",
        "/v1/audit",
        Some(PLUGIN_TOKEN),
        Some(json!({"events": [{"id": "x"}]})),
    );
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().contains("missing field"),
        "{e}"
    );
}

#[test]
fn audit_exports_csv_with_a_header_row() {
    let s = Server::start();
    let batch = json!({"events": [event("e-1", 0, "alice", "hive:sales.orders", "SELECT a, \"b\" FROM t")]});
    s.plugin("POST", "/v1/audit", Some(PLUGIN_TOKEN), Some(batch));
    let resp = ureq::get(&format!("{}/v1/audit?format=csv&user=alice", s.url))
        .set("X-Forwarded-User", "auditor")
        .call()
        .unwrap();
    assert!(resp.content_type().starts_with("text/csv"));
    let text = resp.into_string().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id,time,plugin,host,user,resource,action,decision,reason,grant_id,request_id,operation,context");
    assert_eq!(
        lines[1],
        "e-1,2026-11-27T21:00:00.000Z,hive,hs2-1,alice,hive:sales.orders,read,allow,,g-abc,r-abc,\"SELECT a, \"\"b\"\" FROM t\",hive query q-1"
    );
    assert_eq!(lines.len(), 2);
}

#[test]
fn health_openapi_and_request_page_are_served() {
    let s = Server::start();
    assert_eq!(
        ureq::get(&format!("{}/healthz", s.url))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
        "ok"
    );
    let doc: Value = ureq::get(&format!("{}/v1/openapi.json", s.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert!(doc["paths"]["/v1/feed"]["get"].is_object());
    let page = ureq::get(&format!("{}/request", s.url))
        .query("resource", "hdfs:/lake/sales/<b>")
        .query("action", "read")
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        page.contains("hdfs:/lake/sales/&lt;b&gt;") && !page.contains("<b>"),
        "{page}"
    );
    assert!(page.contains("--action read --for 10m"), "{page}");
}

#[test]
fn bad_config_stops_the_service_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "listn = \"127.0.0.1:1\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown field `listn`"), "{stderr}");
}

/// CSRF on the JSON API: a call that changes something must be declared JSON (a browser's
/// cross-site form cannot), and one a browser marks with another site's Origin is refused.
#[test]
fn state_changing_calls_must_be_json_and_same_origin() {
    let s = Server::start();
    let body = r#"{"resources": ["hive:sales.orders"], "actions": ["read"], "duration": "5m", "reason": "INC-1"}"#;
    let post = |content_type: Option<&str>, origin: Option<&str>| {
        let mut r = ureq::post(&format!("{}/v1/requests", s.url)).set("X-Forwarded-User", "alice");
        if let Some(t) = content_type {
            r = r.set("Content-Type", t);
        }
        if let Some(o) = origin {
            r = r.set("Origin", o);
        }
        match r.send_string(body) {
            Ok(resp) => resp.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(post(None, None), 415, "no content type");
    assert_eq!(
        post(Some("text/plain"), None),
        415,
        "a form a browser may send cross-site"
    );
    assert_eq!(post(Some("application/x-www-form-urlencoded"), None), 415);
    assert_eq!(
        post(Some("application/json"), Some("https://evil.example")),
        403
    );
    let own = s.url.clone();
    assert_eq!(
        post(Some("application/json; charset=utf-8"), Some(&own)),
        201
    );
    assert_eq!(post(Some("application/json"), None), 201);
    // An approval with no body must still say it is JSON.
    let id = s.ask("hive:sales.orders", "5m");
    let bare = ureq::post(&format!("{}/v1/requests/{id}/approve", s.url))
        .set("X-Forwarded-User", "bob")
        .set("X-Forwarded-Groups", "sales-owners")
        .call();
    assert!(matches!(bare, Err(ureq::Error::Status(415, _))), "{bare:?}");
    // Reads are not state-changing: no content type needed.
    let (status, _) = s.call("GET", &format!("/v1/requests/{id}"), "alice", None);
    assert_eq!(status, 200);
}

/// Control characters stay out of what reaches logs, CSV, chat and terminals; a reason may span lines.
#[test]
fn control_characters_are_refused_in_resources_reasons_and_tickets() {
    let s = Server::start();
    let ask = |resource: &str, reason: &str, ticket: &str| {
        s.call(
            "POST",
            "/v1/requests",
            "alice",
            Some(
                json!({"resources": [resource], "actions": ["read"], "duration": "5m",
                        "reason": reason, "ticket": ticket}),
            ),
        )
    };
    let (status, e) = ask("hdfs:/lake/sales/x\u{1b}[2J", "INC-1", "T-1");
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("control character"),
        "{e}"
    );
    assert_eq!(ask("hdfs:/lake/sales/x", "INC-1 \u{7}", "T-1").0, 400);
    assert_eq!(
        ask("hdfs:/lake/sales/x", "INC-1", "T-1\r\nX-Injected: 1").0,
        400
    );
    let (status, r) = ask("hdfs:/lake/sales/x", "INC-1\r\nsecond line", "T-1");
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["reason"], "INC-1\nsecond line");
}

/// One person, however the proxy spells them: `Alice@EXAMPLE.COM` cannot approve `alice`'s request.
#[test]
fn user_names_are_canonical_before_self_approval_is_checked() {
    let s = Server::start();
    let (status, r) = s.call(
        "POST",
        "/v1/requests",
        "alice",
        Some(
            json!({"resources": ["hive:sales.orders"], "actions": ["read"], "duration": "5m",
                    "reason": "INC-1"}),
        ),
    );
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_str().unwrap();
    for alias in [
        "Alice",
        "ALICE@EXAMPLE.COM",
        "alice/gateway.example@EXAMPLE.COM",
    ] {
        let (status, e) = s.call(
            "POST",
            &format!("/v1/requests/{id}/approve"),
            &format!("{alias}:sales-owners"),
            None,
        );
        assert_eq!(status, 403, "{alias}: {e}");
        assert!(
            e["error"].as_str().unwrap().contains("your own request"),
            "{e}"
        );
    }
    let (status, r) = s.call(
        "GET",
        &format!("/v1/requests/{id}"),
        "Bob@EXAMPLE.COM",
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(r["user"], "alice");
}

/// A proxy may be required to send a shared secret with the user it vouches for.
#[test]
fn a_proxy_secret_is_required_when_configured() {
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("proxy-secret");
    std::fs::write(&file, "0123456789abcdef-proxy\n").unwrap();
    let s = Server::start_with(&format!(
        "[auth]\nproxy_secret_file = \"{}\"\n[plugins]\ntokens_file = \"{{dir}}/tokens\"\n{}",
        file.display(),
        common::ZONES
    ));
    let get = |secret: Option<&str>| {
        let mut r = ureq::get(&format!("{}/v1/grants", s.url)).set("X-Forwarded-User", "alice");
        if let Some(v) = secret {
            r = r.set("X-Jitgate-Proxy-Secret", v);
        }
        match r.call() {
            Ok(resp) => resp.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(get(None), 401);
    assert_eq!(get(Some("wrong-secret-of-some-length")), 401);
    assert_eq!(get(Some("0123456789abcdef-proxy")), 200);
}

/// An e-mail address is not a Kerberos principal: `alice@evil.example` is not `alice`, so a
/// request she files is hers, not alice's, and grants the plugins match against `alice` are not hers.
#[test]
fn an_email_from_another_domain_is_another_person() {
    let s = Server::start();
    let (status, r) = s.call(
        "POST",
        "/v1/requests",
        "alice@evil.example",
        Some(
            json!({"resources": ["hive:sales.orders"], "actions": ["read"], "duration": "5m",
                    "reason": "INC-1"}),
        ),
    );
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["user"], "alice@evil.example");
    let id = r["id"].as_str().unwrap();
    let (status, e) = s.call("POST", &format!("/v1/requests/{id}/cancel"), "alice", None);
    assert_ne!(
        status, 200,
        "alice may not cancel another person's request: {e}"
    );
}

/// `jitgate token add` against the running server's config; returns the printed token.
fn add_token(s: &Server, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args(["token", "add", "--config"])
        .arg(s.dir.path().join("jitgate.toml"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A granted single-use request of `who` (`user:group`) on the sales zone; returns the grant id.
fn single_use_grant(s: &Server, who: &str) -> String {
    let (status, r) = s.call(
        "POST",
        "/v1/requests",
        who,
        Some(
            json!({"resources": ["hive:sales.orders"], "actions": ["read"], "duration": "10m",
                    "reason": "INC-1", "single_use": true}),
        ),
    );
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_str().unwrap();
    let (_, r) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        BOB,
        Some(json!({})),
    );
    r["grant"]["id"].as_str().unwrap().to_string()
}

#[test]
fn a_plugin_token_acts_only_for_its_host_and_user() {
    let s = Server::start();
    // Issued while the service runs, and taken without a restart.
    let nn1 = add_token(&s, &["--host", "nn1.example"]);
    let spark = add_token(&s, &["--host", "spark-gw", "--user", "Alice"]);
    let tokens = std::fs::read_to_string(s.dir.path().join("tokens")).unwrap();
    assert!(
        !tokens.contains(&nn1) && !tokens.contains(&spark),
        "only digests are kept"
    );

    // The service stamps the token's host on every event, whatever the body says.
    let mut forged = event("e-1", 0, "alice", "hive:sales.orders", "SELECT");
    forged["host"] = json!("nn2.example");
    let (status, r) = s.plugin(
        "POST",
        "/v1/audit",
        Some(&nn1),
        Some(json!({"events": [forged]})),
    );
    assert_eq!(status, 200, "{r}");
    let (_, all) = s.call("GET", "/v1/audit", "auditor", None);
    assert_eq!(all["events"][0]["host"], "nn1.example");

    // A user's token records only that user's accesses, under its own host.
    let bobs = event("e-2", 1, "bob", "hive:sales.orders", "SELECT");
    let (status, _) = s.plugin(
        "POST",
        "/v1/audit",
        Some(&spark),
        Some(json!({"events": [bobs]})),
    );
    assert_eq!(status, 403);
    let alices = event("e-3", 2, "alice", "hive:sales.orders", "SELECT");
    let (status, _) = s.plugin(
        "POST",
        "/v1/audit",
        Some(&spark),
        Some(json!({"events": [alices]})),
    );
    assert_eq!(status, 200);
    let (_, all) = s.call("GET", "/v1/audit?user=alice", "auditor", None);
    let hosts: Vec<_> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["host"].clone())
        .collect();
    assert!(hosts.contains(&json!("spark-gw")), "{all}");

    // ... reads only that user's grants, and uses only that user's single-use grants.
    let alice_grant = single_use_grant(&s, "alice:analysts");
    let carol_grant = single_use_grant(&s, "carol:analysts");
    let (_, f) = s.plugin("GET", "/v1/feed", Some(&spark), None);
    let users: Vec<_> = f["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["user"].clone())
        .collect();
    assert_eq!(users, [json!("alice")], "{f}");
    let (_, f) = s.plugin("GET", "/v1/feed", Some(&nn1), None);
    assert_eq!(
        f["grants"].as_array().unwrap().len(),
        2,
        "a host's token reads every grant"
    );
    let consume = |token: &str, grant: &str| {
        s.plugin(
            "POST",
            &format!("/v1/grants/{grant}/consume"),
            Some(token),
            Some(json!({"context": "q"})),
        )
        .0
    };
    assert_eq!(
        consume(&spark, &carol_grant),
        403,
        "another user's grant cannot be burnt"
    );
    assert_eq!(consume(&spark, &alice_grant), 200);

    // A plugin token is not a person.
    let (status, _) = s.plugin("GET", "/v1/grants", Some(&nn1), None);
    assert_eq!(status, 401);
    // A token removed from the file stops at once.
    std::fs::write(s.dir.path().join("tokens"), format!("{PLUGIN_TOKEN}\n")).unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(s.dir.path().join("tokens"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let (status, _) = s.plugin("GET", "/v1/feed", Some(&nn1), None);
    assert_eq!(status, 401);
}

/// `jitgate audit verify` as a client of `s`: exit success and what it printed.
fn verify(s: &Server, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .env_remove("JITGATE_SERVER")
        .args(["--server", &s.url, "--as", "auditor", "audit", "verify"])
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn sqlite(s: &Server, sql: &str) {
    let db = s.dir.path().join("data/jitgate.db");
    let out = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(sql)
        .output()
        .expect("the sqlite3 command (Debian package sqlite3; .ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_audit_chain_names_the_first_row_edited_or_deleted() {
    let s = Server::start();
    let id = s.ask("hdfs:/lake/sales/q4", "10m");
    let (status, _) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        BOB,
        Some(json!({})),
    );
    assert_eq!(status, 200);
    let batch = json!({"events": [
        event("e-1", 1, "alice", "hive:sales.orders", "SELECT"),
        event("e-2", 2, "alice", "hive:sales.orders", "SELECT"),
        event("e-3", 3, "alice", "hive:sales.orders", "SELECT"),
    ]});
    let (status, _) = s.plugin("POST", "/v1/audit", Some(PLUGIN_TOKEN), Some(batch.clone()));
    assert_eq!(status, 200);
    // A re-sent batch is stored once and adds no links.
    s.plugin("POST", "/v1/audit", Some(PLUGIN_TOKEN), Some(batch));
    let (ok, text) = verify(&s, &[]);
    assert!(ok && text.contains("audit chain holds"), "{text}");

    // The period report carries the head; it is on the chain, a made-up one is not.
    let (_, report) = s.call("GET", "/report?format=json", "auditor", None);
    let head = report["chain_head"]["hash"].as_str().unwrap().to_string();
    let (_, v) = s.call("GET", "/v1/audit/verify", "auditor", None);
    assert_eq!(v["head"]["hash"], head.as_str(), "{v}");
    // created, approved, granted, and three audit events
    assert_eq!(v["links"], 6, "{v}");
    assert!(verify(&s, &["--expect", &head]).0);
    let (ok, text) = verify(&s, &["--expect", &"ab".repeat(32)]);
    assert!(!ok && text.contains("NOT on the chain"), "{text}");

    // An intruder with the database edits one event: verify names it.
    sqlite(&s, "UPDATE audit SET user = 'mallory' WHERE id = 'e-2'");
    let (ok, text) = verify(&s, &[]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("audit event e-2") && text.contains("edited"),
        "{text}"
    );
    sqlite(&s, "UPDATE audit SET user = 'alice' WHERE id = 'e-2'");
    assert!(
        verify(&s, &[]).0,
        "put back as it was, the chain holds again"
    );

    // A forged event slipped in outside the chain (no link at all) is seen too.
    sqlite(
        &s,
        "INSERT INTO audit (id, time, plugin, host, user, resource, action, decision, received_at) \
         VALUES ('forged', 0, 'hdfs', 'nn1', 'alice', 'hdfs:/x', 'read', 'allow', 0)",
    );
    let (ok, text) = verify(&s, &[]);
    assert!(!ok && text.contains("outside the chain"), "{text}");
    sqlite(&s, "DELETE FROM audit WHERE id = 'forged'");
    assert!(verify(&s, &[]).0);

    // The newest event deleted: the chain ends before its head.
    sqlite(&s, "DELETE FROM audit WHERE id = 'e-3'");
    let (ok, text) = verify(&s, &[]);
    assert!(!ok && text.contains("ends at link 5"), "{text}");
    // A history step deleted: the link it held is named missing.
    sqlite(&s, "DELETE FROM events WHERE kind = 'approved'");
    let (ok, text) = verify(&s, &[]);
    assert!(!ok && text.contains("missing"), "{text}");
}

#[test]
fn audit_results_come_in_pages_that_miss_nothing() {
    let s = Server::start();
    // Two events share a time: the page cursor tells them apart.
    let events: Vec<Value> = [0, 1, 1, 2, 3]
        .iter()
        .enumerate()
        .map(|(i, sec)| {
            event(
                &format!("p-{i}"),
                *sec,
                "alice",
                "hive:sales.orders",
                "SELECT",
            )
        })
        .collect();
    s.plugin(
        "POST",
        "/v1/audit",
        Some(PLUGIN_TOKEN),
        Some(json!({ "events": events })),
    );
    let mut seen = vec![];
    let mut after = String::new();
    loop {
        let (status, page) = s.call(
            "GET",
            &format!("/v1/audit?limit=2&after={after}"),
            "auditor",
            None,
        );
        assert_eq!(status, 200, "{page}");
        for e in page["events"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, ["p-0", "p-1", "p-2", "p-3", "p-4"]);
    let (status, _) = s.call("GET", "/v1/audit?after=yesterday", "auditor", None);
    assert_eq!(status, 400);
}
