//! Requests and their decisions: created (or approved at once by an auto-approval rule),
//! approved zone by zone, denied, cancelled, expired, escalated; each step recorded in the
//! request's history and on the audit chain.

use super::grants::{issue_grant, load_grant};
use super::outbox::{queue, NOTIFIED};
use super::sql::{params, Row, Tx};
use super::{from_json, new_id, to_json, Store};
use crate::caller::Caller;
use crate::chain::{self, Appender};
use crate::error::{Result, ServiceError};
use crate::views::{ApprovalView, EventView, RequestView, Status};
use crate::zones::{Plan, Zones};
use jitgate::model::{format_duration, Resource};
use jitgate::wire::format_time;
use std::time::Duration;

const MAX_REASON_CHARS: usize = 4000;

/// A request as stored, before its approvals, grant and history are read with it.
pub(super) struct RequestRow {
    pub(super) id: String,
    pub(super) status: Status,
    pub(super) user: String,
    pub(super) groups: Vec<String>,
    pub(super) resources: Vec<String>,
    pub(super) actions: Vec<String>,
    pub(super) duration_ms: i64,
    pub(super) reason: String,
    pub(super) ticket: Option<String>,
    pub(super) zones: Vec<String>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) decided_by: Option<String>,
    pub(super) decision_reason: Option<String>,
    pub(super) single_use: bool,
    /// When the grant's window starts, when later than the approval.
    pub(super) starts_at: Option<i64>,
    /// The grant this request extends.
    pub(super) extends: Option<String>,
}

const REQUEST_COLUMNS: &str = "id, status, \"user\", groups, resources, actions, duration_ms, reason, \
     ticket, zones, created_at, updated_at, decided_by, decision_reason, single_use, starts_at, extends";

fn request_row(row: &Row) -> Result<RequestRow> {
    let status: String = row.get(1)?;
    let (groups, resources, actions, zones): (String, String, String, String) =
        (row.get(3)?, row.get(4)?, row.get(5)?, row.get(9)?);
    Ok(RequestRow {
        id: row.get(0)?,
        status: Status::parse(&status).map_err(|_| {
            ServiceError::Internal(format!("unknown status {status} in the database"))
        })?,
        user: row.get(2)?,
        groups: from_json(&groups)?,
        resources: from_json(&resources)?,
        actions: from_json(&actions)?,
        duration_ms: row.get(6)?,
        reason: row.get(7)?,
        ticket: row.get(8)?,
        zones: from_json(&zones)?,
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
        decided_by: row.get(12)?,
        decision_reason: row.get(13)?,
        single_use: row.get(14)?,
        starts_at: row.get(15)?,
        extends: row.get(16)?,
    })
}

impl Store {
    /// Pending requests past their timeout become `expired`, whoever looks first.
    pub(super) fn expire(&mut self, now: i64) -> Result<()> {
        let timeout = self.pending_timeout_ms;
        let hooks = self.webhooks;
        let tx = self.begin()?;
        let expired = expire_stale(&tx, timeout, now)?;
        for (id, _) in &expired {
            record(
                &tx,
                hooks,
                id,
                now,
                "jitgate",
                "expired",
                Some("no decision within the pending timeout"),
            )?;
        }
        tx.commit()?;
        for (id, user) in expired {
            log_event!("request {id} by {user} expired without approval");
        }
        Ok(())
    }

