//! How fast grant changes reach the core, against a real `jitgate serve` process on loopback:
//! approval → first allowed decision, revoke → first denied decision, and how long after a
//! grant's `expires_at` the first denial comes. Polls the snapshot (no audit records), so what is
//! measured is the feed path: service commit → long poll → new snapshot.
//!
//! With JITGATE_GRANTS=N the core holds N more grants (other users', on 100 tables of the zone,
//! signed with the test service's key) from a cache file it starts from, and the service sends
//! it only the changes; the process's resident memory is shown after the start and at its peak
//! during the trials.
//!
//! cargo build --release --workspace && cargo bench --bench propagation
//! (JITGATE_TRIALS=N for another trial count; the expiry trials take a second each)

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Service, TOKEN};
use jitgate::snapshot::Decision;
use jitgate::{wire, ActionSet, Config, Engine};

const PART: &str = "hdfs:/lake/sales/orders/part-0";
const READ: ActionSet = ActionSet(1);

fn allowed(e: &Engine, user: &str) -> bool {
    matches!(
        e.snapshot()
            .decide(user, PART, READ, false, wire::now_millis()),
        Decision::Allow(_)
    )
}

fn spin_until(limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "no change within {limit:?}");
        std::hint::spin_loop();
    }
    start.elapsed()
}

fn report(name: &str, mut samples: Vec<f64>, unit: &str) {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name:<28} n={:<4} p50={:>8.2}{unit} p99={:>8.2}{unit} max={:>8.2}{unit}",
        samples.len(),
        pct(0.5),
        pct(0.99),
        samples[samples.len() - 1]
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks every bench target for its names
    }
    let trials: usize = std::env::var("JITGATE_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(100);
    let grants: usize = std::env::var("JITGATE_GRANTS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(tmp.path());
    std::fs::write(tmp.path().join("plugin-token"), TOKEN).unwrap();
    let config = format!(
        "jitgate.service.url={}\njitgate.service.token.file={}\njitgate.cache.dir={}\n\
         jitgate.service.public.key={}\njitgate.plugin=bench",
        svc.url,
        tmp.path().join("plugin-token").display(),
        tmp.path().join("cache").display(),
        common::public_key()
    );
    if grants > 0 {
        seed_cache(&config, &tmp.path().join("cache/snapshot.json"), grants);
    }
    let e = Engine::start(Config::parse(&config).unwrap()).unwrap();
    spin_until(Duration::from_secs(20), || e.snapshot().verified);
    println!(
        "grants held at the start: {}; resident {:.1} MB",
        e.snapshot().grants.len(),
        status_mb("VmRSS")
    );
    // from here, VmHWM is the peak of the trials
    std::fs::write("/proc/self/clear_refs", "5").unwrap();

    let (mut approve, mut revoke) = (vec![], vec![]);
    for i in 0..trials {
        let user = format!("user{i}");
        let request = svc.request(&user, "hdfs:/lake/sales", &["read"], "10m");
        let sent = Instant::now();
        let grant = svc.approve(&request);
        spin_until(Duration::from_secs(10), || allowed(&e, &user));
        approve.push(sent.elapsed().as_secs_f64() * 1e3);
        let sent = Instant::now();
        svc.revoke(&grant);
        spin_until(Duration::from_secs(10), || !allowed(&e, &user));
        revoke.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    report("approval -> first allow", approve, "ms");
    report("revoke -> first deny", revoke, "ms");

    // Expiry is checked against the clock on every decision: the first denial should come at
    // `expires_at` itself, whatever the service does.
    let (mut late, mut never) = (vec![], 0);
    for i in 0..(trials / 5).max(1) {
        let user = format!("expiring{i}");
        let grant = svc.approve_grant(&svc.request(&user, "hdfs:/lake/sales", &["read"], "1s"));
        let expires = wire::parse_time(grant["expires_at"].as_str().unwrap()).unwrap();
        // a grant that reaches the core after its second has passed never allows
        let arrived = Instant::now();
        while !allowed(&e, &user) && wire::now_millis() < expires + 5_000 {
            std::hint::spin_loop();
        }
        if !allowed(&e, &user) && arrived.elapsed() > Duration::from_secs(1) {
            never += 1;
            continue;
        }
        spin_until(Duration::from_secs(10), || !allowed(&e, &user));
        late.push((wire::now_millis() - expires) as f64);
    }
    if !late.is_empty() {
        report("expires_at -> first deny", late, "ms");
    }
    if never > 0 {
        println!("1 s grants that expired before they reached the core: {never}");
    }
    println!(
        "resident at the end {:.1} MB, at its peak during the trials {:.1} MB",
        status_mb("VmRSS"),
        status_mb("VmHWM")
    );
    e.close();
}

/// A line of /proc/self/status, in MB.
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

/// Leaves at `file` the cache an engine of `config` saves at its first answer, with `n` more
/// grants signed by the service's key: the engine started next holds them, and the service,
/// asked for what came after the cache's cursor, sends it only changes.
fn seed_cache(config: &str, file: &std::path::Path, n: usize) {
    let quick = format!("{config}\njitgate.feed.wait.seconds=1");
    let first = Engine::start(Config::parse(&quick).unwrap()).unwrap();
    first.close();
    let mut body = jitgate::cache::decode(&std::fs::read(file).unwrap()).unwrap();
    let key = jitgate::signature::SigningKey::from_seed(common::SIGNING_SEED);
    let now = wire::now_millis();
    body.grants.extend((0..n).map(|i| {
        let mut g = wire::Grant {
            id: format!("g-{i:010}"),
            request_id: format!("r-{i:010}"),
            user: format!("u{}", i % 5000),
            resources: vec![format!("hdfs:/lake/sales/t{}", i % 100)],
            actions: vec!["read".into()],
            not_before: wire::format_time(now - 60_000),
            expires_at: wire::format_time(now + 3_600_000),
            approvers: vec!["bob".into()],
            single_use: false,
            signature: None,
        };
        g.signature = Some(key.grant(&g));
        g
    }));
    std::fs::write(file, jitgate::cache::encode(&body)).unwrap();
    // the first engine's follower ends with its last long poll
    std::thread::sleep(Duration::from_millis(1500));
}
