//! The C ABI's answers to what a caller may get wrong, on a signed cached snapshot with the zone
//! `hdfs:/lake/sales`. java/common's `JitGateTest#missingStringsAreBadInputAndBarePathsAreHdfsPaths`
//! asks JNI the same: both bridges decide through one function (`bridge::decide`).

use std::ffi::{c_char, CString};
use std::ptr::null;

use jitgate::bridge::c::*;
use jitgate::signature::SigningKey;
use jitgate::wire::{self, Feed, Zone};

fn open(cache: &std::path::Path) -> u64 {
    let key = SigningKey::from_seed([3; 32]);
    let mut feed = Feed {
        cursor: 1,
        server_time: wire::format_time(wire::now_millis()),
        reset: true,
        zones: Some(vec![Zone {
            name: "sales".into(),
            resources: vec!["hdfs:/lake/sales".into()],
            approvers: vec![],
            approvals: 1,
            actions: vec!["read".into()],
            max_duration: "15m".into(),
        }]),
        zones_signature: None,
        grants: vec![],
        revoked: vec![],
        nonce: None,
    };
    key.sign_contents(&mut feed);
    std::fs::create_dir_all(cache).unwrap();
    std::fs::write(cache.join("snapshot.json"), jitgate::cache::encode(&feed)).unwrap();
    let config = CString::new(format!(
        "jitgate.cache.dir={}\njitgate.service.public.key={}\njitgate.plugin=test",
        cache.display(),
        key.public()
    ))
    .unwrap();
    let engine = unsafe { jitgate_open(config.as_ptr()) };
    assert_ne!(engine, 0);
    engine
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// `jitgate_decide` with READ and the operation `open`; None stands for NULL.
fn decide(engine: u64, user: Option<&str>, resource: Option<&str>) -> i32 {
    let (user, resource) = (user.map(c), resource.map(c));
    let ptr = |s: &Option<CString>| s.as_ref().map_or(null(), |s| s.as_ptr());
    let open = c("open");
    unsafe {
        jitgate_decide(
            engine,
            ptr(&user),
            ptr(&resource),
            JITGATE_READ,
            open.as_ptr(),
            null(),
        )
    }
}

fn explain(engine: u64, user: *const c_char, resource: *const c_char, code: i32) -> String {
    let mut buf = vec![0u8; 512];
    let n = unsafe {
        jitgate_explain(
            engine,
            user,
            resource,
            JITGATE_READ,
            code,
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn missing_strings_are_bad_input_and_bare_paths_are_hdfs_paths() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let engine = open(&cache);
    let alice = Some("alice");
    for (user, resource, code, why) in [
        (
            None,
            Some("hdfs:/open/x"),
            JITGATE_DENY_BAD_INPUT,
            "no user, outside every zone",
        ),
        (
            None,
            Some("hdfs:/lake/sales/x"),
            JITGATE_DENY_BAD_INPUT,
            "no user, in a zone",
        ),
        (alice, None, JITGATE_DENY_BAD_INPUT, "no resource"),
        (
            alice,
            Some("lake/sales/x"),
            JITGATE_DENY_BAD_INPUT,
            "a relative path",
        ),
        (
            alice,
            Some("/open/x"),
            JITGATE_NOT_PROTECTED,
            "a bare path outside every zone",
        ),
        (
            alice,
            Some("/lake/sales/x"),
            JITGATE_DENY_NO_GRANT,
            "a bare path in a zone",
        ),
        (
            alice,
            Some("//lake/sales/x"),
            JITGATE_DENY_NO_GRANT,
            "a doubled slash is no host",
        ),
    ] {
        assert_eq!(decide(engine, user, resource), code, "{why}");
    }
    let (user, to) = (c("alice"), c("/lake/sales/x"));
    let rename = unsafe {
        jitgate_decide_move(
            engine,
            user.as_ptr(),
            to.as_ptr(),
            null(),
            JITGATE_TRANSFORM,
            null(),
            null(),
        )
    };
    assert_eq!(rename, JITGATE_DENY_BAD_INPUT, "a move to nowhere");
    let why = explain(engine, user.as_ptr(), to.as_ptr(), JITGATE_DENY_NO_GRANT);
    assert!(
        why.contains("alice may not read hdfs:/lake/sales/x (no active grant)"),
        "{why}"
    );
    let unnamed = explain(engine, null(), null(), JITGATE_DENY_BAD_INPUT);
    assert!(
        unnamed.contains("? may not read ? (the request could not be read)"),
        "{unnamed}"
    );
    jitgate_close(engine);
    let spill = std::fs::read_to_string(cache.join("audit-spill.jsonl")).unwrap();
    assert_eq!(
        spill.matches(r#""reason":"bad-input""#).count(),
        5,
        "each bad input is recorded, in a zone or not: {spill}"
    );
    assert_eq!(
        decide(engine, None, Some("hdfs:/open/x")),
        JITGATE_DENY_CLOSED
    );
}
