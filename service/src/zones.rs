//! The configured zones and the rules they put on a request: which zones a resource lies in,
//! which actions each allows, how long a grant may last, and who approves. Resource matching
//! itself is `jitgate::model`'s; this module only applies it to the zone list.

use crate::caller::Caller;
use crate::error::{Result, ServiceError};
use jitgate::model::{format_duration, parse_duration, ActionSet, Resource, Scheme};
use jitgate::wire;
use std::time::Duration;

/// One zone, validated: every resource and action parsed, the cap a real duration.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneRule {
    pub name: String,
    pub resources: Vec<Resource>,
    pub approvers: Vec<String>,
    pub approvals: u32,
    pub actions: ActionSet,
    pub max_duration: Duration,
    /// Requests these rules match are approved at once (config only; plugins never see them).
    pub auto_approve: Vec<AutoRule>,
    /// After this long pending, members of `escalate_to` may approve too.
    pub escalate_after: Option<Duration>,
    pub escalate_to: Vec<String>,
}

/// `[[zones.auto_approve]]`: members of `group` asking for no more than `actions` for no
/// longer than `max_duration` need nobody's approval; the grant names `auto:<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoRule {
    pub name: String,
    pub group: String,
    pub actions: ActionSet,
    pub max_duration: Duration,
}

impl AutoRule {
    pub fn matches(&self, caller: &Caller, actions: ActionSet, duration: Duration) -> bool {
        caller.groups.contains(&self.group)
            && self.actions.contains(actions)
            && duration <= self.max_duration
    }
}

impl ZoneRule {
    /// Parses a zone as written in the config (or sent on the wire), naming the zone and the
    /// field in every error.
    pub fn from_wire(z: &wire::Zone) -> Result<ZoneRule, String> {
        let name = z.name.trim();
        if name.is_empty() {
            return Err("a zone has an empty name".into());
        }
        let at = |field: &str, e: &dyn std::fmt::Display| format!("zone `{name}`: {field}: {e}");
        if z.resources.is_empty() {
            return Err(format!("zone `{name}`: resources is empty"));
        }
        let resources = z
            .resources
            .iter()
            .map(|r| Resource::parse(r).map_err(|e| at("resources", &e)))
            .collect::<Result<Vec<_>, _>>()?;
        let approvers: Vec<String> = z
            .approvers
            .iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        if approvers.is_empty() {
            return Err(format!(
                "zone `{name}`: approvers is empty: name the groups whose members may approve"
            ));
        }
        if z.approvals < 1 {
            return Err(format!("zone `{name}`: approvals must be 1 or more"));
        }
        let actions = ActionSet::parse(z.actions.iter().map(String::as_str))
            .map_err(|e| at("actions", &e))?;
        let max_duration = parse_duration(&z.max_duration).map_err(|e| at("max_duration", &e))?;
        Ok(ZoneRule {
            name: name.to_string(),
            resources,
            approvers,
            approvals: z.approvals,
            actions,
            max_duration,
            auto_approve: vec![],
            escalate_after: None,
            escalate_to: vec![],
        })
    }

    /// Whether a request created at `created_at` has waited long enough to escalate at `now`.
    pub fn escalated(&self, created_at: i64, now: i64) -> bool {
        match self.escalate_after {
            Some(after) => {
                !self.escalate_to.is_empty() && now >= created_at + after.as_millis() as i64
            }
            None => false,
        }
    }

    /// May `caller` approve (or deny) in this zone a request created at `created_at`?
    pub fn may_approve(&self, caller: &Caller, created_at: i64, now: i64) -> bool {
        self.is_approver(caller)
            || (self.escalated(created_at, now)
                && self.escalate_to.iter().any(|g| caller.groups.contains(g)))
    }

    /// The zone as plugins receive it, in canonical spelling.
    pub fn to_wire(&self) -> wire::Zone {
        wire::Zone {
            name: self.name.clone(),
            resources: self.resources.iter().map(Resource::to_string).collect(),
            approvers: self.approvers.clone(),
            approvals: self.approvals,
            actions: self.actions.names().into_iter().map(String::from).collect(),
            max_duration: format_duration(self.max_duration),
        }
    }

