//! Instructions per decision, for `valgrind --tool=callgrind`, which counts them the same way
//! however busy the machine is (criterion's nanoseconds are not, on a shared 2-core box).
//!
//! cargo bench --bench instructions --no-run, then for each scenario:
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/instructions-* SCENARIO 1
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/instructions-* SCENARIO 100001
//! (the difference of the two totals / 100000 is the cost of one decision; benches/instructions.sh does it)

use std::hint::black_box;

use jitgate::snapshot::Snapshot;
use jitgate::wire::{self, Grant, Zone};
use jitgate::ActionSet;

const IN_ZONE: &str = "hdfs:/lake/sales/orders/2026/11/27/part-00017.parquet";
const OUTSIDE: &str = "hdfs:/warehouse/events/2026/11/27/hour=21/part-00017.parquet";

fn snapshot(grants: usize) -> Snapshot {
    let now = wire::now_millis();
    let zones = (0..1000)
        .map(|i| Zone {
            name: format!("z{i}"),
            resources: vec![if i == 0 {
                "hdfs:/lake/sales".into()
            } else {
                format!("hdfs:/lake/zone{i}")
            }],
            approvers: vec!["owners".into()],
            approvals: 1,
            actions: vec![],
            max_duration: "15m".into(),
        })
        .collect();
    let grants = (0..grants)
        .map(|i| Grant {
            id: format!("g-{i}"),
            request_id: format!("r-{i}"),
            user: if i == 0 {
                "alice".into()
            } else {
                format!("u{}", i % 5000)
            },
            resources: vec![if i == 0 {
                "hdfs:/lake/sales/orders".into()
            } else {
                format!("hdfs:/lake/sales/t{}", i % 100)
            }],
            actions: vec!["read".into()],
            not_before: wire::format_time(now - 60_000),
            expires_at: wire::format_time(now + 3_600_000),
            approvers: vec!["bob".into()],
            single_use: false,
        })
        .collect();
    Snapshot::build(1, zones, grants, now).0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list" || a == "--bench") || args.len() < 3 {
        return;
    }
    let (scenario, n): (&str, u64) = (&args[1], args[2].parse().unwrap());
    let grants = args.get(3).and_then(|g| g.parse().ok()).unwrap_or(10_000);
    let s = snapshot(grants);
    let now = wire::now_millis();
    let (user, path) = match scenario {
        "protected_allow" => ("alice", IN_ZONE),
        "protected_no_grant" => ("u17", IN_ZONE),
        "outside_zones" => ("alice", OUTSIDE),
        other => panic!("unknown scenario {other}"),
    };
    for _ in 0..n {
        black_box(s.decide(black_box(user), black_box(path), ActionSet(1), false, now));
    }
}
