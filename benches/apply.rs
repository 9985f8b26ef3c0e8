//! What one feed change costs the core at 100 and 100,000 grants: a new snapshot made from the
//! last with one grant more, or one revoked (`Snapshot::apply`), against building the snapshot
//! anew (`Snapshot::build`, what the follower did for every change before), and writing the
//! cache file (`cache::save`, now on a thread of its own). Medians of repeated runs; the last
//! snapshot stays alive, as it does for the decisions still reading it.
//!
//! cargo bench --bench apply

use std::time::Instant;

use jitgate::snapshot::Snapshot;
use jitgate::wire::{self, Feed, Grant};

#[path = "fixture.rs"]
#[allow(dead_code)]
mod fixture;
use fixture::zones;

/// A name, and where grant `i` lies.
type Layout = (&'static str, fn(usize) -> String);

/// Grant `i` on `resource`, for one of 5,000 users, with a signature's worth of text.
fn grant(i: usize, resource: String) -> Grant {
    let now = wire::now_millis();
    Grant {
        id: format!("g-{i:010}"),
        request_id: format!("r-{i:010}"),
        user: format!("u{}", i % 5000),
        resources: vec![resource],
        actions: vec!["read".into()],
        not_before: wire::format_time(now - 60_000),
        expires_at: wire::format_time(now + 3_600_000),
        approvers: vec!["bob".into()],
        single_use: false,
        signature: Some("ab".repeat(64)),
    }
}

/// The median of `runs` timings of `f`, in microseconds.
fn median(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[t.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Spread over 100 tables of one zone (as benches/decide.rs), and the worst layout for a
    // copied path: every grant on a table of its own, all in one directory.
    let layouts: [Layout; 2] = [
        ("100 tables", |i| format!("hdfs:/lake/sales/t{}", i % 100)),
        ("a table each", |i| format!("hdfs:/lake/sales/t{i}")),
    ];
    for (layout, resource) in layouts {
        for n in [100, 100_000] {
            let grants: Vec<Grant> = (0..n).map(|i| grant(i, resource(i))).collect();
            let now = wire::now_millis();
            let build = || Snapshot::build(1, zones(), grants.clone(), &[], now).0;
            let runs = if n > 1000 { 5 } else { 200 };
            let rebuild = median(runs, || drop(build()));
            let feed = Feed {
                cursor: 1,
                server_time: wire::format_time(now),
                reset: true,
                zones: Some(zones()),
                zones_signature: None,
                grants: grants.clone(),
                revoked: vec![],
                nonce: None,
            };
            let file = tmp.path().join("snapshot.json");
            let save = median(runs, || jitgate::cache::save(&file, &feed).unwrap());
            println!(
                "{layout:<13} {n:>7} grants: build anew {rebuild:>10.1} us, cache file write {save:>10.1} us"
            );
            // APPLY: the rows below need Snapshot::apply (stripped for a baseline without it)
            let base = build();
            let new = grant(n, resource(n));
            let (with, _) = base.apply(2, vec![new.clone()], &[], now);
            let one = median(2001, || drop(base.apply(2, vec![new.clone()], &[], now)));
            let revoked = [new.id.clone()];
            let revoke = median(2001, || drop(with.apply(3, vec![], &revoked, now)));
            println!(
                "{layout:<13} {n:>7} grants: apply one grant {one:>8.1} us, apply one revoke {revoke:>8.1} us"
            );
        }
    }
}
