//! The snapshot the decision benchmarks share: 1,000 zones, `grants` grants, alice holding the
//! one that covers IN_ZONE.

use jitgate::snapshot::Snapshot;
use jitgate::wire::{self, Grant, Zone};

pub const IN_ZONE: &str = "hdfs:/lake/sales/orders/2026/11/27/part-00017.parquet";
pub const OUTSIDE: &str = "hdfs:/warehouse/events/2026/11/27/hour=21/part-00017.parquet";

/// 1,000 zones, `z0` on hdfs:/lake/sales and the others beside it.
pub fn zones() -> Vec<Zone> {
    (0..1000)
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
        .collect()
}

pub fn snapshot(grants: usize) -> Snapshot {
    let now = wire::now_millis();
    let zones = zones();
    let grants = (0..grants)
        .map(|i| Grant {
            id: format!("g-{i}"),
            request_id: format!("r-{i}"),
            // alice holds grant 0; the rest belong to other users, spread over the zone
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
            signature: None,
        })
        .collect();
    Snapshot::build(1, zones, grants, &[], now).0
}
