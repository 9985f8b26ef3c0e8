//! Grants: issued when a request has its approvals, listed, revoked (or released by their
//! grantee) before their time, and used up once when single-use.

use super::feed::append_change;
use super::outbox::queue;
use super::requests::{approver_groups, load_row, record, RequestRow};
use super::sql::{params, Row, Tx};
use super::{from_json, new_id, to_json, Store};
use crate::caller::Caller;
use crate::error::{Result, ServiceError};
use crate::views::GrantView;
use crate::zones::Zones;
use jitgate::wire::{self, format_time, parse_time};

pub(super) const GRANT_COLUMNS: &str =
    "id, request_id, \"user\", resources, actions, not_before, expires_at, approvers, single_use, revoked_at, revoked_by, released, consumed_at, consumed_by";

/// A grant as stored: its view, and what the checks compare.
pub(super) struct GrantRow {
    pub(super) view: GrantView,
    pub(super) expires_at: i64,
    pub(super) revoked: bool,
}

pub(super) fn grant_row(row: &Row) -> Result<GrantRow> {
    let (resources, actions, approvers): (String, String, String) =
        (row.get(3)?, row.get(4)?, row.get(7)?);
    let not_before: i64 = row.get(5)?;
    let expires_at: i64 = row.get(6)?;
    let revoked_at: Option<i64> = row.get(9)?;
    let id: String = row.get(0)?;
    let request_id: String = row.get(1)?;
    let user: String = row.get(2)?;
    let single_use: bool = row.get(8)?;
    let revoked_by: Option<String> = row.get(10)?;
    let released: bool = row.get(11)?;
    let consumed_at: Option<i64> = row.get(12)?;
    let consumed_by: Option<String> = row.get(13)?;
    Ok(GrantRow {
        view: GrantView {
            grant: wire::Grant {
                id,
                request_id,
                user,
                resources: from_json(&resources)?,
                actions: from_json(&actions)?,
                not_before: format_time(not_before),
                expires_at: format_time(expires_at),
                approvers: from_json(&approvers)?,
                single_use,
                signature: None,
            },
            revoked_at: revoked_at.map(format_time),
            revoked_by,
            released,
            consumed_at: consumed_at.map(format_time),
            consumed_by,
        },
        expires_at,
        revoked: revoked_at.is_some(),
    })
}

impl Store {
    /// Newest first. Active means not revoked and not yet expired.
    pub fn grants(
        &mut self,
        active_only: bool,
        user: Option<&str>,
        limit: usize,
        now: i64,
    ) -> Result<Vec<GrantView>> {
        let rows = self.read()?.query_map(
            &format!(
                "SELECT {GRANT_COLUMNS} FROM grants WHERE (CAST(?1 AS TEXT) IS NULL OR \"user\" = ?1) \
                 AND (?2 = 0 OR (revoked_at IS NULL AND expires_at > ?3)) \
                 ORDER BY not_before DESC, rowid DESC LIMIT ?4"
            ),
            params![user, active_only, now, limit],
            grant_row,
        )?;
        Ok(rows.into_iter().map(|g| g.view).collect())
    }

    /// The active grants `caller` may revoke (`Zones::may_revoke`), newest first. `limit`
    /// counts only those, so grants of others never crowd them out.
    pub fn revocable_grants(
        &mut self,
        caller: &Caller,
        zones: &Zones,
        limit: usize,
        now: i64,
    ) -> Result<Vec<GrantView>> {
        let mut out = vec![];
        self.read()?.each(
            &format!(
                "SELECT {GRANT_COLUMNS}, (SELECT zones FROM requests WHERE requests.id = grants.request_id) \
                 FROM grants WHERE revoked_at IS NULL AND expires_at > ?1 ORDER BY not_before DESC, rowid DESC"
            ),
            params![now],
            |row| {
                let g = grant_row(row)?;
                let request_zones = from_json(&row.get::<String>(14)?)?;
                if zones.may_revoke(caller, &g.view.grant.user, &request_zones) {
                    out.push(g.view);
                }
                Ok(out.len() < limit)
            },
        )?;
        Ok(out)
    }

    pub fn grant(&mut self, id: &str) -> Result<GrantView> {
        Ok(load_grant(&self.read()?, id)?.view)
    }

