//! Bytes the core holds per active grant: the heap a snapshot of 100,000 grants takes beyond an
//! empty one (zones alike), counted by a global allocator.
//!
//! cargo bench --bench memory

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use jitgate::snapshot::Snapshot;
use jitgate::wire::{self, Grant, Zone};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        System.dealloc(p, l)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn inputs(n: usize) -> (Vec<Zone>, Vec<Grant>) {
    let now = wire::now_millis();
    let zones = (0..1000)
        .map(|i| Zone {
            name: format!("z{i}"),
            resources: vec![format!("hdfs:/lake/zone{i}")],
            approvers: vec!["owners".into()],
            approvals: 1,
            actions: vec![],
            max_duration: "15m".into(),
        })
        .collect();
    let grants = (0..n)
        .map(|i| Grant {
            id: format!("g-{:010}", i),
            request_id: format!("r-{:010}", i),
            user: format!("user{}", i % 20_000),
            resources: vec![format!("hdfs:/lake/zone{}/table{}", i % 1000, i % 37)],
            actions: vec!["read".into()],
            not_before: wire::format_time(now - 60_000),
            expires_at: wire::format_time(now + 3_600_000),
            approvers: vec!["bob".into()],
            single_use: false,
            signature: None,
        })
        .collect();
    (zones, grants)
}

/// Heap held by a built snapshot, including the wire copy it keeps for the cache file.
fn held(n: usize) -> isize {
    let before = LIVE.load(Ordering::Relaxed);
    let (zones, grants) = inputs(n);
    let s = Snapshot::build(1, zones, grants, &[], wire::now_millis()).0;
    let total = LIVE.load(Ordering::Relaxed) - before;
    drop(s);
    total
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = 100_000;
    let (empty, full) = (held(0), held(n));
    println!(
        "snapshot with 1,000 zones and 0 grants:       {:>12} bytes",
        empty
    );
    println!(
        "snapshot with 1,000 zones and {n} grants:  {:>12} bytes",
        full
    );
    println!(
        "bytes per active grant:                       {:>12.0}",
        (full - empty) as f64 / n as f64
    );
}
