//! The audit trail: the events plugins post, stored once by id on the audit chain, searched
//! by user, resource (covering), grant and time in pages, and the auditor's report that ties
//! each access to its request, reason and approvers.

use super::sql::{params, Row, Tx, Value};
use super::{from_json, Store};
use crate::chain::{self, Appender};
use crate::error::{Result, ServiceError};
use crate::views::{AuditPage, ReportRow};
use jitgate::model::{key_covers, Resource};
use jitgate::wire::{format_time, parse_time, AuditEvent};

/// Which audit events a search selects.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user: Option<String>,
    pub resource: Option<Resource>,
    pub grant: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub limit: usize,
    /// Where the page before ended (`AuditPage::next`).
    pub after: Option<(i64, i64)>,
}

/// Reads `after` as `AuditPage::next` wrote it.
pub fn page_cursor(text: &str) -> Option<(i64, i64)> {
    let (t, r) = text.split_once('.')?;
    Some((t.parse().ok()?, r.parse().ok()?))
}

impl Store {
    /// Stores each event once by id; returns how many were new. The whole batch is checked
    /// first, so a bad event stores nothing and the sender can fix and resend it.
    pub fn ingest_audit(&mut self, events: &[AuditEvent], now: i64) -> Result<usize> {
        let mut checked = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let at = |what: String| ServiceError::BadInput(format!("event {i} ({}): {what}", e.id));
            if e.id.trim().is_empty() {
                return Err(ServiceError::BadInput(format!("event {i}: id is empty")));
            }
            let time = parse_time(&e.time)
                .ok_or_else(|| at(format!("time `{}` is not an RFC 3339 UTC time", e.time)))?;
            if e.decision != "allow" && e.decision != "deny" {
                return Err(at(format!(
                    "decision `{}` must be allow or deny",
                    e.decision
                )));
            }
            let key = Resource::parse(&e.resource)
                .ok()
                .map(|r| r.key().to_string());
            checked.push((e, time, key));
        }
        let tx = self.begin()?;
        let mut accepted = 0;
        {
            let mut chain = Appender::start(&tx)?;
            for (e, time, key) in checked {
                let link = chain.next(&chain::audit_content(
                    &e.id,
                    time,
                    &e.plugin,
                    &e.host,
                    &e.user,
                    &e.resource,
                    &e.action,
                    &e.decision,
                    e.reason.as_deref(),
                    e.grant_id.as_deref(),
                    e.request_id.as_deref(),
                    e.operation.as_deref(),
                    e.context.as_deref(),
                    now,
                ));
                let inserted = tx.execute(
                    "INSERT INTO audit (id, time, plugin, host, \"user\", resource, resource_key, action, \
                     decision, reason, grant_id, request_id, operation, context, received_at, seq, prev, hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) \
                     ON CONFLICT DO NOTHING",
                    params![
                    e.id,
                    time,
                    e.plugin,
                    e.host,
                    e.user,
                    e.resource,
                    key,
                    e.action,
                    e.decision,
                    e.reason,
                    e.grant_id,
                    e.request_id,
                    e.operation,
                    e.context,
                    now,
                    link.seq,
                    link.prev,
                    link.hash
                ],
                )?;
                // A re-sent event is stored once, and is one link.
                if inserted == 1 {
                    chain.advance(link);
                    accepted += 1;
                }
            }
            chain.finish(&tx)?;
        }
        tx.commit()?;
        Ok(accepted)
    }

    /// Oldest first. `resource` matches every event on that resource or under it.
    #[cfg(test)]
    pub fn audit(&mut self, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
        read_audit(&self.read()?, f).map(|p| p.events)
    }
}

