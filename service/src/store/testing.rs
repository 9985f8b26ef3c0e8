//! Fixtures the store's unit tests share: a store with the example zones, callers, requests,
//! audit events.

// What most tests name, so a test module needs only `use crate::store::testing::*`.
pub(super) use crate::caller::Caller;
pub(super) use crate::store::ChangeSignal;
pub(super) use crate::store::Store;
pub(super) use crate::views::{RequestView, Status};
pub(super) use crate::zones::tests::example;
pub(super) use crate::zones::Zones;
pub(super) use jitgate::wire::{format_time, parse_time, AuditEvent};
pub(super) use std::time::Duration;

pub(super) const T0: i64 = 1_800_000_000_000;
pub(super) const MIN: i64 = 60_000;

pub(super) fn who(user: &str, groups: &[&str]) -> Caller {
    Caller {
        user: user.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

pub(super) fn alice() -> Caller {
    who("alice", &["analysts"])
}
pub(super) fn bob() -> Caller {
    who("bob", &["sales-owners"])
}
pub(super) fn carol() -> Caller {
    who("carol", &["sales-owners"])
}

/// A store with the example zones: in memory, or on PostgreSQL when the tests run there.
pub(super) fn store() -> Store {
    let mut s = match SharedDb::postgres() {
        Some(db) => db.open(),
        None => Store::open_in_memory(Duration::from_secs(3600), ChangeSignal::new()).unwrap(),
    };
    s.record_zones(&example().to_wire(), T0).unwrap();
    s
}

/// A database several stores open at once, as replicas or racing connections do: a SQLite
/// file, or, when `JITGATE_TEST_POSTGRES` names a server (`tools/postgres.sh run`, which
/// `make test` uses to run the store's tests a second time), a schema of its own there.
pub(super) struct SharedDb {
    location: crate::store::Location,
    _dir: Option<tempfile::TempDir>,
}

impl SharedDb {
    pub(super) fn new() -> SharedDb {
        SharedDb::postgres().unwrap_or_else(|| {
            let dir = tempfile::tempdir().unwrap();
            SharedDb {
                location: crate::store::Location::Sqlite(Some(dir.path().join("jitgate.db"))),
                _dir: Some(dir),
            }
        })
    }

    fn postgres() -> Option<SharedDb> {
        let url = std::env::var("JITGATE_TEST_POSTGRES").ok()?;
        let mut config: postgres::Config = url.parse().expect("JITGATE_TEST_POSTGRES is a URL");
        let schema = crate::store::new_id("test_");
        let mut admin = config
            .connect(postgres::NoTls)
            .expect("the test server answers");
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        config.options(&format!("-c search_path={schema}"));
        Some(SharedDb {
            location: crate::store::Location::Postgres(config),
            _dir: None,
        })
    }

    pub(super) fn open(&self) -> Store {
        Store::connect(
            &self.location,
            Duration::from_secs(3600),
            ChangeSignal::new(),
        )
        .unwrap()
    }
}

pub(super) fn ask(
    s: &mut Store,
    caller: &Caller,
    resources: &[&str],
    minutes: u64,
    now: i64,
) -> RequestView {
    let resources: Vec<String> = resources.iter().map(|r| r.to_string()).collect();
    let plan = example()
        .plan(&resources, &["read".into()], &format!("{minutes}m"))
        .unwrap();
    s.create_request(caller, &plan, "INC-4411", Some("INC-4411"), now)
        .unwrap()
}

pub(super) fn event(
    id: &str,
    minute: i64,
    user: &str,
    resource: &str,
    grant: Option<&str>,
) -> AuditEvent {
    AuditEvent {
        id: id.into(),
        time: format_time(T0 + minute * MIN),
        plugin: "hive".into(),
        host: "hs2-1".into(),
        user: user.into(),
        resource: resource.into(),
        action: "read".into(),
        decision: if grant.is_some() { "allow" } else { "deny" }.into(),
        reason: None,
        grant_id: grant.map(String::from),
        request_id: None,
        operation: Some("SELECT".into()),
        context: Some("query q-1".into()),
    }
}

/// `sales` with an auto-approval rule for on-call readers (5m) and escalation to
/// `security` after 30 minutes.
pub(super) fn workflow_zones() -> Zones {
    let mut sales = crate::zones::ZoneRule::from_wire(&crate::zones::tests::zone(
        "sales",
        &["hdfs:/lake/sales", "hive:sales.*"],
        &["sales-owners"],
    ))
    .unwrap();
    sales.auto_approve.push(crate::zones::AutoRule {
        name: "oncall".into(),
        group: "oncall".into(),
        actions: jitgate::model::ActionSet::parse(["read"]).unwrap(),
        max_duration: Duration::from_secs(300),
    });
    sales.escalate_after = Some(Duration::from_secs(1800));
    sales.escalate_to = vec!["security".into()];
    Zones::new(vec![sales]).unwrap()
}

pub(super) fn ask_in(
    s: &mut Store,
    zones: &Zones,
    caller: &Caller,
    action: &str,
    duration: &str,
    now: i64,
) -> RequestView {
    let mut plan = zones
        .plan(&["hive:sales.orders".into()], &[action.into()], duration)
        .unwrap();
    plan.auto_approved_by = zones.auto_approval(&plan, caller);
    s.create_request(caller, &plan, "INC-9", None, now).unwrap()
}

pub(super) fn events(v: &RequestView) -> Vec<(String, String)> {
    v.history
        .iter()
        .map(|e| (e.event.clone(), e.actor.clone()))
        .collect()
}

pub(super) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}
