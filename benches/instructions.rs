//! Instructions per decision, for `valgrind --tool=callgrind`, which counts them the same way
//! however busy the machine is (criterion's nanoseconds are not, on a shared 2-core box).
//!
//! cargo bench --bench instructions --no-run, then for each scenario:
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/instructions-* SCENARIO 1
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/instructions-* SCENARIO 100001
//! (the difference of the two totals / 100000 is the cost of one decision; benches/instructions.sh does it)
//!
//! `engine_allow` decides through the engine, as the plugins do: the decision, its audit record
//! handed to the queue, and the audit thread writing it to the spill file, all counted (callgrind
//! counts every thread). The queue is made large enough that no record is refused.

use std::hint::black_box;

#[path = "fixture.rs"]
mod fixture;

use fixture::{snapshot, IN_ZONE, OUTSIDE};
use jitgate::wire;
use jitgate::{Access, ActionSet, Config, Engine};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list" || a == "--bench") || args.len() < 3 {
        return;
    }
    let (scenario, n): (&str, u64) = (&args[1], args[2].parse().unwrap());
    let grants = args.get(3).and_then(|g| g.parse().ok()).unwrap_or(10_000);
    let s = snapshot(grants);
    let now = wire::now_millis();
    if scenario == "engine_allow" {
        return engine_allow(n, s);
    }
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

fn engine_allow(n: u64, s: jitgate::snapshot::Snapshot) {
    let cache = tempfile::tempdir().unwrap();
    let config = format!(
        "jitgate.cache.dir={}\njitgate.plugin=bench\njitgate.audit.queue.capacity={}\n",
        cache.path().display(),
        n + 1
    );
    let e = Engine::start(Config::parse(&config).unwrap()).unwrap();
    e.live().install(s);
    let read = ActionSet(1);
    for _ in 0..n {
        let a = Access {
            user: black_box("alice"),
            resource: black_box(IN_ZONE),
            actions: read,
            subtree: false,
            operation: Some("open"),
            context: None,
        };
        assert_eq!(e.decide(&a).code(), 1, "allowed and recorded");
    }
    e.close();
}