    /// Ends a grant before its time: by its grantee (a release) or by an approver of a zone its
    /// request touched (`Zones::may_revoke`).
    pub fn revoke(
        &mut self,
        id: &str,
        caller: &Caller,
        zones: &Zones,
        now: i64,
    ) -> Result<GrantView> {
        let hooks = self.webhooks;
        let tx = self.begin()?;
        let g = load_grant(&tx, id)?;
        let req = load_row(&tx, &g.view.grant.request_id)?;
        let grantee = g.view.grant.user == caller.user;
        if !zones.may_revoke(caller, &g.view.grant.user, &req.zones) {
            return Err(ServiceError::Forbidden(format!(
                "only the grantee or an approver of {} can revoke grant {id}",
                approver_groups(&req.zones, zones)
            )));
        }
        if g.revoked {
            return Err(ServiceError::Conflict(format!(
                "grant {id} is already revoked"
            )));
        }
        if g.expires_at <= now {
            return Err(ServiceError::Conflict(format!(
                "grant {id} has already expired"
            )));
        }
        let changed = tx.execute(
            "UPDATE grants SET revoked_at = ?2, revoked_by = ?3, released = ?4 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now, caller.user, grantee],
        )?;
        if changed != 1 {
            return Err(ServiceError::Conflict(format!(
                "grant {id} is already revoked"
            )));
        }
        let seq = append_change(&tx, "revoke", Some(id), now)?;
        let what = if grantee { "released" } else { "revoked" };
        record(&tx, 0, &req.id, now, &caller.user, what, Some(id))?;
        queue(&tx, hooks, &req.id, now, &caller.user, "revoked")?;
        let view = load_grant(&tx, id)?.view;
        tx.commit()?;
        self.signal.published(seq);
        log_event!("grant {id} {what} by {}", caller.user);
        Ok(view)
    }

    /// Uses up single-use grant `id` for the query a plugin describes in `context`; only the
    /// first caller succeeds, so two engines cannot both run a query on it. With `only_user`,
    /// only a grant of that user (a plugin token bound to one user).
    pub fn consume(
        &mut self,
        id: &str,
        only_user: Option<&str>,
        context: &str,
        now: i64,
    ) -> Result<GrantView> {
        let tx = self.begin()?;
        let g = load_grant(&tx, id)?;
        if only_user.is_some_and(|u| u != g.view.grant.user) {
            return Err(ServiceError::Forbidden(format!(
                "grant {id} is not the grant of the user this plugin token is bound to"
            )));
        }
        let refuse = |why: &str| Err(ServiceError::Conflict(format!("grant {id} {why}")));
        if !g.view.grant.single_use {
            return refuse("is not single-use");
        }
        if g.view.consumed_at.is_some() {
            return refuse("was already used");
        }
        if g.revoked {
            return refuse("is revoked");
        }
        if g.expires_at <= now {
            return refuse("has expired");
        }
        if parse_time(&g.view.grant.not_before).is_some_and(|t| t > now) {
            return refuse("is not valid yet");
        }
        let changed = tx.execute(
            "UPDATE grants SET consumed_at = ?2, consumed_by = ?3 WHERE id = ?1 AND consumed_at IS NULL",
            params![id, now, context],
        )?;
        if changed != 1 {
            return refuse("was already used");
        }
        let request_id = g.view.grant.request_id.clone();
        let comment = format!("grant {id} used by {context}");
        record(
            &tx,
            0,
            &request_id,
            now,
            "plugin",
            "consumed",
            Some(&comment),
        )?;
        let view = load_grant(&tx, id)?.view;
        tx.commit()?;
        log_event!("single-use grant {id} consumed by {context}");
        Ok(view)
    }
}