/// A page of the audit events `f` selects, oldest first (see `Store::audit`).
pub fn read_audit(conn: &Tx, f: &AuditFilter) -> Result<AuditPage> {
    {
        let mut sql = String::from(
            "SELECT id, time, plugin, host, \"user\", resource, action, decision, reason, grant_id, \
             request_id, operation, context, resource_key, rowid FROM audit WHERE 1 = 1",
        );
        let mut args: Vec<Value> = vec![];
        let mut arg = |sql: &mut String, cond: &str, v: Value| {
            args.push(v);
            sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
        };
        if let Some(u) = &f.user {
            arg(&mut sql, " AND \"user\" = ?", Value::Text(u.clone()));
        }
        if let Some(g) = &f.grant {
            arg(&mut sql, " AND grant_id = ?", Value::Text(g.clone()));
        }
        if let Some(t) = f.since {
            arg(&mut sql, " AND time >= ?", Value::Int(t));
        }
        if let Some(t) = f.until {
            arg(&mut sql, " AND time < ?", Value::Int(t));
        }
        if let Some(r) = &f.resource {
            // A cheap prefix narrowing in SQL; covering (component boundaries) is decided below.
            arg(
                &mut sql,
                " AND substr(resource_key, 1, ?) = ",
                Value::Int(r.key().chars().count() as i64),
            );
            arg(&mut sql, "?", Value::Text(r.key().to_string()));
        }
        if let Some((t, r)) = f.after {
            arg(&mut sql, " AND (time > ?", Value::Int(t));
            arg(&mut sql, " OR (time = ? AND ", Value::Int(t));
            arg(&mut sql, "rowid > ?))", Value::Int(r));
        }
        sql.push_str(" ORDER BY time, rowid");
        let args: Vec<&dyn super::sql::Param> =
            args.iter().map(|a| a as &dyn super::sql::Param).collect();
        let mut out = vec![];
        let mut last: (i64, i64) = (0, 0);
        let mut next = None;
        conn.each(&sql, &args, |row| {
            if let Some(r) = &f.resource {
                let key: Option<String> = row.get(13)?;
                if !key.is_some_and(|k| key_covers(r.key(), &k)) {
                    return Ok(true);
                }
            }
            if out.len() >= f.limit {
                next = Some(format!("{}.{}", last.0, last.1));
                return Ok(false);
            }
            last = (row.get(1)?, row.get(14)?);
            out.push(event_of(row)?);
            Ok(true)
        })?;
        Ok(AuditPage { events: out, next })
    }
}

/// The columns `event_of` reads, in its order.
const EVENT_COLUMNS: &str =
    "id, time, plugin, host, \"user\", resource, action, decision, reason, \
     grant_id, request_id, operation, context";

fn event_of(row: &Row) -> Result<AuditEvent> {
    Ok(AuditEvent {
        id: row.get(0)?,
        time: format_time(row.get(1)?),
        plugin: row.get(2)?,
        host: row.get(3)?,
        user: row.get(4)?,
        resource: row.get(5)?,
        action: row.get(6)?,
        decision: row.get(7)?,
        reason: row.get(8)?,
        grant_id: row.get(9)?,
        request_id: row.get(10)?,
        operation: row.get(11)?,
        context: row.get(12)?,
    })
}

/// The accesses audited under one grant: what its request's page shows.
#[derive(Debug, Clone, Default)]
pub struct GrantAccesses {
    /// How many there are.
    pub total: i64,
    /// The newest ones, newest first.
    pub recent: Vec<AuditEvent>,
    /// When each was made (ms) and whether it was allowed, oldest first, for the timeline.
    pub marks: Vec<(i64, bool)>,
}

/// The newest `limit` accesses made under `grant_id`, and up to `max_marks` of them for a
/// timeline (the audit table's index by grant).
pub fn grant_accesses(
    conn: &Tx,
    grant_id: &str,
    limit: usize,
    max_marks: usize,
) -> Result<GrantAccesses> {
    let total = conn.query_row(
        "SELECT COUNT(*) FROM audit WHERE grant_id = ?1",
        params![grant_id],
        |r| r.get(0),
    )?;
    let recent = conn.query_map(
        &format!(
            "SELECT {EVENT_COLUMNS} FROM audit WHERE grant_id = ?1 ORDER BY time DESC, id DESC LIMIT ?2"
        ),
        params![grant_id, limit],
        event_of,
    )?;
    let marks = conn.query_map(
        "SELECT time, decision FROM audit WHERE grant_id = ?1 ORDER BY time, id LIMIT ?2",
        params![grant_id, max_marks],
        |r| Ok((r.get(0)?, r.get::<String>(1)? == "allow")),
    )?;
    Ok(GrantAccesses {
        total,
        recent,
        marks,
    })
}

