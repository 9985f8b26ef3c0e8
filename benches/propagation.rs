//! How fast grant changes reach the core, against a real `jitgate serve` process on loopback:
//! approval → first allowed decision, revoke → first denied decision, and how long after a
//! grant's `expires_at` the first denial comes. Polls the snapshot (no audit records), so what is
//! measured is the feed path: service commit → long poll → new snapshot.
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
    let e = Engine::start(Config::parse(&config).unwrap()).unwrap();
    spin_until(Duration::from_secs(20), || e.snapshot().verified);

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
    let mut late = vec![];
    for i in 0..(trials / 5).max(1) {
        let user = format!("expiring{i}");
        let grant = svc.approve_grant(&svc.request(&user, "hdfs:/lake/sales", &["read"], "1s"));
        let expires = wire::parse_time(grant["expires_at"].as_str().unwrap()).unwrap();
        spin_until(Duration::from_secs(10), || allowed(&e, &user));
        spin_until(Duration::from_secs(10), || !allowed(&e, &user));
        late.push((wire::now_millis() - expires) as f64);
    }
    report("expires_at -> first deny", late, "ms");
    e.close();
}
