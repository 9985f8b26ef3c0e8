//! A plugin's metrics (`Engine::metrics`, and the same through the C ABI's `jitgate_metrics`)
//! while it follows a real `jitgate serve`: decisions counted by outcome, the feed's lag and the
//! audit spill while the service is down, both back to 0 once it returns.

mod common;

use std::ffi::CString;
use std::time::Duration;

use common::{eventually, plugin_config, Service};
use jitgate::metrics::PluginMetrics;
use jitgate::{Access, ActionSet, Config, Decision, Engine};

const WAIT: Duration = Duration::from_secs(20);
const PART: &str = "hdfs:/lake/sales/orders/part-0";

fn read(e: &Engine, user: &str, resource: &str) -> Decision {
    e.decide(&Access {
        user,
        resource,
        actions: ActionSet(1),
        subtree: false,
        operation: Some("open"),
        context: None,
    })
}

#[test]
fn decisions_lag_and_spill_are_counted_and_recover() {
    let tmp = tempfile::tempdir().unwrap();
    let mut svc = Service::start(tmp.path());
    let config = plugin_config(&svc.url, tmp.path(), "jitgate.feed.wait.seconds=2");
    let e = Engine::start(Config::parse(&config).unwrap()).unwrap();
    eventually(WAIT, "first snapshot", || {
        e.snapshot().verified.then_some(())
    });

    let start = e.metrics();
    assert_eq!((start.allowed, start.denied), (0, 0));
    assert_eq!(start.feed_lag_millis, 0, "following the feed");
    assert!(matches!(read(&e, "alice", PART), Decision::Deny(_)));
    let grant = svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["read"], "10m"));
    eventually(WAIT, "grant", || e.grant_live(&grant).then_some(()));
    assert!(matches!(read(&e, "alice", PART), Decision::Allow(_)));
    assert!(matches!(read(&e, "alice", PART), Decision::Allow(_)));
    read(&e, "alice", "hdfs:/open/x"); // outside every zone: not a decision to count
    let m = e.metrics();
    assert_eq!((m.allowed, m.denied), (2, 1));
    let (_, _) = eventually(WAIT, "audit queue drained", || {
        (e.metrics().audit_queue_depth == 0).then_some(())
    });
    assert_eq!(m.audit_spill_bytes, 0);

    svc.stop();
    let down = eventually(WAIT, "feed lag while the service is down", || {
        read(&e, "bob", PART); // a denial to record, which has to be spilled
        let m = e.metrics();
        (m.feed_lag_millis > 0 && m.audit_spill_bytes > 0).then_some(m)
    })
    .0;
    assert!(down.denied >= 2);

    svc.restart();
    eventually(WAIT, "lag and spill back to 0", || {
        let m = e.metrics();
        (m.feed_lag_millis == 0 && m.audit_spill_bytes == 0).then_some(())
    });
    e.close();
}

#[test]
fn the_c_abi_writes_the_same_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let config = CString::new(format!(
        "jitgate.cache.dir={}\njitgate.fallback.zones=hdfs:/lake",
        tmp.path().display()
    ))
    .unwrap();
    unsafe {
        let h = jitgate::bridge::c::jitgate_open(config.as_ptr());
        assert_ne!(h, 0);
        let (user, path) = (
            CString::new("alice").unwrap(),
            CString::new("/lake/x").unwrap(),
        );
        let code = jitgate::bridge::c::jitgate_decide(
            h,
            user.as_ptr(),
            path.as_ptr(),
            1,
            std::ptr::null(),
            std::ptr::null(),
        );
        assert!(code >= 2, "no snapshot yet: denied ({code})");
        let need = jitgate::bridge::c::jitgate_metrics(h, std::ptr::null_mut(), 0);
        let mut buf = vec![0u8; need + 1];
        jitgate::bridge::c::jitgate_metrics(h, buf.as_mut_ptr().cast(), buf.len());
        let text = String::from_utf8(buf[..need].to_vec()).unwrap();
        let names: Vec<&str> = text.lines().filter_map(|l| l.split(' ').next()).collect();
        assert_eq!(names, PluginMetrics::NAMES);
        assert!(text.contains("decisions_denied 1\n"), "{text}");
        assert!(text.contains("decisions_allowed 0\n"), "{text}");
        jitgate::bridge::c::jitgate_close(h);
        assert_eq!(
            jitgate::bridge::c::jitgate_metrics(h, buf.as_mut_ptr().cast(), buf.len()),
            0,
            "a closed engine has none"
        );
    }
}