    /// A warning for a zone that names Hive tables but no HDFS storage: its tables' files then
    /// lie outside every zone, so the NameNode plugin does not guard them, and Hive and Spark
    /// ask export to write the zone's rows into them.
    pub fn storage_warning(&self) -> Option<String> {
        let named = |scheme| self.resources.iter().any(|r| r.scheme() == scheme);
        let (hive, hdfs) = (named(Scheme::Hive), named(Scheme::Hdfs));
        (hive && !hdfs).then(|| {
            format!(
                "zone `{}` names hive: tables but no hdfs: storage: their files lie outside every \
                 zone (the NameNode does not guard them, and writing the zone's rows into them is \
                 an export); add the databases' hdfs: locations to the zone",
                self.name
            )
        })
    }

    pub fn contains(&self, r: &Resource) -> bool {
        self.resources.iter().any(|z| z.covers(r))
    }

    /// True when a grant on `r` would reach into this zone: `r` lies in it or above it. A grant
    /// on `hdfs:/lake` covers the zone `hdfs:/lake/sales`, so that zone's approvers must agree.
    pub fn reached_by(&self, r: &Resource) -> bool {
        self.resources.iter().any(|z| z.covers(r) || r.covers(z))
    }

    pub fn is_approver(&self, caller: &Caller) -> bool {
        self.approvers.iter().any(|a| caller.groups.contains(a))
    }
}

/// What a valid request asks for, in canonical form, and the zones it touches.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub resources: Vec<Resource>,
    pub actions: ActionSet,
    pub duration: Duration,
    /// Names of the touched zones, in config order.
    pub zones: Vec<String>,
    /// The grant is consumed by one use (set by the caller of [`Zones::plan`]).
    pub single_use: bool,
    /// `auto:<rule>` for each rule that approves this request at once; empty when people
    /// must approve. Set from [`Zones::auto_approval`].
    pub auto_approved_by: Vec<String>,
    /// When the window starts (ms), when later than the approval: see [`Plan::start_at`].
    pub starts_at: Option<i64>,
    /// The grant this request extends, when it asks for more time on one.
    pub extends: Option<String>,
}