/// Marks a pending request approved and issues its grant (or, for an extension, moves the
/// end of the grant it extends); the conditional UPDATE makes a second issuer fail instead of
/// issuing twice.
pub(super) fn issue_grant(
    conn: &Tx,
    hooks: usize,
    req: &RequestRow,
    approvers: &[String],
    now: i64,
) -> Result<(String, u64)> {
    let changed = conn.execute(
        "UPDATE requests SET status = 'approved', updated_at = ?2 WHERE id = ?1 AND status = 'pending'",
        params![req.id, now],
    )?;
    if changed != 1 {
        return Err(ServiceError::Conflict(format!(
            "request {} is no longer pending",
            req.id
        )));
    }
    if let Some(extended) = &req.extends {
        return extend_grant(conn, hooks, req, extended, approvers, now);
    }
    let grant_id = new_id("g-");
    // A window asked to start later starts then; one whose start has passed, at approval.
    let not_before = req.starts_at.map_or(now, |s| s.max(now));
    let expires_at = not_before + req.duration_ms;
    conn.execute(
        "INSERT INTO grants (id, request_id, \"user\", resources, actions, not_before, expires_at, approvers, single_use) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            grant_id,
            req.id,
            req.user,
            to_json(&req.resources),
            to_json(&req.actions),
            not_before,
            expires_at,
            to_json(&approvers),
            req.single_use
        ],
    )?;
    let note = match not_before > now {
        true => format!(
            "grant {grant_id} from {} until {}",
            format_time(not_before),
            format_time(expires_at)
        ),
        false => format!("grant {grant_id} until {}", format_time(expires_at)),
    };
    record(conn, 0, &req.id, now, "jitgate", "granted", Some(&note))?;
    queue(conn, hooks, &req.id, now, &approvers.join(","), "approved")?;
    let seq = append_change(conn, "grant", Some(&grant_id), now)?;
    Ok((grant_id, seq))
}

/// An approved extension: the grant it names runs `duration` longer, from its end, so it
/// continues without a gap and stays one grant (the feed sends it again, with its new end). A
/// grant that ended meanwhile is not brought back: the approval fails and changes nothing.
fn extend_grant(
    conn: &Tx,
    hooks: usize,
    req: &RequestRow,
    grant_id: &str,
    approvers: &[String],
    now: i64,
) -> Result<(String, u64)> {
    let changed = conn.execute(
        "UPDATE grants SET expires_at = expires_at + ?2 \
         WHERE id = ?1 AND revoked_at IS NULL AND expires_at > ?3",
        params![grant_id, req.duration_ms, now],
    )?;
    if changed != 1 {
        return Err(ServiceError::Conflict(format!(
            "grant {grant_id} has ended (expired or revoked) before this extension was \
             approved; ask for a new grant"
        )));
    }
    let g = load_grant(conn, grant_id)?;
    let note = format!(
        "grant {grant_id} extended until {}",
        format_time(g.expires_at)
    );
    record(conn, 0, &req.id, now, "jitgate", "granted", Some(&note))?;
    let by = format!("by request {} until {}", req.id, format_time(g.expires_at));
    record(
        conn,
        0,
        &g.view.grant.request_id,
        now,
        "jitgate",
        "extended",
        Some(&by),
    )?;
    queue(conn, hooks, &req.id, now, &approvers.join(","), "approved")?;
    let seq = append_change(conn, "grant", Some(grant_id), now)?;
    Ok((grant_id.to_string(), seq))
}