    pub fn create_request(
        &mut self,
        caller: &Caller,
        plan: &Plan,
        reason: &str,
        ticket: Option<&str>,
        now: i64,
    ) -> Result<RequestView> {
        // Control characters would reach logs, CSV exports, chat messages and terminals as they
        // are; a reason may span lines (a form's textarea), nothing else.
        let reason = reason.trim().replace("\r\n", "\n");
        let reason = reason.as_str();
        if reason
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(ServiceError::BadInput(
                "the reason holds a control character; write it as plain text".into(),
            ));
        }
        if ticket.is_some_and(|t| t.chars().any(char::is_control)) {
            return Err(ServiceError::BadInput(
                "the ticket holds a control character; write it as plain text".into(),
            ));
        }
        if reason.is_empty() {
            return Err(ServiceError::BadInput(
                "a reason is required: say why you need this (an incident, a ticket, a task)"
                    .into(),
            ));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(ServiceError::BadInput(format!(
                "the reason is longer than {MAX_REASON_CHARS} characters"
            )));
        }
        let ticket = ticket.map(str::trim).filter(|t| !t.is_empty());
        let id = new_id("r-");
        let resources: Vec<String> = plan.resources.iter().map(Resource::to_string).collect();
        let actions: Vec<&str> = plan.actions.names();
        let hooks = self.webhooks;
        let tx = self.begin()?;
        if let Some(g) = &plan.extends {
            may_extend(&tx, caller, plan, g, now)?;
        }
        tx.execute(
            "INSERT INTO requests (id, status, \"user\", groups, resources, actions, duration_ms, reason, \
             ticket, zones, created_at, updated_at, single_use, starts_at, extends) \
             VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13)",
            params![
                id,
                caller.user,
                to_json(&caller.groups),
                to_json(&resources),
                to_json(&actions),
                plan.duration.as_millis() as i64,
                reason,
                ticket,
                to_json(&plan.zones),
                now,
                plan.single_use,
                plan.starts_at,
                plan.extends
            ],
        )?;
        record(&tx, hooks, &id, now, &caller.user, "created", Some(reason))?;
        let mut issued = None;
        if !plan.auto_approved_by.is_empty() {
            for rule in &plan.auto_approved_by {
                tx.execute(
                    "INSERT INTO approvals (request_id, approver, zones, comment, time) VALUES (?1, ?2, ?3, '', ?4)",
                    params![id, rule, to_json(&plan.zones), now],
                )?;
                record(&tx, 0, &id, now, rule, "auto-approved", None)?;
            }
            let req = load_row(&tx, &id)?;
            issued = Some(issue_grant(&tx, hooks, &req, &plan.auto_approved_by, now)?);
        }
        let view = load_view(&tx, &id)?;
        tx.commit()?;
        log_event!(
            "request {id} created by {}: {} on {} for {} (zones: {})",
            caller.user,
            actions.join(","),
            resources.join(" "),
            view.duration,
            plan.zones.join(", ")
        );
        if let Some((grant_id, seq)) = issued {
            self.signal.published(seq);
            log_event!(
                "request {id} approved by {}; grant {grant_id} issued",
                plan.auto_approved_by.join(", ")
            );
        }
        Ok(view)
    }

    pub fn request(&mut self, id: &str, now: i64) -> Result<RequestView> {
        self.expire(now)?;
        let tx = self.begin()?;
        let view = load_view(&tx, id)?;
        tx.commit()?;
        Ok(view)
    }

    /// Newest first.
    pub fn requests(
        &mut self,
        status: Option<Status>,
        user: Option<&str>,
        limit: usize,
        now: i64,
    ) -> Result<Vec<RequestView>> {
        self.expire(now)?;
        let tx = self.read()?;
        let ids: Vec<String> = tx.query_map(
            "SELECT id FROM requests WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND (CAST(?2 AS TEXT) IS NULL OR \"user\" = ?2) \
             ORDER BY created_at DESC, rowid DESC LIMIT ?3",
            params![status.map(Status::as_str), user, limit],
            |r| r.get(0),
        )?;
        let views = ids
            .iter()
            .map(|id| load_view(&tx, id))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(views)
    }

    /// The pending requests `caller` may approve or deny (`Zones::may_decide`), newest first,
    /// at most `limit`: filtered before the limit, so the inbox never hides one behind newer
    /// requests of other zones.
    pub fn decidable_requests(
        &mut self,
        caller: &Caller,
        zones: &Zones,
        limit: usize,
        now: i64,
    ) -> Result<Vec<RequestView>> {
        self.expire(now)?;
        let tx = self.read()?;
        let mut ids = vec![];
        tx.each(
            "SELECT id, \"user\", zones, created_at FROM requests WHERE status = 'pending' \
             ORDER BY created_at DESC, rowid DESC",
            params![],
            |row| {
                let (user, names): (String, String) = (row.get(1)?, row.get(2)?);
                if zones.may_decide(caller, &user, &from_json(&names)?, row.get(3)?, now) {
                    ids.push(row.get::<String>(0)?);
                }
                Ok(ids.len() < limit)
            },
        )?;
        let views = ids
            .iter()
            .map(|id| load_view(&tx, id))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(views)
    }

    /// The first steps of approving or denying: expiry and escalation brought up to date, then,
    /// inside the transaction that decides, request `id` still pending and not `caller`'s own
    /// (refused with `own`).
    fn open_decision(
        &mut self,
        id: &str,
        caller: &Caller,
        zones: &Zones,
        now: i64,
        own: &str,
    ) -> Result<(Tx<'_>, RequestRow)> {
        self.expire(now)?;
        self.escalate(zones, now)?;
        let tx = self.begin()?;
        let req = load_row(&tx, id)?;
        if req.status != Status::Pending {
            return Err(not_pending(&req));
        }
        if req.user == caller.user {
            return Err(ServiceError::Forbidden(own.into()));
        }
        Ok((tx, req))
    }

    /// Records `caller`'s approval for the zones they approve for; when every touched zone has
    /// its approvals, marks the request approved and issues its grant.
    pub fn approve(
        &mut self,
        id: &str,
        caller: &Caller,
        comment: &str,
        zones: &Zones,
        now: i64,
    ) -> Result<RequestView> {
        let hooks = self.webhooks;
        let (tx, req) = self.open_decision(
            id,
            caller,
            zones,
            now,
            "you cannot approve your own request",
        )?;
        if let Some(name) = req.zones.iter().find(|n| zones.get(n).is_none()) {
            return Err(ServiceError::Conflict(format!(
                "zone {name} of request {id} is no longer configured; the request cannot be approved"
            )));
        }
        let counts_for = zones.decides_in(caller, &req.user, &req.zones, req.created_at, now);
        if counts_for.is_empty() {
            return Err(ServiceError::Forbidden(format!(
                "you are not an approver of {}",
                approver_groups(&req.zones, zones)
            )));
        }
        let inserted = tx.execute(
            "INSERT INTO approvals (request_id, approver, zones, comment, time) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT DO NOTHING",
            params![id, caller.user, to_json(&counts_for), comment.trim(), now],
        )?;
        if inserted == 0 {
            return Err(ServiceError::Conflict(format!(
                "you have already approved request {id}"
            )));
        }
        tx.execute(
            "UPDATE requests SET updated_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        let comment = Some(comment.trim()).filter(|c| !c.is_empty());
        record(&tx, 0, id, now, &caller.user, "approved", comment)?;

        let approvals = load_approvals(&tx, id)?;
        let missing: Vec<String> = req
            .zones
            .iter()
            .filter_map(|name| {
                let need = zones
                    .get(name)
                    .map(|z| z.approvals as usize)
                    .unwrap_or(usize::MAX);
                let have = approvals.iter().filter(|a| a.zones.contains(name)).count();
                (have < need).then(|| format!("{name} ({have} of {need})"))
            })
            .collect();
        let mut issued = None;
        if missing.is_empty() {
            let approvers: Vec<String> = approvals.iter().map(|a| a.approver.clone()).collect();
            issued = Some(issue_grant(&tx, hooks, &req, &approvers, now)?);
        }
        let view = load_view(&tx, id)?;
        tx.commit()?;
        match issued {
            Some((grant_id, seq)) => {
                self.signal.published(seq);
                log_event!("request {id} approved by {}", caller.user);
                log_event!(
                    "grant {grant_id} issued to {}: {} on {} until {}",
                    req.user,
                    req.actions.join(","),
                    req.resources.join(" "),
                    format_time(now + req.duration_ms)
                );
            }
            None => log_event!(
                "request {id}: approval by {} recorded (for {}); still needs {}",
                caller.user,
                counts_for.join(", "),
                missing.join(", ")
            ),
        }
        Ok(view)
    }

    pub fn deny(
        &mut self,
        id: &str,
        caller: &Caller,
        reason: Option<&str>,
        zones: &Zones,
        now: i64,
    ) -> Result<RequestView> {
        let hooks = self.webhooks;
        let own = "you cannot deny your own request; cancel it instead";
        let (tx, req) = self.open_decision(id, caller, zones, now, own)?;
        if !zones.may_decide(caller, &req.user, &req.zones, req.created_at, now) {
            return Err(ServiceError::Forbidden(format!(
                "you are not an approver of {}",
                approver_groups(&req.zones, zones)
            )));
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        close(&tx, &req, Status::Denied, &caller.user, reason, now)?;
        record(&tx, hooks, id, now, &caller.user, "denied", reason)?;
        let view = load_view(&tx, id)?;
        tx.commit()?;
        log_event!(
            "request {id} denied by {}{}",
            caller.user,
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        );
        Ok(view)
    }

    pub fn cancel(&mut self, id: &str, caller: &Caller, now: i64) -> Result<RequestView> {
        self.expire(now)?;
        let hooks = self.webhooks;
        let tx = self.begin()?;
        let req = load_row(&tx, id)?;
        if req.user != caller.user {
            return Err(ServiceError::Forbidden(
                "only the requester can cancel a request".into(),
            ));
        }
        if req.status != Status::Pending {
            return Err(not_pending(&req));
        }
        close(&tx, &req, Status::Cancelled, &caller.user, None, now)?;
        record(&tx, hooks, id, now, &caller.user, "cancelled", None)?;
        let view = load_view(&tx, id)?;
        tx.commit()?;
        log_event!("request {id} cancelled by {}", caller.user);
        Ok(view)
    }

    /// Pending requests that have waited past a touched zone's `escalate_after` get an
    /// `escalated` event, once; from then on the zone's `escalate_to` groups may decide too.
    pub fn escalate(&mut self, zones: &Zones, now: i64) -> Result<()> {
        let hooks = self.webhooks;
        let tx = self.begin()?;
        let waiting: Vec<(String, i64, String)> = tx.query_map(
            "SELECT id, created_at, zones FROM requests WHERE status = 'pending' AND escalated_at IS NULL",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut escalated = vec![];
        for (id, created_at, names) in waiting {
            let groups: Vec<String> = from_json(&names)?
                .iter()
                .filter_map(|n| zones.get(n))
                .filter(|z| z.escalated(created_at, now))
                .flat_map(|z| z.escalate_to.iter().cloned())
                .collect();
            if groups.is_empty() {
                continue;
            }
            tx.execute(
                "UPDATE requests SET escalated_at = ?2 WHERE id = ?1 AND escalated_at IS NULL",
                params![id, now],
            )?;
            let note = format!("members of {} may now approve", groups.join(", "));
            record(&tx, hooks, &id, now, "jitgate", "escalated", Some(&note))?;
            escalated.push((id, note));
        }
        tx.commit()?;
        for (id, note) in escalated {
            log_event!("request {id} escalated: {note}");
        }
        Ok(())
    }
}

/// Appends a step to a request's history, and queues it for the webhooks when it is a
/// notified event (pass `hooks = 0` to record without notifying).
pub(super) fn record(
    conn: &Tx,
    hooks: usize,
    request_id: &str,
    now: i64,
    actor: &str,
    kind: &str,
    comment: Option<&str>,
) -> Result<()> {
    let mut chain = Appender::start(conn)?;
    let link = chain.next(&chain::history_content(
        request_id, now, actor, kind, comment,
    ));
    conn.execute(
        "INSERT INTO events (request_id, time, actor, kind, comment, seq, prev, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![request_id, now, actor, kind, comment, link.seq, link.prev, link.hash],
    )?;
    chain.advance(link);
    chain.finish(conn)?;
    if NOTIFIED.contains(&kind) {
        queue(conn, hooks, request_id, now, actor, kind)?;
    }
    Ok(())
}

fn load_history(conn: &Tx, id: &str) -> Result<Vec<EventView>> {
    conn.query_map(
        "SELECT time, actor, kind, comment FROM events WHERE request_id = ?1 ORDER BY time, rowid",
        params![id],
        |r| {
            Ok(EventView {
                time: format_time(r.get(0)?),
                actor: r.get(1)?,
                event: r.get(2)?,
                comment: r.get(3)?,
            })
        },
    )
}

fn expire_stale(conn: &Tx, timeout_ms: i64, now: i64) -> Result<Vec<(String, String)>> {
    conn.query_map(
        "UPDATE requests SET status = 'expired', updated_at = ?1 \
         WHERE status = 'pending' AND created_at <= ?2 RETURNING id, \"user\"",
        params![now, now - timeout_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

fn close(
    conn: &Tx,
    req: &RequestRow,
    to: Status,
    by: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    let changed = conn.execute(
        "UPDATE requests SET status = ?2, decided_by = ?3, decision_reason = ?4, updated_at = ?5 \
         WHERE id = ?1 AND status = 'pending'",
        params![req.id, to.as_str(), by, reason, now],
    )?;
    if changed != 1 {
        return Err(ServiceError::Conflict(format!(
            "request {} is no longer pending",
            req.id
        )));
    }
    Ok(())
}

/// Only the holder of an active, reusable grant may ask to extend it, and only for what it
/// covers (the plan is made from the grant).
fn may_extend(conn: &Tx, caller: &Caller, plan: &Plan, grant_id: &str, now: i64) -> Result<()> {
    let g = load_grant(conn, grant_id)?;
    if g.view.grant.user != caller.user {
        return Err(ServiceError::Forbidden(format!(
            "grant {grant_id} is not yours: only its holder may ask to extend it"
        )));
    }
    if g.revoked || g.expires_at <= now {
        return Err(ServiceError::Conflict(format!(
            "grant {grant_id} has ended: ask for a new grant instead"
        )));
    }
    if g.view.grant.single_use || plan.single_use {
        return Err(ServiceError::BadInput(format!(
            "grant {grant_id} is single-use: it cannot be extended"
        )));
    }
    if plan.starts_at.is_some() {
        return Err(ServiceError::BadInput(
            "an extension continues its grant: it takes no start".into(),
        ));
    }
    Ok(())
}

fn not_pending(req: &RequestRow) -> ServiceError {
    ServiceError::Conflict(format!(
        "request {} is {}, not pending",
        req.id,
        req.status.as_str()
    ))
}

/// "zone sales (approver groups: sales-owners)", for refusals.
pub(super) fn approver_groups(names: &[String], zones: &Zones) -> String {
    let parts: Vec<String> = names
        .iter()
        .map(|n| match zones.get(n) {
            Some(z) => format!("zone {n} (approver groups: {})", z.approvers.join(", ")),
            None => format!("zone {n}"),
        })
        .collect();
    parts.join(" or ")
}

pub(super) fn load_row(conn: &Tx, id: &str) -> Result<RequestRow> {
    conn.query_opt(
        &format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?1"),
        params![id],
        request_row,
    )?
    .ok_or_else(|| ServiceError::NotFound(format!("no request {id}")))
}

fn load_approvals(conn: &Tx, id: &str) -> Result<Vec<ApprovalView>> {
    conn.query_map(
        "SELECT approver, comment, time, zones FROM approvals WHERE request_id = ?1 ORDER BY time, rowid",
        params![id],
        |r| {
            Ok(ApprovalView {
                approver: r.get(0)?,
                comment: r.get(1)?,
                time: format_time(r.get(2)?),
                zones: from_json(&r.get::<String>(3)?)?,
            })
        },
    )
}

pub(super) fn load_view(conn: &Tx, id: &str) -> Result<RequestView> {
    let r = load_row(conn, id)?;
    // An extension's grant is the one it extended, once approved.
    let grant_id: Option<String> = match &r.extends {
        Some(g) if r.status == Status::Approved => Some(g.clone()),
        Some(_) => None,
        None => conn.query_opt(
            "SELECT id FROM grants WHERE request_id = ?1",
            params![id],
            |row| row.get(0),
        )?,
    };
    let grant = grant_id
        .map(|g| load_grant(conn, &g))
        .transpose()?
        .map(|g| g.view);
    Ok(RequestView {
        approvals: load_approvals(conn, id)?,
        id: r.id,
        status: r.status,
        user: r.user,
        groups: r.groups,
        resources: r.resources,
        actions: r.actions,
        duration: format_duration(Duration::from_millis(r.duration_ms as u64)),
        reason: r.reason,
        ticket: r.ticket,
        created_at: format_time(r.created_at),
        updated_at: format_time(r.updated_at),
        zones: r.zones,
        decided_by: r.decided_by,
        decision_reason: r.decision_reason,
        single_use: r.single_use,
        starts_at: r.starts_at.map(format_time),
        extends: r.extends,
        grant,
        history: load_history(conn, id)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::*;

    #[test]
    fn decidable_requests_are_found_behind_newer_ones_of_other_zones() {
        let mut s = store();
        let z = example();
        let sales = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let hr: Vec<String> = (1..=3)
            .map(|i| ask(&mut s, &alice(), &["hive:hr.people"], 10, T0 + i).id)
            .collect();
        let ids = |v: Vec<RequestView>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.decidable_requests(&bob(), &z, 2, T0 + 5).unwrap()),
            std::slice::from_ref(&sales.id)
        );
        let dave = who("dave", &["hr-owners"]);
        assert_eq!(
            ids(s.decidable_requests(&dave, &z, 2, T0 + 5).unwrap()),
            [hr[2].clone(), hr[1].clone()]
        );
        assert!(
            s.decidable_requests(&alice(), &z, 10, T0 + 5)
                .unwrap()
                .is_empty(),
            "never one's own"
        );
        s.deny(&sales.id, &bob(), None, &z, T0 + 6).unwrap();
        assert!(s
            .decidable_requests(&bob(), &z, 10, T0 + 6)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn approval_by_a_zone_approver_issues_the_grant() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        assert_eq!(r.status, Status::Pending);
        assert_eq!(r.zones, ["sales"]);
        assert_eq!(r.ticket.as_deref(), Some("INC-4411"));
        let done = s
            .approve(&r.id, &bob(), "ok", &example(), T0 + 1000)
            .unwrap();
        assert_eq!(done.status, Status::Approved);
        let g = done.grant.expect("a grant");
        assert!(g.grant.id.starts_with("g-"));
        assert_eq!(g.grant.request_id, r.id);
        assert_eq!(g.grant.user, "alice");
        assert_eq!(g.grant.resources, ["hive:sales.orders"]);
        assert_eq!(g.grant.actions, ["read"]);
        assert_eq!(g.grant.approvers, ["bob"]);
        assert_eq!(parse_time(&g.grant.not_before), Some(T0 + 1000));
        assert_eq!(parse_time(&g.grant.expires_at), Some(T0 + 1000 + 10 * MIN));
        assert_eq!(done.approvals[0].comment, "ok");
    }

    #[test]
    fn self_approval_is_refused() {
        let mut s = store();
        let owner = who("bob", &["sales-owners"]);
        let r = ask(&mut s, &owner, &["hive:sales.orders"], 10, T0);
        let err = s.approve(&r.id, &owner, "", &example(), T0).unwrap_err();
        assert_eq!(
            err,
            ServiceError::Forbidden("you cannot approve your own request".into())
        );
    }

    #[test]
    fn non_approver_is_refused_with_the_approver_groups_named() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let err = s
            .approve(&r.id, &who("dave", &["hr-owners"]), "", &example(), T0)
            .unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(
            err.message()
                .contains("zone sales (approver groups: sales-owners)"),
            "{err}"
        );
        assert_eq!(s.request(&r.id, T0).unwrap().status, Status::Pending);
    }

    #[test]
    fn same_approver_twice_is_a_conflict() {
        let mut s = store();
        // hr needs two approvals, so the first leaves the request pending.
        let r = ask(&mut s, &alice(), &["hdfs:/lake/hr/payroll"], 10, T0);
        let dave = who("dave", &["hr-owners"]);
        assert_eq!(
            s.approve(&r.id, &dave, "", &example(), T0).unwrap().status,
            Status::Pending
        );
        let err = s.approve(&r.id, &dave, "", &example(), T0).unwrap_err();
        assert_eq!(err.status(), 409);
        assert!(err.message().contains("already approved"), "{err}");
    }

    #[test]
    fn every_touched_zone_needs_its_own_approvals() {
        let mut s = store();
        let r = ask(
            &mut s,
            &alice(),
            &["hive:sales.orders", "hive:hr.people"],
            10,
            T0,
        );
        assert_eq!(r.zones, ["sales", "hr"]);
        let v = s.approve(&r.id, &bob(), "", &example(), T0).unwrap();
        assert_eq!(
            (v.status, v.approvals[0].zones.clone()),
            (Status::Pending, vec!["sales".to_string()])
        );
        let v = s
            .approve(&r.id, &who("dave", &["hr-owners"]), "", &example(), T0)
            .unwrap();
        assert_eq!(v.status, Status::Pending, "hr needs two approvals");
        let v = s
            .approve(
                &r.id,
                &who("erin", &["hr-owners", "sales-owners"]),
                "",
                &example(),
                T0,
            )
            .unwrap();
        assert_eq!(v.status, Status::Approved);
        assert_eq!(v.grant.unwrap().grant.approvers, ["bob", "dave", "erin"]);
    }

    #[test]
    fn approving_a_denied_or_cancelled_request_is_a_conflict() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let denied = s
            .deny(&r.id, &bob(), Some("not during the freeze"), &example(), T0)
            .unwrap();
        assert_eq!(
            (denied.status, denied.decided_by.as_deref()),
            (Status::Denied, Some("bob"))
        );
        assert_eq!(
            denied.decision_reason.as_deref(),
            Some("not during the freeze")
        );
        let err = s.approve(&r.id, &carol(), "", &example(), T0).unwrap_err();
        assert_eq!(
            err,
            ServiceError::Conflict(format!("request {} is denied, not pending", r.id))
        );

        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        assert_eq!(
            s.cancel(&r.id, &alice(), T0).unwrap().status,
            Status::Cancelled
        );
        let err = s.approve(&r.id, &carol(), "", &example(), T0).unwrap_err();
        assert!(err.message().contains("is cancelled"), "{err}");
        assert!(s
            .deny(&r.id, &carol(), None, &example(), T0)
            .unwrap_err()
            .message()
            .contains("is cancelled"));
    }

    #[test]
    fn only_the_requester_cancels_and_only_approvers_deny() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        assert_eq!(s.cancel(&r.id, &bob(), T0).unwrap_err().status(), 403);
        assert_eq!(
            s.deny(&r.id, &who("mallory", &[]), None, &example(), T0)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            s.deny(&r.id, &alice(), None, &example(), T0)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(s.request(&r.id, T0).unwrap().status, Status::Pending);
    }

    #[test]
    fn unknown_request_is_not_found() {
        let mut s = store();
        assert_eq!(s.request("r-nothing", T0).unwrap_err().status(), 404);
        assert_eq!(
            s.approve("r-nothing", &bob(), "", &example(), T0)
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            s.revoke("g-nothing", &bob(), &example(), T0)
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn empty_reason_is_refused() {
        let mut s = store();
        let plan = example()
            .plan(&["hive:sales.t".into()], &["read".into()], "5m")
            .unwrap();
        let err = s
            .create_request(&alice(), &plan, "  ", None, T0)
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message().contains("reason is required"));
    }

    #[test]
    fn pending_request_expires_after_the_timeout() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        assert_eq!(
            s.request(&r.id, T0 + 59 * MIN).unwrap().status,
            Status::Pending
        );
        assert_eq!(
            s.request(&r.id, T0 + 60 * MIN).unwrap().status,
            Status::Expired
        );
        let err = s
            .approve(&r.id, &bob(), "", &example(), T0 + 61 * MIN)
            .unwrap_err();
        assert!(err.message().contains("is expired"), "{err}");
        let r2 = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0 + 61 * MIN);
        s.sweep(&example(), T0 + 122 * MIN).unwrap();
        assert_eq!(
            s.requests(Some(Status::Expired), None, 10, T0 + 122 * MIN)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            s.request(&r2.id, T0 + 122 * MIN).unwrap().status,
            Status::Expired
        );
    }

    #[test]
    fn request_lists_are_newest_first_and_filtered() {
        let mut s = store();
        let a = ask(&mut s, &alice(), &["hive:sales.a"], 5, T0);
        let b = ask(&mut s, &who("zed", &[]), &["hive:sales.b"], 5, T0 + 1);
        let c = ask(&mut s, &alice(), &["hive:sales.c"], 5, T0 + 2);
        s.approve(&c.id, &bob(), "", &example(), T0 + 3).unwrap();
        let ids = |v: Vec<RequestView>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.requests(None, None, 10, T0 + 4).unwrap()),
            [c.id.clone(), b.id.clone(), a.id.clone()]
        );
        assert_eq!(
            ids(s.requests(Some(Status::Pending), None, 10, T0 + 4).unwrap()),
            [b.id.clone(), a.id.clone()]
        );
        assert_eq!(
            ids(s.requests(None, Some("alice"), 10, T0 + 4).unwrap()),
            [c.id.clone(), a.id.clone()]
        );
        assert_eq!(
            ids(s.requests(None, None, 1, T0 + 4).unwrap()),
            vec![c.id.clone()]
        );
    }

    #[test]
    fn two_stores_racing_to_approve_issue_one_grant() {
        let db = SharedDb::new();
        let open = || db.open();
        let mut a = open();
        let r = ask(&mut a, &alice(), &["hive:sales.orders"], 10, T0);
        let mut b = open();
        let (id_a, id_b) = (r.id.clone(), r.id.clone());
        let ta = std::thread::spawn(move || {
            a.approve(&id_a, &bob(), "", &example(), T0)
                .map(|v| v.status)
        });
        let tb = std::thread::spawn(move || {
            b.approve(&id_b, &carol(), "", &example(), T0)
                .map(|v| v.status)
        });
        let results = [ta.join().unwrap(), tb.join().unwrap()];
        assert_eq!(
            results
                .iter()
                .filter(|r| matches!(r, Ok(Status::Approved)))
                .count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(ServiceError::Conflict(_)))),
            "{results:?}"
        );
        assert_eq!(open().grants(false, None, 10, T0).unwrap().len(), 1);
    }

    #[test]
    fn matching_auto_rule_approves_at_once_recorded_as_auto() {
        let mut s = store();
        let z = workflow_zones();
        let oncall = who("olga", &["oncall"]);
        let r = ask_in(&mut s, &z, &oncall, "read", "5m", T0);
        assert_eq!(r.status, Status::Approved);
        let g = r.grant.clone().expect("a grant at once");
        assert_eq!(g.grant.approvers, ["auto:oncall"]);
        assert_eq!(parse_time(&g.grant.expires_at), Some(T0 + 5 * MIN));
        assert_eq!(
            events(&r),
            pairs(&[
                ("created", "olga"),
                ("auto-approved", "auto:oncall"),
                ("granted", "jitgate")
            ])
        );
        // Longer than the rule allows, another action, or another group: people decide.
        for (caller, action, duration) in [
            (&oncall, "read", "6m"),
            (&oncall, "write", "5m"),
            (&alice(), "read", "5m"),
        ] {
            let r = ask_in(&mut s, &z, caller, action, duration, T0);
            assert_eq!(r.status, Status::Pending, "{action} {duration}");
            assert!(r.grant.is_none());
        }
    }

    #[test]
    fn escalation_lets_the_second_group_approve_after_the_delay() {
        let mut s = store();
        let z = workflow_zones();
        let sec = who("sam", &["security"]);
        let r = ask_in(&mut s, &z, &alice(), "read", "10m", T0);
        let err = s.approve(&r.id, &sec, "", &z, T0 + 29 * MIN).unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(err.message().contains("not an approver"), "{err}");
        s.escalate(&z, T0 + 30 * MIN).unwrap();
        s.escalate(&z, T0 + 31 * MIN).unwrap();
        let v = s.request(&r.id, T0 + 31 * MIN).unwrap();
        let esc: Vec<&EventView> = v
            .history
            .iter()
            .filter(|e| e.event == "escalated")
            .collect();
        assert_eq!(esc.len(), 1, "escalated once: {:?}", v.history);
        assert_eq!(esc[0].time, format_time(T0 + 30 * MIN));
        assert_eq!(
            esc[0].comment.as_deref(),
            Some("members of security may now approve")
        );
        let v = s
            .approve(&r.id, &sec, "covering", &z, T0 + 32 * MIN)
            .unwrap();
        assert_eq!(v.status, Status::Approved);
        assert_eq!(v.grant.unwrap().grant.approvers, ["sam"]);
    }

    #[test]
    fn escalation_is_recorded_by_approve_even_without_a_sweep() {
        let mut s = store();
        let z = workflow_zones();
        let r = ask_in(&mut s, &z, &alice(), "read", "10m", T0);
        let v = s
            .deny(
                &r.id,
                &who("sam", &["security"]),
                Some("no"),
                &z,
                T0 + 45 * MIN,
            )
            .unwrap();
        assert_eq!(
            events(&v),
            pairs(&[
                ("created", "alice"),
                ("escalated", "jitgate"),
                ("denied", "sam")
            ])
        );
    }

    #[test]
    fn every_decision_is_in_the_history_with_who_when_and_comment() {
        let mut s = store();
        let z = example();
        let r = ask(&mut s, &alice(), &["hdfs:/lake/hr/x"], 10, T0);
        s.approve(
            &r.id,
            &who("dave", &["hr-owners"]),
            "looks fine",
            &z,
            T0 + 1,
        )
        .unwrap();
        let v = s
            .approve(&r.id, &who("erin", &["hr-owners"]), "", &z, T0 + 2)
            .unwrap();
        assert_eq!(
            v.history
                .iter()
                .map(|e| (
                    e.event.as_str(),
                    e.actor.as_str(),
                    e.comment.clone(),
                    e.time.clone()
                ))
                .collect::<Vec<_>>(),
            vec![
                (
                    "created",
                    "alice",
                    Some("INC-4411".to_string()),
                    format_time(T0)
                ),
                (
                    "approved",
                    "dave",
                    Some("looks fine".to_string()),
                    format_time(T0 + 1)
                ),
                ("approved", "erin", None, format_time(T0 + 2)),
                (
                    "granted",
                    "jitgate",
                    Some(format!(
                        "grant {} until {}",
                        v.grant.as_ref().unwrap().grant.id,
                        format_time(T0 + 2 + 10 * MIN)
                    )),
                    format_time(T0 + 2)
                ),
            ]
        );
        let r = ask(&mut s, &alice(), &["hive:sales.t"], 10, T0);
        let v = s.deny(&r.id, &bob(), Some("freeze"), &z, T0 + 3).unwrap();
        assert_eq!(v.history.last().unwrap().comment.as_deref(), Some("freeze"));
        let r = ask(&mut s, &alice(), &["hive:sales.t"], 10, T0);
        assert_eq!(
            s.cancel(&r.id, &alice(), T0 + 4)
                .unwrap()
                .history
                .last()
                .unwrap()
                .event,
            "cancelled"
        );
        let r = ask(&mut s, &alice(), &["hive:sales.t"], 10, T0);
        let v = s.request(&r.id, T0 + 60 * MIN).unwrap();
        assert_eq!(
            events(&v).last().unwrap(),
            &("expired".to_string(), "jitgate".to_string())
        );
    }

    #[test]
    fn concurrent_approvers_on_threads_issue_exactly_one_grant() {
        let db = SharedDb::new();
        let open = || db.open();
        let mut first = open();
        // hr needs two distinct approvers; six race for it.
        let r = ask(&mut first, &alice(), &["hdfs:/lake/hr/p"], 10, T0);
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let (mut s, id, barrier) = (open(), r.id.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    s.approve(
                        &id,
                        &who(&format!("owner{i}"), &["hr-owners"]),
                        "",
                        &example(),
                        T0,
                    )
                    .map(|v| v.status)
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let ok: Vec<Status> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        let mut sorted = ok.clone();
        sorted.sort_by_key(|s| s.as_str());
        assert_eq!(sorted, [Status::Approved, Status::Pending], "{results:?}");
        assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(ServiceError::Conflict(m)) if m.contains("approved, not pending") || m.contains("no longer pending"))), "{results:?}");
        let grants = open().grants(false, None, 10, T0).unwrap();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].grant.approvers.len(), 2);
    }

    #[test]
    fn approve_racing_cancel_ends_in_exactly_one_state() {
        let db = SharedDb::new();
        let open = || db.open();
        for _ in 0..10 {
            let r = ask(&mut open(), &alice(), &["hive:sales.orders"], 10, T0);
            let (mut a, mut b) = (open(), open());
            let (ia, ib) = (r.id.clone(), r.id.clone());
            let ta = std::thread::spawn(move || a.approve(&ia, &bob(), "", &example(), T0).is_ok());
            let tb = std::thread::spawn(move || b.cancel(&ib, &alice(), T0).is_ok());
            let (approved, cancelled) = (ta.join().unwrap(), tb.join().unwrap());
            assert!(approved ^ cancelled, "exactly one wins");
            let v = open().request(&r.id, T0).unwrap();
            assert_eq!(
                v.status,
                if approved {
                    Status::Approved
                } else {
                    Status::Cancelled
                }
            );
            assert_eq!(v.grant.is_some(), approved);
        }
    }
}
