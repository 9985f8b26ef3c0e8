//! The `jitgate` client subcommands against a real `jitgate serve`.

mod common;

use common::Server;
use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn jitgate(s: &Server, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jitgate"));
    c.env_remove("JITGATE_SERVER")
        .env_remove("JITGATE_TOKEN")
        .args(["--server", &s.url])
        .args(args);
    c
}

fn run(s: &Server, args: &[&str]) -> Output {
    jitgate(s, args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn cli_request_approve_and_grants_round_trip() {
    let s = Server::start();
    let out = run(
        &s,
        &[
            "--as",
            "alice",
            "--json",
            "request",
            "hive:sales.orders",
            "--action",
            "read,export",
            "--for",
            "10m",
            "--reason",
            "INC-4411",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (r["status"].as_str(), r["actions"].clone()),
        (Some("pending"), serde_json::json!(["read", "export"]))
    );
    let id = r["id"].as_str().unwrap();

    let out = run(
        &s,
        &["--as", "bob:sales-owners", "approve", id, "--comment", "go"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("request {id} approved")),
        "{}",
        stdout(&out)
    );

    let out = run(&s, &["--as", "alice", "grants", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let grants: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(grants.as_array().unwrap().len(), 1);
    assert_eq!(
        (grants[0]["user"].as_str(), grants[0]["request_id"].as_str()),
        (Some("alice"), Some(id))
    );

    let table = stdout(&run(&s, &["--as", "alice", "requests"]));
    assert!(
        table.starts_with("ID") && table.contains(id) && table.contains("approved"),
        "{table}"
    );
}

#[test]
fn cli_request_wait_exits_zero_once_approved() {
    let s = Server::start();
    let mut child = jitgate(
        &s,
        &[
            "--as",
            "alice",
            "request",
            "hdfs:/lake/sales/orders",
            "--action",
            "read",
            "--for",
            "5m",
            "--reason",
            "INC-9",
            "--wait",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let (_, pending) = s.call("GET", "/v1/requests?status=pending", "bob", None);
        if let Some(id) = pending["requests"][0]["id"].as_str() {
            break id.to_string();
        }
        assert!(Instant::now() < deadline, "the request never appeared");
        std::thread::sleep(Duration::from_millis(50));
    };
    let approver = {
        let (url, id) = (s.url.clone(), id.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            ureq::post(&format!("{url}/v1/requests/{id}/approve"))
                .set("X-Forwarded-User", "bob")
                .set("X-Forwarded-Groups", "sales-owners")
                .set("Content-Type", "application/json")
                .send_string("")
                .unwrap()
                .status()
        })
    };
    assert_eq!(approver.join().unwrap(), 200);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("jitgate request --wait did not exit after the approval");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    assert!(status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{}/v1/requests/{id}", s.url)),
        "{text}"
    );
    assert!(text.contains("approved: grant g-"), "{text}");
}

#[test]
fn cli_request_wait_exits_one_when_denied() {
    let s = Server::start();
    let child = jitgate(
        &s,
        &[
            "--as",
            "alice",
            "request",
            "hive:sales.t",
            "--action",
            "read",
            "--for",
            "5m",
            "--reason",
            "x",
            "--wait",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let (_, pending) = s.call("GET", "/v1/requests?status=pending", "bob", None);
        if let Some(id) = pending["requests"][0]["id"].as_str() {
            break id.to_string();
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    };
    let (status, _) = s.call(
        "POST",
        &format!("/v1/requests/{id}/deny"),
        "bob:sales-owners",
        Some(serde_json::json!({"reason": "freeze"})),
    );
    assert_eq!(status, 200);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("was denied by bob: freeze"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cli_prints_the_service_error_and_exits_nonzero() {
    let s = Server::start();
    let out = run(
        &s,
        &[
            "--as",
            "alice",
            "request",
            "hive:sales.orders",
            "--action",
            "read",
            "--for",
            "2h",
            "--reason",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("exceeds the 15m cap of zone sales"),
        "{}",
        stderr(&out)
    );
    let out = run(&s, &["--as", "bob", "approve", "r-doesnotexist"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).trim(), "jitgate: no request r-doesnotexist");
}

#[test]
fn cli_without_a_server_says_it_cannot_reach_it() {
    let port = common::free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .env_remove("JITGATE_TOKEN")
        .args([
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--as",
            "alice",
            "requests",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot reach the jitgate service"),
        "{}",
        stderr(&out)
    );
}

/// The tables read the service's views: grants with their state, a revoke, the audit trail and
/// the chain's check.
#[test]
fn cli_tables_show_grants_revokes_audit_events_and_the_chain() {
    let s = Server::start();
    let id = s.ask("hive:sales.orders", "10m");
    let (_, r) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        "bob:sales-owners",
        None,
    );
    let gid = r["grant"]["id"].as_str().unwrap().to_string();
    let now = jitgate::wire::format_time(jitgate::wire::now_millis());
    let (status, _) = s.plugin(
        "POST",
        "/v1/audit",
        Some(common::PLUGIN_TOKEN),
        Some(
            serde_json::json!({"events": [{"id": "e1", "time": now, "plugin": "hive", "host": "hs2",
            "user": "alice", "resource": "hive:sales.orders", "action": "read", "decision": "allow",
            "grant_id": gid, "request_id": id, "operation": "SELECT"}]}),
        ),
    );
    assert_eq!(status, 200);

    let grants = stdout(&run(&s, &["--as", "alice", "grants"]));
    let row = grants.lines().find(|l| l.starts_with(&gid)).unwrap_or("");
    assert!(
        row.contains("alice") && row.contains("hive:sales.orders") && row.contains("active"),
        "{grants}"
    );
    let audit = stdout(&run(&s, &["--as", "audrey", "audit", "--user", "alice"]));
    let row = audit.lines().nth(1).unwrap_or("");
    assert!(
        row.contains("hive")
            && row.contains("allow")
            && row.contains(&gid)
            && row.contains("SELECT"),
        "{audit}"
    );
    // A full page says where the next starts, and that page holds the rest.
    let later = jitgate::wire::format_time(jitgate::wire::now_millis() + 1);
    let (status, _) = s.plugin(
        "POST",
        "/v1/audit",
        Some(common::PLUGIN_TOKEN),
        Some(
            serde_json::json!({"events": [{"id": "e2", "time": later, "plugin": "hive", "host": "hs2",
            "user": "alice", "resource": "hive:sales.orders", "action": "read", "decision": "deny"}]}),
        ),
    );
    assert_eq!(status, 200);
    for format in [&[][..], &["--csv"][..]] {
        let first = run(
            &s,
            &[
                &["--as", "audrey", "audit", "--user", "alice", "--limit", "1"],
                format,
            ]
            .concat(),
        );
        let hint = stderr(&first);
        let after = hint
            .trim()
            .strip_prefix("jitgate: more events follow: add --after ")
            .unwrap_or_else(|| panic!("no next page named: {hint:?}"));
        let rest = run(
            &s,
            &[
                &[
                    "--as", "audrey", "audit", "--user", "alice", "--after", after,
                ],
                format,
            ]
            .concat(),
        );
        assert!(rest.status.success(), "{}", stderr(&rest));
        assert_eq!(stderr(&rest), "", "the last page names no next one");
        let (first, rest) = (stdout(&first), stdout(&rest));
        assert!(
            first.contains("allow") != rest.contains("allow")
                && first.contains("deny") != rest.contains("deny"),
            "each event on exactly one page:\n{first}\n{rest}"
        );
    }
    let out = run(&s, &["--as", "audrey", "audit", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("audit chain holds: "),
        "{}",
        stdout(&out)
    );

    let out = run(&s, &["--as", "alice", "revoke", &gid]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("grant {gid} revoked\n"));
    let grants = stdout(&run(&s, &["--as", "alice", "grants", "--all"]));
    assert!(
        grants
            .lines()
            .any(|l| l.starts_with(&gid) && l.contains("revoked")),
        "{grants}"
    );
}

#[test]
fn cli_schedules_a_later_window_and_extends_a_grant_the_same_approvers_decide() {
    let s = Server::start();
    let json = |o: &Output| -> Value {
        assert!(o.status.success(), "{}", stderr(o));
        serde_json::from_str(&stdout(o)).unwrap()
    };
    // A window starting in an hour: the grant exists from approval, valid from its start.
    let start = jitgate::wire::format_time(jitgate::wire::now_millis() + 3_600_000);
    let r = json(&run(
        &s,
        &[
            "--as",
            "alice",
            "--json",
            "request",
            "hive:sales.orders",
            "--action",
            "read",
            "--for",
            "10m",
            "--reason",
            "night job",
            "--start",
            &start,
        ],
    ));
    assert_eq!(r["starts_at"], start.as_str());
    let a = json(&run(
        &s,
        &[
            "--as",
            "bob:sales-owners",
            "--json",
            "approve",
            r["id"].as_str().unwrap(),
        ],
    ));
    assert_eq!(a["grant"]["not_before"], start.as_str());
    let too_far = jitgate::wire::format_time(jitgate::wire::now_millis() + 8 * 24 * 3_600_000);
    let out = run(
        &s,
        &[
            "--as",
            "alice",
            "request",
            "hive:sales.orders",
            "--action",
            "read",
            "--for",
            "10m",
            "--reason",
            "x",
            "--start",
            &too_far,
        ],
    );
    assert!(
        !out.status.success() && stderr(&out).contains("schedule_horizon"),
        "{}",
        stderr(&out)
    );

    // A grant held now, extended: one request more, the same grant after.
    let r = json(&run(
        &s,
        &[
            "--as",
            "alice",
            "--json",
            "request",
            "hive:sales.orders",
            "--action",
            "read",
            "--for",
            "10m",
            "--reason",
            "INC-4411",
        ],
    ));
    let g = json(&run(
        &s,
        &[
            "--as",
            "bob:sales-owners",
            "--json",
            "approve",
            r["id"].as_str().unwrap(),
        ],
    ))["grant"]
        .clone();
    let gid = g["id"].as_str().unwrap();
    let out = run(
        &s,
        &[
            "--as", "carol", "extend", gid, "--for", "5m", "--reason", "mine",
        ],
    );
    assert!(
        !out.status.success() && stderr(&out).contains("not yours"),
        "{}",
        stderr(&out)
    );
    let e = json(&run(
        &s,
        &[
            "--as",
            "alice",
            "--json",
            "extend",
            gid,
            "--for",
            "5m",
            "--reason",
            "runs long",
        ],
    ));
    assert_eq!(
        (e["status"].as_str(), e["extends"].as_str()),
        (Some("pending"), Some(gid))
    );
    let out = run(&s, &["--as", "alice", "approve", e["id"].as_str().unwrap()]);
    assert!(!out.status.success(), "nobody approves their own extension");
    let done = json(&run(
        &s,
        &[
            "--as",
            "bob:sales-owners",
            "--json",
            "approve",
            e["id"].as_str().unwrap(),
        ],
    ));
    assert_eq!(done["grant"]["id"], gid);
    let old_end = jitgate::wire::parse_time(g["expires_at"].as_str().unwrap()).unwrap();
    let new_end = jitgate::wire::parse_time(done["grant"]["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        new_end - old_end,
        5 * 60_000,
        "from its old end, without a gap"
    );
    let grants = json(&run(&s, &["--as", "alice", "--json", "grants"]));
    assert_eq!(
        grants
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["request_id"] == r["id"])
            .count(),
        1
    );
}