pub(super) fn load_grant(conn: &Tx, id: &str) -> Result<GrantRow> {
    conn.query_opt(
        &format!("SELECT {GRANT_COLUMNS} FROM grants WHERE id = ?1"),
        params![id],
        grant_row,
    )?
    .ok_or_else(|| ServiceError::NotFound(format!("no grant {id}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::*;

    #[test]
    fn revoke_by_grantee_or_approver_once_and_only_while_active() {
        let mut s = store();
        let z = example();
        let issue = |s: &mut Store, now| {
            let r = ask(s, &alice(), &["hive:sales.orders"], 10, now);
            s.approve(&r.id, &bob(), "", &z, now)
                .unwrap()
                .grant
                .unwrap()
                .grant
                .id
        };
        let g1 = issue(&mut s, T0);
        assert_eq!(
            s.revoke(&g1, &who("mallory", &["hr-owners"]), &z, T0)
                .unwrap_err()
                .status(),
            403
        );
        let v = s.revoke(&g1, &carol(), &z, T0 + 5).unwrap();
        assert_eq!(
            (v.revoked_by.as_deref(), v.revoked_at.is_some()),
            (Some("carol"), true)
        );
        let err = s.revoke(&g1, &alice(), &z, T0 + 6).unwrap_err();
        assert_eq!(
            err,
            ServiceError::Conflict(format!("grant {g1} is already revoked"))
        );

        let g2 = issue(&mut s, T0);
        assert!(
            s.revoke(&g2, &alice(), &z, T0 + MIN).is_ok(),
            "the grantee may give it up early"
        );

        let g3 = issue(&mut s, T0);
        let err = s.revoke(&g3, &bob(), &z, T0 + 10 * MIN).unwrap_err();
        assert_eq!(
            err,
            ServiceError::Conflict(format!("grant {g3} has already expired"))
        );

        let g4 = issue(&mut s, T0);
        let active: Vec<String> = s
            .grants(true, None, 10, T0 + MIN)
            .unwrap()
            .into_iter()
            .map(|g| g.grant.id)
            .collect();
        assert_eq!(active, [g4.clone(), g3.clone()]);
        assert_eq!(s.grants(true, Some("bob"), 10, T0 + MIN).unwrap().len(), 0);
        assert_eq!(s.grants(false, None, 10, T0 + MIN).unwrap().len(), 4);
    }

    #[test]
    fn revocable_grants_count_only_those_the_caller_may_revoke() {
        let mut s = store();
        let z = example();
        let issue = |s: &mut Store, user: &Caller, now| {
            let r = ask(s, user, &["hive:sales.orders"], 10, now);
            s.approve(&r.id, &bob(), "", &z, now)
                .unwrap()
                .grant
                .unwrap()
                .grant
                .id
        };
        let held = issue(&mut s, &alice(), T0);
        let zed = who("zed", &[]);
        let others: Vec<String> = (1..=3).map(|i| issue(&mut s, &zed, T0 + i)).collect();
        let ids = |v: Vec<GrantView>| v.into_iter().map(|g| g.grant.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.revocable_grants(&alice(), &z, 2, T0 + 5).unwrap()),
            std::slice::from_ref(&held),
            "behind newer grants of others"
        );
        assert_eq!(
            ids(s.revocable_grants(&carol(), &z, 2, T0 + 5).unwrap()),
            [others[2].clone(), others[1].clone()]
        );
        let hr = who("dave", &["hr-owners"]);
        assert!(s.revocable_grants(&hr, &z, 10, T0 + 5).unwrap().is_empty());
        s.revoke(&held, &alice(), &z, T0 + 6).unwrap();
        assert!(s
            .revocable_grants(&alice(), &z, 10, T0 + 6)
            .unwrap()
            .is_empty());
        assert!(
            s.revocable_grants(&carol(), &z, 10, T0 + 10 * MIN + 3)
                .unwrap()
                .is_empty(),
            "expired"
        );
    }

    #[test]
    fn a_single_use_grant_is_consumed_once_and_a_plain_one_never() {
        let mut s = store();
        let z = example();
        let mut plan = z
            .plan(&["hive:sales.orders".into()], &["read".into()], "5m")
            .unwrap();
        plan.single_use = true;
        let r = s
            .create_request(&alice(), &plan, "one query", None, T0)
            .unwrap();
        let g = s.approve(&r.id, &bob(), "", &z, T0).unwrap().grant.unwrap();
        let id = g.grant.id.clone();
        let used = s.consume(&id, None, "hive.query.id=q1", T0 + 1).unwrap();
        assert_eq!(used.consumed_by.as_deref(), Some("hive.query.id=q1"));
        assert!(used.consumed_at.is_some());
        let again = s
            .consume(&id, None, "hive.query.id=q2", T0 + 2)
            .unwrap_err();
        assert!(again.to_string().contains("already used"), "{again}");
        let plain = ask(&mut s, &alice(), &["hive:sales.orders"], 5, T0);
        let plain = s
            .approve(&plain.id, &bob(), "", &z, T0)
            .unwrap()
            .grant
            .unwrap();
        let e = s.consume(&plain.grant.id, None, "q", T0).unwrap_err();
        assert!(e.to_string().contains("not single-use"), "{e}");
        assert!(s.consume("g-nosuch", None, "q", T0).is_err());
        // Expired before use: refused.
        let r = s
            .create_request(&alice(), &plan, "too late", None, T0)
            .unwrap();
        let late = s.approve(&r.id, &bob(), "", &z, T0).unwrap().grant.unwrap();
        let e = s
            .consume(&late.grant.id, None, "q", T0 + 10 * 60_000)
            .unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
    }

    #[test]
    fn single_use_is_carried_on_the_grant_and_the_feed() {
        let mut s = store();
        let z = example();
        let mut plan = z
            .plan(&["hive:sales.orders".into()], &["read".into()], "5m")
            .unwrap();
        plan.single_use = true;
        let c = s.feed(None, &z.to_wire(), T0).unwrap().cursor;
        let r = s
            .create_request(&alice(), &plan, "one query", None, T0)
            .unwrap();
        assert!(r.single_use);
        let g = s.approve(&r.id, &bob(), "", &z, T0).unwrap().grant.unwrap();
        assert!(g.grant.single_use);
        let f = s.feed(Some(c), &z.to_wire(), T0).unwrap();
        assert!(f.grants[0].single_use);
        // The default stays multi-use.
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 5, T0);
        assert!(
            !s.approve(&r.id, &bob(), "", &z, T0)
                .unwrap()
                .grant
                .unwrap()
                .grant
                .single_use
        );
    }

    #[test]
    fn release_by_the_grantee_and_revoke_by_an_approver_are_told_apart() {
        let mut s = store();
        let z = example();
        let r1 = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g1 = s
            .approve(&r1.id, &bob(), "", &z, T0)
            .unwrap()
            .grant
            .unwrap()
            .grant
            .id;
        let r2 = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g2 = s
            .approve(&r2.id, &bob(), "", &z, T0)
            .unwrap()
            .grant
            .unwrap()
            .grant
            .id;
        // Overlapping grants are independent: giving one up leaves the other active.
        let released = s.revoke(&g1, &alice(), &z, T0 + MIN).unwrap();
        assert!(released.released);
        let active: Vec<String> = s
            .grants(true, None, 10, T0 + MIN)
            .unwrap()
            .into_iter()
            .map(|g| g.grant.id)
            .collect();
        assert_eq!(active, std::slice::from_ref(&g2));
        let revoked = s.revoke(&g2, &carol(), &z, T0 + MIN).unwrap();
        assert!(!revoked.released);
        let h1 = s.request(&r1.id, T0 + MIN).unwrap().history;
        let last = h1.last().unwrap();
        assert_eq!(
            (
                last.event.as_str(),
                last.actor.as_str(),
                last.comment.as_deref()
            ),
            ("released", "alice", Some(g1.as_str()))
        );
        let h2 = s.request(&r2.id, T0 + MIN).unwrap().history;
        assert_eq!(h2.last().unwrap().event, "revoked");
    }
}

#[cfg(test)]
mod schedule_tests {
    use super::*;
    use crate::store::testing::*;

    /// alice's request for `minutes` on hive:sales.orders, as `plan` makes it.
    fn plan(minutes: u64, change: impl FnOnce(&mut crate::zones::Plan)) -> crate::zones::Plan {
        let mut p = example()
            .plan(
                &["hive:sales.orders".into()],
                &["read".into()],
                &format!("{minutes}m"),
            )
            .unwrap();
        change(&mut p);
        p
    }

    #[test]
    fn a_window_asked_to_start_later_starts_then_and_lasts_its_duration() {
        let mut s = store();
        let z = example();
        let p = plan(10, |p| p.starts_at = Some(T0 + 60 * MIN));
        let r = s
            .create_request(&alice(), &p, "night job", None, T0)
            .unwrap();
        assert_eq!(
            r.starts_at.as_deref(),
            Some(format_time(T0 + 60 * MIN).as_str())
        );
        let g = s
            .approve(&r.id, &bob(), "", &z, T0 + MIN)
            .unwrap()
            .grant
            .unwrap()
            .grant;
        assert_eq!(parse_time(&g.not_before), Some(T0 + 60 * MIN));
        assert_eq!(parse_time(&g.expires_at), Some(T0 + 70 * MIN));
        // A start that passed while the request waited starts at the approval instead.
        let p = plan(10, |p| p.starts_at = Some(T0 + 2 * MIN));
        let r = s.create_request(&alice(), &p, "soon", None, T0).unwrap();
        let g = s
            .approve(&r.id, &bob(), "", &z, T0 + 5 * MIN)
            .unwrap()
            .grant
            .unwrap()
            .grant;
        assert_eq!(parse_time(&g.not_before), Some(T0 + 5 * MIN));
        assert_eq!(parse_time(&g.expires_at), Some(T0 + 15 * MIN));
    }

    #[test]
    fn an_approved_extension_continues_its_grant_without_a_gap_as_one_grant() {
        let mut s = store();
        let z = example();
        let zw = z.to_wire();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g = s
            .approve(&r.id, &bob(), "", &z, T0)
            .unwrap()
            .grant
            .unwrap()
            .grant;
        let cursor = s.feed(None, &zw, T0).unwrap().cursor;
        let ext = plan(5, |p| p.extends = Some(g.id.clone()));
        let e = s
            .create_request(&alice(), &ext, "the job runs long", None, T0 + 8 * MIN)
            .unwrap();
        assert_eq!(
            (e.status, e.extends.as_deref()),
            (Status::Pending, Some(g.id.as_str()))
        );
        assert!(e.grant.is_none(), "no grant of its own while pending");
        let e = s.approve(&e.id, &bob(), "", &z, T0 + 9 * MIN).unwrap();
        assert_eq!(e.status, Status::Approved);
        let extended = e.grant.unwrap().grant;
        assert_eq!(extended.id, g.id, "the same grant");
        assert_eq!(
            parse_time(&extended.expires_at),
            Some(T0 + 15 * MIN),
            "from its old end"
        );
        assert_eq!(s.grants(false, None, 10, T0 + 9 * MIN).unwrap().len(), 1);
        let feed = s.feed(Some(cursor), &zw, T0 + 9 * MIN).unwrap();
        assert_eq!(feed.grants.len(), 1, "the feed carries one grant: {feed:?}");
        assert_eq!(feed.grants[0].id, g.id);
        assert_eq!(feed.grants[0].expires_at, extended.expires_at);
        let both = s.feed(Some(cursor - 1), &zw, T0 + 9 * MIN).unwrap();
        assert_eq!(
            both.grants.len(),
            1,
            "issued and extended since: once, {both:?}"
        );
        assert_eq!(both.grants[0].expires_at, extended.expires_at);
        let original = s.request(&r.id, T0 + 9 * MIN).unwrap();
        assert!(
            original.history.iter().any(|h| h.event == "extended"),
            "{:?}",
            original.history
        );
    }

    #[test]
    fn only_the_holder_of_a_live_reusable_grant_may_extend_it_and_an_ended_one_stays_ended() {
        let mut s = store();
        let z = example();
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g = s
            .approve(&r.id, &bob(), "", &z, T0)
            .unwrap()
            .grant
            .unwrap()
            .grant;
        let ext = plan(5, |p| p.extends = Some(g.id.clone()));
        let err = s
            .create_request(&carol(), &ext, "mine now", None, T0)
            .unwrap_err();
        assert_eq!(err.status(), 403, "{err}");
        let err = s
            .create_request(&alice(), &ext, "late", None, T0 + 10 * MIN)
            .unwrap_err();
        assert_eq!(err.status(), 409, "an expired grant: {err}");
        let single = plan(5, |p| {
            p.extends = Some(g.id.clone());
            p.single_use = true;
        });
        assert_eq!(
            s.create_request(&alice(), &single, "x", None, T0)
                .unwrap_err()
                .status(),
            400
        );
        // Asked in time, but the grant was revoked before the approval: nothing comes back.
        let e = s
            .create_request(&alice(), &ext, "more", None, T0 + MIN)
            .unwrap();
        s.revoke(&g.id, &bob(), &z, T0 + 2 * MIN).unwrap();
        let err = s.approve(&e.id, &bob(), "", &z, T0 + 3 * MIN).unwrap_err();
        assert_eq!(err.status(), 409, "{err}");
        let after = s.grant(&g.id).unwrap();
        assert!(after.revoked_at.is_some());
        assert_eq!(
            parse_time(&after.grant.expires_at),
            Some(T0 + 10 * MIN),
            "unchanged"
        );
        assert_eq!(
            s.request(&e.id, T0 + 3 * MIN).unwrap().status,
            Status::Pending
        );
    }
}
