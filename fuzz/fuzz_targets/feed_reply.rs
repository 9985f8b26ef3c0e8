//! What a plugin does with a feed reply's body once its signature held, and with its cache
//! file: parse it, build a snapshot from it, decide on it. No input may panic.
#![no_main]

use jitgate::snapshot::Snapshot;
use jitgate::wire::Feed;
use jitgate::ActionSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = jitgate::cache::decode(data);
    let Ok(feed) = serde_json::from_slice::<Feed>(data) else {
        return;
    };
    let (snap, _skipped) = Snapshot::build(
        feed.cursor,
        feed.zones.unwrap_or_default(),
        feed.grants,
        &[],
        1_800_000_000_000,
    );
    for key in ["hdfs:/lake/sales/x", "hive:sales.orders", "hdfs:/"] {
        for subtree in [false, true] {
            if let Some(p) = snap.on_path(key, subtree) {
                let _ = snap.decide_on(&p, "alice", key, ActionSet(3), subtree, 1_800_000_000_000);
            }
        }
        let _ = snap.zone_of(key);
        let _ = snap.leaves(key, "hdfs:/tmp/out");
    }
});