impl Store {
    /// Every audited access in `[since, until)`, by user, then resource, then time.
    #[cfg(test)]
    pub fn report(&mut self, since: i64, until: i64, limit: usize) -> Result<Vec<ReportRow>> {
        read_report(&self.read()?, since, until, limit)
    }
}

/// See `Store::report`.
pub fn read_report(conn: &Tx, since: i64, until: i64, limit: usize) -> Result<Vec<ReportRow>> {
    {
        let rows = conn.query_map(
            "SELECT a.time, a.\"user\", a.resource, a.action, a.decision, a.plugin, a.operation, a.context, \
             a.grant_id, g.request_id, r.reason, r.ticket, g.approvers, r.created_at, g.not_before, \
             g.expires_at, g.revoked_at, g.revoked_by \
             FROM audit a LEFT JOIN grants g ON g.id = a.grant_id LEFT JOIN requests r ON r.id = g.request_id \
             WHERE a.time >= ?1 AND a.time < ?2 ORDER BY a.\"user\", a.resource, a.time, a.rowid LIMIT ?3",
            params![since, until, limit],
            |r| {
            let t = |i: usize| -> Result<Option<String>> {
                Ok(r.get::<Option<i64>>(i)?.map(format_time))
            };
            let approvers: Option<String> = r.get(12)?;
            Ok((
                approvers,
                ReportRow {
                    time: format_time(r.get(0)?),
                    user: r.get(1)?,
                    resource: r.get(2)?,
                    action: r.get(3)?,
                    decision: r.get(4)?,
                    plugin: r.get(5)?,
                    operation: r.get(6)?,
                    context: r.get(7)?,
                    grant_id: r.get(8)?,
                    request_id: r.get(9)?,
                    reason: r.get(10)?,
                    ticket: r.get(11)?,
                    approvers: vec![],
                    requested_at: t(13)?,
                    granted_at: t(14)?,
                    expires_at: t(15)?,
                    revoked_at: t(16)?,
                    revoked_by: r.get(17)?,
                },
            ))
        })?;
        let mut out = vec![];
        for (approvers, mut row) in rows {
            if let Some(a) = approvers {
                row.approvers = from_json(&a)?;
            }
            out.push(row);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::*;

    #[test]
    fn audit_events_are_stored_once_by_id() {
        let mut s = store();
        let batch = vec![
            event("e1", 0, "alice", "hive:sales.orders", Some("g-1")),
            event("e2", 1, "bob", "hdfs:/lake/sales/x", None),
        ];
        assert_eq!(s.ingest_audit(&batch, T0).unwrap(), 2);
        assert_eq!(s.ingest_audit(&batch, T0).unwrap(), 0);
        let more = vec![
            batch[1].clone(),
            event("e3", 2, "alice", "hive:salesx.t", None),
        ];
        assert_eq!(s.ingest_audit(&more, T0).unwrap(), 1);
        let all = s
            .audit(&AuditFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e1", "e2", "e3"]
        );
        assert_eq!(all[0], batch[0]);
    }

    #[test]
    fn a_grant_s_accesses_come_newest_first_with_every_mark_oldest_first() {
        let mut s = store();
        let mut denied = event("e3", 3, "alice", "hive:sales.t", Some("g-1"));
        denied.decision = "deny".into();
        let batch = vec![
            event("e1", 1, "alice", "hive:sales.t", Some("g-1")),
            event("e2", 2, "bob", "hive:sales.t", Some("g-2")),
            denied,
            event("e4", 4, "alice", "hive:sales.t", Some("g-1")),
            event("e5", 5, "alice", "hive:sales.t", None),
        ];
        s.ingest_audit(&batch, T0).unwrap();
        let a = grant_accesses(&s.read().unwrap(), "g-1", 2, 100).unwrap();
        assert_eq!(a.total, 3);
        assert_eq!(
            a.recent.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e4", "e3"]
        );
        assert_eq!(
            a.marks,
            [
                (T0 + MIN, true),
                (T0 + 3 * MIN, false),
                (T0 + 4 * MIN, true)
            ]
        );
        assert_eq!(
            grant_accesses(&s.read().unwrap(), "g-1", 10, 1)
                .unwrap()
                .marks
                .len(),
            1
        );
        assert_eq!(
            grant_accesses(&s.read().unwrap(), "g-9", 10, 10)
                .unwrap()
                .total,
            0
        );
    }

    #[test]
    fn a_bad_audit_event_stores_nothing_of_its_batch() {
        let mut s = store();
        let mut bad = event("e2", 0, "alice", "hive:sales.t", None);
        bad.decision = "maybe".into();
        let err = s
            .ingest_audit(&[event("e1", 0, "alice", "hive:sales.t", None), bad], T0)
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message().contains("decision `maybe`"), "{err}");
        let mut late = event("e3", 0, "alice", "hive:sales.t", None);
        late.time = "yesterday".into();
        assert!(s
            .ingest_audit(&[late], T0)
            .unwrap_err()
            .message()
            .contains("time `yesterday`"));
        assert!(s
            .audit(&AuditFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap()
            .is_empty());
    }

    #[test]
    fn audit_filters_by_covering_resource_user_grant_and_time() {
        let mut s = store();
        s.ingest_audit(
            &[
                event("e1", 0, "alice", "hive:sales.orders", Some("g-1")),
                event("e2", 1, "alice", "hive:salesx.orders", None),
                event("e3", 2, "bob", "hdfs:/lake/sales/2026/part-0", None),
                event("e4", 3, "alice", "hdfs:/lake/salesforce", None),
                event("e5", 4, "alice", "hive:sales.orders.amount", Some("g-1")),
            ],
            T0,
        )
        .unwrap();
        let ids = |s: &mut Store, f: AuditFilter| {
            s.audit(&AuditFilter { limit: 100, ..f })
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        };
        let res = |r: &str| Some(Resource::parse(r).unwrap());
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    resource: res("hive:sales.*"),
                    ..Default::default()
                }
            ),
            ["e1", "e5"]
        );
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    resource: res("hdfs:/lake/sales"),
                    ..Default::default()
                }
            ),
            ["e3"]
        );
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    resource: res("hdfs:/"),
                    ..Default::default()
                }
            ),
            ["e3", "e4"]
        );
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    user: Some("bob".into()),
                    ..Default::default()
                }
            ),
            ["e3"]
        );
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    grant: Some("g-1".into()),
                    ..Default::default()
                }
            ),
            ["e1", "e5"]
        );
        let (since, until) = (Some(T0 + MIN), Some(T0 + 3 * MIN));
        assert_eq!(
            ids(
                &mut s,
                AuditFilter {
                    since,
                    until,
                    ..Default::default()
                }
            ),
            ["e2", "e3"]
        );
        assert_eq!(
            s.audit(&AuditFilter {
                limit: 2,
                ..Default::default()
            })
            .unwrap()
            .len(),
            2
        );
    }

    #[test]
    fn report_ties_each_access_to_its_request_reason_and_approvers() {
        let mut s = store();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g = s
            .approve(&r.id, &bob(), "", &example(), T0)
            .unwrap()
            .grant
            .unwrap()
            .grant;
        let mut allowed = event("e1", 1, "alice", "hive:sales.orders", Some(&g.id));
        allowed.request_id = Some(r.id.clone());
        s.ingest_audit(
            &[
                allowed,
                event("e2", 2, "alice", "hive:sales.x", None),
                event("e3", 90, "alice", "hive:sales.orders", None),
            ],
            T0,
        )
        .unwrap();
        let before = s.stamp().unwrap();
        let rows = s.report(T0, T0 + 60 * MIN, 100).unwrap();
        assert_eq!(rows.len(), 2, "e3 is outside the period");
        assert_eq!(rows[0].request_id.as_deref(), Some(r.id.as_str()));
        assert_eq!(rows[0].reason.as_deref(), Some("INC-4411"));
        assert_eq!(rows[0].approvers, ["bob"]);
        assert_eq!(rows[0].granted_at, Some(format_time(T0)));
        assert_eq!(
            (rows[1].decision.as_str(), rows[1].request_id.clone()),
            ("deny", None)
        );
        let other = ask(&mut s, &alice(), &["hive:sales.t"], 5, T0);
        s.cancel(&other.id, &alice(), T0).unwrap();
        assert_ne!(s.stamp().unwrap(), before);
    }
}