impl Plan {
    /// Asks for the window to start at `start` (RFC 3339), at most `horizon` after `now`; a
    /// time already past starts at approval, as a request without one does.
    pub fn start_at(&mut self, start: &str, now: i64, horizon: Duration) -> Result<(), String> {
        // Minutes are enough (`2026-12-06T09:00Z`); the seconds then are :00.
        let text = start.trim().trim_end_matches('Z');
        let text = match text.len() {
            16 => format!("{text}:00"),
            _ => text.to_string(),
        };
        let at = jitgate::wire::parse_time(&text).ok_or_else(|| {
            format!("start `{start}` is not a time: write it as 2026-12-06T09:00:00Z")
        })?;
        if at > now + horizon.as_millis() as i64 {
            return Err(format!(
                "start `{start}` is further ahead than {} (schedule_horizon)",
                jitgate::model::format_duration(horizon)
            ));
        }
        self.starts_at = (at > now).then_some(at);
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Zones {
    rules: Vec<ZoneRule>,
}

impl Zones {
    pub fn new(rules: Vec<ZoneRule>) -> Result<Zones, String> {
        for (i, z) in rules.iter().enumerate() {
            if rules[..i].iter().any(|o| o.name == z.name) {
                return Err(format!("zone `{}` is defined twice", z.name));
            }
        }
        Ok(Zones { rules })
    }

    pub fn get(&self, name: &str) -> Option<&ZoneRule> {
        self.rules.iter().find(|z| z.name == name)
    }

    pub fn to_wire(&self) -> Vec<wire::Zone> {
        self.rules.iter().map(ZoneRule::to_wire).collect()
    }

    /// The zones among `request_zones` (a request's, as recorded) in which `caller` may approve
    /// or deny a request by `requester` created at `created_at`: those they approve for, or
    /// escalate to once the request has waited long enough. None for the requester, who never
    /// decides their own request.
    pub fn decides_in(
        &self,
        caller: &Caller,
        requester: &str,
        request_zones: &[String],
        created_at: i64,
        now: i64,
    ) -> Vec<String> {
        if caller.user == requester {
            return vec![];
        }
        request_zones
            .iter()
            .filter(|n| {
                self.get(n)
                    .is_some_and(|z| z.may_approve(caller, created_at, now))
            })
            .cloned()
            .collect()
    }

    /// May `caller` approve or deny that request at all (see [`Zones::decides_in`]). The store
    /// refuses by this rule and the pages offer the buttons by it.
    pub fn may_decide(
        &self,
        caller: &Caller,
        requester: &str,
        request_zones: &[String],
        created_at: i64,
        now: i64,
    ) -> bool {
        !self
            .decides_in(caller, requester, request_zones, created_at, now)
            .is_empty()
    }

    /// May `caller` revoke a grant of `grantee` issued for a request that touched
    /// `request_zones`: its grantee (giving it up early), or an approver of one of those zones.
    /// Decided by the request's zones, not by which zones hold the grant's resources now: they
    /// are the zones whose approvers had to agree, including those nested under a broad
    /// resource (a grant on `hdfs:/lake` reaches into `hdfs:/lake/sales`), and they do not
    /// shift when the zone list is edited. The store refuses by this rule and the pages show
    /// grants by it.
    pub fn may_revoke(&self, caller: &Caller, grantee: &str, request_zones: &[String]) -> bool {
        caller.user == grantee || self.approves_any(caller, request_zones)
    }

    /// Is `caller` an approver of one of the zones named `zone_names`.
    pub fn approves_any(&self, caller: &Caller, zone_names: &[String]) -> bool {
        zone_names
            .iter()
            .any(|n| self.get(n).is_some_and(|z| z.is_approver(caller)))
    }

    /// The storage warnings of the zones `resource` lies in (none for an unreadable resource).
    pub fn storage_warnings_for(&self, resource: &str) -> Vec<String> {
        let Ok(r) = Resource::parse(resource) else {
            return vec![];
        };
        self.rules
            .iter()
            .filter(|z| z.contains(&r))
            .filter_map(ZoneRule::storage_warning)
            .collect()
    }

    /// `ZoneRule::storage_warning` of every zone that has one.
    pub fn storage_warnings(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter_map(ZoneRule::storage_warning)
            .collect()
    }

    /// Checks a request against every zone it touches and returns it in canonical form.
    /// Nothing is adjusted silently: a duration over a cap is refused, not shortened.
    pub fn plan(&self, resources: &[String], actions: &[String], duration: &str) -> Result<Plan> {
        if resources.is_empty() {
            return Err(bad(
                "no resource given: name at least one, e.g. hive:sales.orders",
            ));
        }
        let mut parsed: Vec<Resource> = vec![];
        for text in resources {
            if text.chars().any(char::is_control) {
                return Err(bad(&format!(
                    "the resource {text:?} holds a control character; name it as plain text"
                )));
            }
            let r = Resource::parse(text)?;
            if !parsed.contains(&r) {
                parsed.push(r);
            }
        }
        let actions = ActionSet::parse(actions.iter().map(String::as_str))?;
        if duration.trim().is_empty() {
            return Err(bad("a duration is required, e.g. 10m"));
        }
        let duration = parse_duration(duration)?;

        let mut touched: Vec<&ZoneRule> = vec![];
        for r in &parsed {
            let mut inside: Vec<&ZoneRule> = self.rules.iter().filter(|z| z.contains(r)).collect();
            if inside.is_empty() {
                return Err(bad(&self.outside_message(r)));
            }
            // A grant on r also covers zones nested below it, so their approvers must agree too.
            inside.extend(
                self.rules
                    .iter()
                    .filter(|z| !z.contains(r) && z.reached_by(r)),
            );
            for z in inside {
                if !touched.iter().any(|t| t.name == z.name) {
                    touched.push(z);
                }
            }
        }
        touched.sort_by_key(|z| self.rules.iter().position(|r| r.name == z.name));
        for z in &touched {
            for a in actions.iter() {
                if !z.actions.contains(ActionSet::EMPTY.with(a)) {
                    return Err(bad(&format!(
                        "action {a} is not allowed in zone {} (allowed: {})",
                        z.name,
                        z.actions.names().join(", ")
                    )));
                }
            }
            if duration > z.max_duration {
                return Err(bad(&format!(
                    "duration {} exceeds the {} cap of zone {}: ask for {} or less",
                    format_duration(duration),
                    format_duration(z.max_duration),
                    z.name,
                    format_duration(z.max_duration)
                )));
            }
        }
        Ok(Plan {
            resources: parsed,
            actions,
            duration,
            zones: touched.iter().map(|z| z.name.clone()).collect(),
            single_use: false,
            auto_approved_by: vec![],
            starts_at: None,
            extends: None,
        })
    }

    /// The auto-approval rules that approve `plan` for `caller`: one per touched zone, or
    /// nothing when any touched zone has no matching rule.
    pub fn auto_approval(&self, plan: &Plan, caller: &Caller) -> Vec<String> {
        let mut names: Vec<String> = vec![];
        for zone in plan.zones.iter().filter_map(|n| self.get(n)) {
            match zone
                .auto_approve
                .iter()
                .find(|r| r.matches(caller, plan.actions, plan.duration))
            {
                Some(rule) => {
                    let name = format!("auto:{}", rule.name);
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                None => return vec![],
            }
        }
        names
    }

    fn outside_message(&self, r: &Resource) -> String {
        let below: Vec<String> = self
            .rules
            .iter()
            .flat_map(|z| {
                z.resources
                    .iter()
                    .filter(|zr| r.covers(zr))
                    .map(move |zr| format!("{zr} of zone {}", z.name))
            })
            .collect();
        if below.is_empty() {
            format!("{r} is not in any zone; it needs no request")
        } else {
            format!(
                "{r} is not inside a zone but contains protected resources ({}): request those instead",
                below.join(", ")
            )
        }
    }
}

fn bad(msg: &str) -> ServiceError {
    ServiceError::BadInput(msg.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_zone_of_hive_tables_without_hdfs_storage_is_warned_about() {
        let rule = |resources: &[&str]| ZoneRule::from_wire(&zone("z", resources, &["o"])).unwrap();
        assert!(rule(&["hive:sales.*"]).storage_warning().is_some());
        assert!(rule(&["hive:sales.*", "hdfs:/lake/sales"])
            .storage_warning()
            .is_none());
        assert!(rule(&["hdfs:/lake/sales"]).storage_warning().is_none());
    }

    pub(crate) fn zone(name: &str, resources: &[&str], approvers: &[&str]) -> wire::Zone {
        wire::Zone {
            name: name.into(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            approvers: approvers.iter().map(|s| s.to_string()).collect(),
            approvals: 1,
            actions: ["read", "write", "export", "transform"]
                .map(String::from)
                .to_vec(),
            max_duration: "15m".into(),
        }
    }

    /// `sales` (all actions, 15m), `hr` (read only, 30m, two approvals), `lake` nested over sales.
    pub(crate) fn example() -> Zones {
        let sales = zone(
            "sales",
            &["hdfs:/lake/sales", "hive:sales.*"],
            &["sales-owners"],
        );
        let mut hr = zone("hr", &["hdfs:/lake/hr", "hive:hr.*"], &["hr-owners"]);
        hr.actions = vec!["read".into()];
        hr.max_duration = "30m".into();
        hr.approvals = 2;
        Zones::new(
            [sales, hr]
                .iter()
                .map(|z| ZoneRule::from_wire(z).unwrap())
                .collect(),
        )
        .unwrap()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_request_is_planned_in_canonical_form_with_its_zones() {
        let plan = example()
            .plan(
                &strings(&[
                    "hive:Sales.Orders",
                    "hdfs:/lake/hr//x/",
                    "hive:sales.orders",
                ]),
                &strings(&["read"]),
                "10m",
            )
            .unwrap();
        assert_eq!(
            plan.resources
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>(),
            ["hive:sales.orders", "hdfs:/lake/hr/x"]
        );
        assert_eq!(plan.zones, ["sales", "hr"]);
        assert_eq!(plan.duration, Duration::from_secs(600));
    }

    #[test]
    fn a_request_on_an_outer_zone_needs_the_nested_zones_approvers_too() {
        let lake = zone("lake", &["hdfs:/lake"], &["lake-owners"]);
        let sales = zone("sales", &["hdfs:/lake/sales"], &["sales-owners"]);
        let zones = Zones::new(
            [lake, sales]
                .iter()
                .map(|z| ZoneRule::from_wire(z).unwrap())
                .collect(),
        )
        .unwrap();
        let plan = zones
            .plan(&strings(&["hdfs:/lake"]), &strings(&["read"]), "10m")
            .unwrap();
        assert_eq!(
            plan.zones,
            ["lake", "sales"],
            "a grant on /lake reaches into sales"
        );
        let plan = zones
            .plan(&strings(&["hdfs:/lake/other"]), &strings(&["read"]), "10m")
            .unwrap();
        assert_eq!(plan.zones, ["lake"]);
    }

    #[test]
    fn duration_over_a_zone_cap_is_refused_naming_the_cap() {
        let err = example()
            .plan(&strings(&["hive:sales.orders"]), &strings(&["read"]), "20m")
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message().contains("15m cap of zone sales"), "{err}");
        // The tightest touched zone decides: hr allows 30m but sales only 15m.
        let err = example()
            .plan(
                &strings(&["hdfs:/lake/hr", "hdfs:/lake/sales"]),
                &strings(&["read"]),
                "20m",
            )
            .unwrap_err();
        assert!(err.message().contains("cap of zone sales"), "{err}");
    }

    #[test]
    fn action_not_allowed_in_a_zone_is_refused() {
        let err = example()
            .plan(
                &strings(&["hdfs:/lake/hr/p"]),
                &strings(&["read", "export"]),
                "5m",
            )
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.message(),
            "action export is not allowed in zone hr (allowed: read)"
        );
    }

    #[test]
    fn resource_outside_every_zone_needs_no_request() {
        let err = example()
            .plan(&strings(&["hdfs:/tmp/x"]), &strings(&["read"]), "5m")
            .unwrap_err();
        assert_eq!(
            err.message(),
            "hdfs:/tmp/x is not in any zone; it needs no request"
        );
        let err = example()
            .plan(&strings(&["hdfs:/lake"]), &strings(&["read"]), "5m")
            .unwrap_err();
        assert!(err.message().contains("contains protected resources (hdfs:/lake/sales of zone sales, hdfs:/lake/hr of zone hr)"), "{err}");
        // A name that merely shares a prefix is not inside.
        assert!(example()
            .plan(&strings(&["hive:salesx.t"]), &strings(&["read"]), "5m")
            .is_err());
    }

    #[test]
    fn unknown_resource_syntax_action_or_duration_is_bad_input() {
        let z = example();
        for (res, act, dur, says) in [
            ("s3x://bucket/x", "read", "5m", "unknown resource"),
            ("hive:sales.or-ders", "read", "5m", "bad Hive resource"),
            (
                "hive:sales.orders",
                "delete",
                "5m",
                "unknown action `delete`",
            ),
            ("hive:sales.orders", "read", "soon", "bad duration"),
            ("hive:sales.orders", "read", "", "duration is required"),
        ] {
            let err = z.plan(&strings(&[res]), &strings(&[act]), dur).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.message().contains(says), "{err} should say {says}");
        }
        assert!(z
            .plan(&[], &strings(&["read"]), "5m")
            .unwrap_err()
            .message()
            .contains("no resource"));
        assert!(z
            .plan(&strings(&["hive:sales.t"]), &[], "5m")
            .unwrap_err()
            .message()
            .contains("no action"));
    }

    #[test]
    fn zone_validation_names_the_zone_and_field() {
        let mut z = zone("ops", &["hdfs:/ops"], &["ops"]);
        z.resources.push("ftp:/x".into());
        assert!(ZoneRule::from_wire(&z)
            .unwrap_err()
            .starts_with("zone `ops`: resources: unknown resource"));
        let mut z = zone("ops", &["hdfs:/ops"], &[]);
        assert!(ZoneRule::from_wire(&z)
            .unwrap_err()
            .contains("approvers is empty"));
        z.approvers = vec!["ops".into()];
        z.approvals = 0;
        assert!(ZoneRule::from_wire(&z)
            .unwrap_err()
            .contains("approvals must be 1 or more"));
        z.approvals = 1;
        z.actions = vec!["read".into(), "drop".into()];
        assert!(ZoneRule::from_wire(&z)
            .unwrap_err()
            .contains("zone `ops`: actions: unknown action `drop`"));
        z.actions = vec!["read".into()];
        z.max_duration = "forever".into();
        assert!(ZoneRule::from_wire(&z)
            .unwrap_err()
            .contains("zone `ops`: max_duration: bad duration"));
        let dup = ZoneRule::from_wire(&zone("a", &["hdfs:/a"], &["g"])).unwrap();
        assert!(Zones::new(vec![dup.clone(), dup])
            .unwrap_err()
            .contains("defined twice"));
    }

    fn nested() -> Zones {
        let lake = zone("lake", &["hdfs:/lake"], &["lake-owners"]);
        let sales = zone("sales", &["hdfs:/lake/sales"], &["sales-owners"]);
        let mut sales = ZoneRule::from_wire(&sales).unwrap();
        sales.escalate_after = Some(Duration::from_secs(1800));
        sales.escalate_to = vec!["security".into()];
        Zones::new(vec![ZoneRule::from_wire(&lake).unwrap(), sales]).unwrap()
    }

    fn caller(user: &str, groups: &[&str]) -> Caller {
        Caller {
            user: user.into(),
            groups: strings(groups),
        }
    }

    #[test]
    fn who_may_decide_is_read_from_the_requests_zones() {
        let z = nested();
        let touched = strings(&["lake", "sales"]);
        let bob = caller("bob", &["sales-owners"]);
        assert_eq!(z.decides_in(&bob, "alice", &touched, 0, 0), ["sales"]);
        assert!(z.may_decide(&bob, "alice", &touched, 0, 0));
        assert!(
            !z.may_decide(&bob, "bob", &touched, 0, 0),
            "never one's own request"
        );
        assert!(!z.may_decide(&bob, "alice", &strings(&["lake"]), 0, 0));
        let sam = caller("sam", &["security"]);
        let half_hour = 1_800_000;
        assert!(!z.may_decide(&sam, "alice", &touched, 0, half_hour - 1));
        assert_eq!(
            z.decides_in(&sam, "alice", &touched, 0, half_hour),
            ["sales"],
            "escalated"
        );
        assert!(
            !z.may_decide(&bob, "alice", &strings(&["gone"]), 0, 0),
            "a zone no longer configured"
        );
    }

    #[test]
    fn a_grant_is_revoked_by_its_grantee_or_an_approver_of_a_zone_its_request_touched() {
        let z = nested();
        let touched = strings(&["lake", "sales"]);
        let bob = caller("bob", &["sales-owners"]);
        assert!(
            z.may_revoke(&bob, "alice", &touched),
            "sales approved the grant on hdfs:/lake, though no sales resource holds it"
        );
        assert!(z.may_revoke(&caller("alice", &[]), "alice", &touched));
        assert!(!z.may_revoke(&caller("eve", &["hr-owners"]), "alice", &touched));
        assert!(!z.may_revoke(&bob, "alice", &strings(&["lake"])));
        assert!(
            !z.may_revoke(&caller("sam", &["security"]), "alice", &touched),
            "escalation lets decide a pending request, not revoke"
        );
    }

    #[test]
    fn approvers_are_members_of_an_approver_group() {
        let z = example();
        let sales = z.get("sales").unwrap();
        let bob = Caller {
            user: "bob".into(),
            groups: vec!["x".into(), "sales-owners".into()],
        };
        let eve = Caller {
            user: "eve".into(),
            groups: vec!["hr-owners".into()],
        };
        assert!(sales.is_approver(&bob));
        assert!(!sales.is_approver(&eve));
    }

    #[test]
    fn a_start_is_a_utc_time_within_the_horizon_and_a_past_one_is_now() {
        let z = example();
        let mut p = z
            .plan(&["hive:sales.orders".into()], &["read".into()], "10m")
            .unwrap();
        let now = jitgate::wire::parse_time("2026-12-06T08:00:00Z").unwrap();
        let day = Duration::from_secs(24 * 3600);
        p.start_at("2026-12-06T09:00Z", now, day).unwrap();
        assert_eq!(p.starts_at, Some(now + 3_600_000));
        p.start_at("2026-12-06T07:00:00Z", now, day).unwrap();
        assert_eq!(p.starts_at, None, "a time past starts at approval");
        let far = p.start_at("2026-12-08T09:00Z", now, day).unwrap_err();
        assert!(far.contains("schedule_horizon"), "{far}");
        assert!(p
            .start_at("tomorrow", now, day)
            .unwrap_err()
            .contains("not a time"));
    }
}
