//! Builds examples/c/decide.c against include/jitgate.h and the cdylib, and runs it on a
//! cached snapshot: the C ABI end to end, with no service.

use std::path::{Path, PathBuf};
use std::process::Command;

use jitgate::signature::SigningKey;
use jitgate::wire::{self, Feed, Grant, Zone};

/// The service key the snapshot is signed with, as if the service had sent it.
fn service_key() -> SigningKey {
    SigningKey::from_seed([9; 32])
}

fn cdylib_dir() -> PathBuf {
    // target/<profile>/deps/c_example-… → target/<profile>
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn write_snapshot(dir: &Path) {
    let now = wire::now_millis();
    let mut feed = Feed {
        cursor: 7,
        server_time: wire::format_time(now),
        reset: true,
        zones: Some(vec![Zone {
            name: "sales".into(),
            resources: vec!["hdfs:/lake/sales".into()],
            approvers: vec!["sales-owners".into()],
            approvals: 1,
            actions: vec!["read".into()],
            max_duration: "15m".into(),
        }]),
        grants: vec![Grant {
            id: "g-1".into(),
            request_id: "r-1".into(),
            user: "alice".into(),
            resources: vec!["hdfs:/lake/sales/orders".into()],
            actions: vec!["read".into()],
            not_before: wire::format_time(now - 1000),
            expires_at: wire::format_time(now + 600_000),
            approvers: vec!["bob".into()],
            single_use: false,
            signature: None,
        }],
        revoked: vec![],
        zones_signature: None,
        nonce: None,
    };
    let key = service_key();
    feed.zones_signature = Some(key.zones(feed.zones.as_ref().unwrap()));
    for g in &mut feed.grants {
        g.signature = Some(key.grant(g));
    }
    std::fs::write(dir.join("snapshot.json"), jitgate::cache::encode(&feed)).unwrap();
}

#[test]
fn c_program_decides_through_the_header_and_library() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = cdylib_dir();
    assert!(
        lib.join("libjitgate.so").exists(),
        "build the cdylib first: cargo build --release"
    );
    let tmp = tempfile::tempdir().unwrap();
    let exe = tmp.path().join("decide");
    let cc = Command::new("cc")
        .args(["-Wall", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(root.join("examples/c/decide.c"))
        .arg("-L")
        .arg(&lib)
        .args(["-ljitgate", "-o"])
        .arg(&exe)
        .status()
        .expect("a C compiler");
    assert!(cc.success());

    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    write_snapshot(&cache);
    let run = |user: &str, resource: &str, action: &str| {
        let out = Command::new(&exe)
            .args([user, resource, action])
            .env("LD_LIBRARY_PATH", &lib)
            .env(
                "JITGATE_CONFIG",
                format!(
                    "jitgate.cache.dir={}\njitgate.request.url=http://svc\n\
                     jitgate.service.public.key={}",
                    cache.display(),
                    service_key().public()
                ),
            )
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    };
    assert_eq!(
        run("alice", "hdfs:/lake/sales/orders/part-0", "read"),
        (Some(0), "allow".into())
    );
    assert_eq!(
        run("alice", "hdfs:/tmp/x", "write"),
        (Some(0), "not protected".into())
    );
    let (code, msg) = run("alice", "hdfs:/lake/sales/customers", "read");
    assert_eq!(code, Some(1));
    assert_eq!(
        msg,
        "jitgate: alice may not read hdfs:/lake/sales/customers (no active grant). \
         Request it: http://svc/request?resource=hdfs:/lake/sales/customers&action=read"
    );
    // the allowed and denied decisions were recorded; with no service they wait in the spill
    let spill = std::fs::read_to_string(cache.join("audit-spill.jsonl")).unwrap();
    assert!(
        spill.contains(r#""decision":"allow""#) && spill.contains(r#""grant_id":"g-1""#),
        "{spill}"
    );
    assert!(spill.contains(r#""decision":"deny""#), "{spill}");
}
