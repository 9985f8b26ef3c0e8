//! The decision's cost against the snapshot: protected paths of 8 components with 10, 10,000 and
//! 100,000 active grants among 1,000 zones, a path outside every zone, and two threads at once.
//!
//! cargo bench --bench decide

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
#[path = "fixture.rs"]
mod fixture;

use fixture::{snapshot, IN_ZONE, OUTSIDE};
use jitgate::snapshot::{Decision, Snapshot};
use jitgate::wire;
use jitgate::ActionSet;

const READ: ActionSet = ActionSet(1);

fn decide(c: &mut Criterion) {
    let mut g = c.benchmark_group("decide");
    for n in [10usize, 10_000, 100_000] {
        let s = snapshot(n);
        let now = wire::now_millis();
        assert!(matches!(
            s.decide("alice", IN_ZONE, READ, false, now),
            Decision::Allow(_)
        ));
        g.bench_with_input(BenchmarkId::new("protected_allow", n), &s, |b, s| {
            b.iter(|| s.decide(black_box("alice"), black_box(IN_ZONE), READ, false, now))
        });
        g.bench_with_input(BenchmarkId::new("protected_no_grant", n), &s, |b, s| {
            b.iter(|| s.decide(black_box("u17"), black_box(IN_ZONE), READ, false, now))
        });
        g.bench_with_input(BenchmarkId::new("outside_zones", n), &s, |b, s| {
            b.iter(|| s.decide(black_box("alice"), black_box(OUTSIDE), READ, false, now))
        });
    }
    g.finish();

    // The floor beside them: one hash lookup of the whole path string in a table of the 1,000
    // zone keys, which is what "costs about as much as a hash lookup" compares with.
    let table: rustc_hash::FxHashMap<String, u32> = (0..1000)
        .map(|i| (format!("hdfs:/lake/zone{i}"), i))
        .collect();
    c.bench_function("baseline/one_hash_lookup_of_the_path", |b| {
        b.iter(|| table.get(black_box(IN_ZONE)))
    });

    // Through the engine (canonical key check, snapshot load), as the bridges call it.
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "jitgate.cache.dir={}\njitgate.audit.spill.max.bytes=1099511627776",
        dir.path().display()
    );
    let engine = jitgate::Engine::start(jitgate::Config::parse(&config).unwrap()).unwrap();
    // as the follower installs what the service sent
    engine.live().install(snapshot(10));
    c.bench_function("engine/outside_zones", |b| {
        b.iter(|| {
            engine.decide(&jitgate::Access {
                user: black_box("alice"),
                resource: black_box(OUTSIDE),
                actions: READ,
                subtree: false,
                operation: None,
                context: None,
            })
        })
    });
    c.bench_function("engine/snapshot_load_on_path", |b| {
        b.iter(|| {
            engine
                .snapshot()
                .on_path(black_box(OUTSIDE), false)
                .is_some()
        })
    });
    let held = engine.snapshot();
    c.bench_function("engine/held_snapshot_on_path", |b| {
        b.iter(|| held.on_path(black_box(OUTSIDE), false).is_some())
    });
    drop(held);
    engine.close();

    // A protected decision through the engine, recorded: the audit queue is kept full (room for
    // one record, its worker asleep), so every decision takes the whole path, the decision
    // counters included, and none waits for a disk. Each is the allow turned into a denial
    // because the trail takes no more.
    let config = format!(
        "jitgate.cache.dir={}\njitgate.audit.queue.capacity=1\njitgate.audit.flush.millis=600000",
        dir.path().display()
    );
    let engine = jitgate::Engine::start(jitgate::Config::parse(&config).unwrap()).unwrap();
    engine.live().install(snapshot(10));
    let alice = jitgate::Access {
        user: "alice",
        resource: IN_ZONE,
        actions: READ,
        subtree: false,
        operation: None,
        context: None,
    };
    engine.decide(&alice); // fills the queue
    assert!(matches!(engine.decide(&alice), Decision::Deny(_)));
    c.bench_function("engine/protected_recorded_queue_full", |b| {
        b.iter(|| engine.decide(black_box(&alice)))
    });
    engine.close();

    // Two threads deciding at once: time per decision per thread, to compare with one thread.
    let s = Arc::new(snapshot(100_000));
    let mut g = c.benchmark_group("decide_threads");
    for threads in [1usize, 2] {
        g.bench_function(BenchmarkId::new("protected_allow", threads), |b| {
            b.iter_custom(|iters| parallel(&s, threads, iters))
        });
    }
    g.finish();
}

/// Each of `threads` threads makes `iters` decisions; returns the slowest thread's time, so
/// equal figures for 1 and 2 threads mean twice the throughput.
fn parallel(s: &Arc<Snapshot>, threads: usize, iters: u64) -> Duration {
    let now = wire::now_millis();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(s.decide(black_box("alice"), black_box(IN_ZONE), READ, false, now));
                }
                start.elapsed()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .max()
        .unwrap()
}

criterion_group!(benches, decide);
criterion_main!(benches);
