//! HTTPS between plugins (and the CLI) and a real `jitgate serve` holding a certificate from a
//! test CA: trusted through `jitgate.service.ca.file` / `--ca-file` only.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{eventually, plugin_config, target_dir, Service};
use jitgate::{Access, ActionSet, Config, Decision, DenyReason, Engine};

const PART: &str = "hdfs:/lake/sales/orders/part-0";

fn engine(url: &str, dir: &std::path::Path, extra: &str) -> Result<Engine, String> {
    let extra = format!("jitgate.feed.wait.seconds=1\njitgate.start.wait.millis=3000\n{extra}");
    Engine::start(Config::parse(&plugin_config(url, dir, &extra))?)
}

fn read(e: &Engine, user: &str) -> Decision {
    e.decide(&Access {
        user,
        resource: PART,
        actions: ActionSet(1),
        subtree: false,
        operation: Some("open"),
        context: None,
    })
}

#[test]
fn plugins_follow_and_audit_over_https_trusting_only_the_named_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let (svc, ca) = Service::start_tls(tmp.path());
    assert!(svc.url.starts_with("https://"));

    let host = tempfile::tempdir().unwrap();
    let ca_key = format!("jitgate.service.ca.file={}", ca.display());
    let e = engine(&svc.url, host.path(), &ca_key).unwrap();
    assert!(e.snapshot().verified, "the first answer came over HTTPS");
    let grant = svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["read"], "10m"));
    eventually(Duration::from_secs(20), "the grant over HTTPS", || {
        e.grant_live(&grant).then_some(())
    });
    assert!(matches!(read(&e, "alice"), Decision::Allow(_)));
    eventually(
        Duration::from_secs(20),
        "the audit event over HTTPS",
        || (!svc.audit("user=alice").is_empty()).then_some(()),
    );
    e.close();

    // The system's roots do not know the test CA; plain HTTP to the HTTPS port is no service.
    let http = svc.url.replacen("https://", "http://", 1);
    for (what, url, extra) in [
        ("the system's roots", svc.url.as_str(), ""),
        ("plain HTTP", http.as_str(), ""),
    ] {
        let other = tempfile::tempdir().unwrap();
        let e = engine(url, other.path(), extra).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        assert!(!e.snapshot().verified, "{what}");
        assert_eq!(
            read(&e, "alice"),
            Decision::Deny(DenyReason::NoSnapshot),
            "{what}"
        );
        e.close();
    }
    let missing = format!("jitgate.service.ca.file={}/none.pem", tmp.path().display());
    let err = engine(&svc.url, host.path(), &missing).err().unwrap();
    assert!(err.contains("none.pem"), "{err}");
}

#[test]
fn the_cli_speaks_https_with_its_ca_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (svc, ca) = Service::start_tls(tmp.path());
    let cli = |ca_file: Option<&std::path::Path>| {
        let mut c = Command::new(target_dir().join("jitgate"));
        c.env_remove("JITGATE_SERVER")
            .env_remove("JITGATE_CA_FILE")
            .args(["--server", &svc.url, "--as", "alice", "--json"]);
        if let Some(f) = ca_file {
            c.arg("--ca-file").arg(f);
        }
        c.arg("grants").output().unwrap()
    };
    let ok = cli(Some(&ca));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let refused = cli(None);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
