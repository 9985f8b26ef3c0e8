//! A request's page (its state, its grant, what was done under the grant, its history and the
//! buttons the caller may use), my requests, the approvals inbox, and the approve, deny and
//! cancel forms posted from them.

use super::grants::{active, extend_form, revoke_form, time_left};
use super::page::{back_to, current_stamp, q, resources_html, Ctx, DecisionForm, LIST_LIMIT};
use super::timeline::{self, Access};
use crate::caller::Caller;
use crate::render::html_escape as e;
use crate::state::AppState;
use crate::store::{grant_accesses, GrantAccesses, GrantView, RequestView, Status};
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jitgate::wire::{now_millis, parse_time};

/// How many of a grant's accesses its request's page lists; the audit search has the rest.
const ACCESS_LIMIT: usize = 50;
/// How many accesses the grant's timeline reads at most.
const MAX_MARKS: usize = 10_000;

fn status_badge(s: Status) -> String {
    format!("<strong class=\"status-{0}\">{0}</strong>", s.as_str())
}

/// "approve"/"deny" buttons for one pending request, each its own form.
fn decision_forms(ctx: &Ctx, r: &RequestView, back: &str) -> String {
    let id = e(&r.id);
    format!(
        "<form class=\"inline\" method=\"post\" action=\"/requests/{id}/approve\">{h}\
         <input type=\"hidden\" name=\"back\" value=\"{back}\">\
         <input type=\"text\" name=\"comment\" aria-label=\"Comment for {id}\" placeholder=\"comment (optional)\">\
         <button class=\"approve\" type=\"submit\">Approve</button></form> \
         <form class=\"inline\" method=\"post\" action=\"/requests/{id}/deny\">{h}\
         <input type=\"hidden\" name=\"back\" value=\"{back}\">\
         <input type=\"text\" name=\"reason\" aria-label=\"Reason to deny {id}\" placeholder=\"reason (optional)\">\
         <button class=\"deny\" type=\"submit\">Deny</button></form>",
        h = ctx.hidden(),
        back = e(back),
    )
}

/// Whether to offer `caller` the decision buttons: by the rule the store decides by.
fn may_decide(st: &AppState, caller: &Caller, r: &RequestView, now: i64) -> bool {
    let created = parse_time(&r.created_at).unwrap_or(now);
    r.status == Status::Pending && st.zones.may_decide(caller, &r.user, &r.zones, created, now)
}

pub(super) async fn request_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let caller = match ctx.who() {
        Ok(c) => c.clone(),
        Err(err) => return ctx.error(&err),
    };
    let r = match st.db.call(move |s| s.request(&id, now_millis())).await {
        Ok(r) => r,
        Err(err) => return ctx.error(&err),
    };
    let now = now_millis();
    let row = |k: &str, v: String| format!("<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>\n");
    let mut rows = String::new();
    rows += &row("Status", status_badge(r.status));
    rows += &row("Requested by", e(&r.user));
    rows += &row("Actions", e(&r.actions.join(", ")));
    rows += &row("Resources", resources_html(&r.resources));
    rows += &row("For", e(&r.duration));
    if let Some(t) = &r.starts_at {
        rows += &row("Starting", e(t));
    }
    if let Some(g) = &r.extends {
        rows += &row("Extends grant", e(g));
    }
    rows += &row("Reason", e(&r.reason));
    if let Some(t) = &r.ticket {
        rows += &row("Ticket", e(t));
    }
    if r.single_use {
        rows += &row("Single use", "yes".into());
    }
    rows += &row("Zones", e(&r.zones.join(", ")));
    let back = format!("/requests/{}", r.id);
    if let Some(g) = &r.grant {
        let state = match (&g.revoked_at, active(g, now)) {
            (Some(t), _) => format!(
                "{} by {} at {}",
                if g.released { "released" } else { "revoked" },
                e(g.revoked_by.as_deref().unwrap_or("?")),
                e(t)
            ),
            (None, true) => time_left(g),
            (None, false) => format!("expired at {}", e(&g.grant.expires_at)),
        };
        let button = if active(g, now) && st.zones.may_revoke(&caller, &g.grant.user, &r.zones) {
            revoke_form(&ctx, g, g.grant.user == caller.user, &back)
        } else {
            String::new()
        };
        rows += &row(
            "Grant",
            format!(
                "<code>{}</code> <span class=\"grant-state\">{state}</span> {button}{}",
                e(&g.grant.id),
                extend_form(&ctx, g, &caller, now)
            ),
        );
    }
    let touched = match &r.grant {
        Some(g) => {
            let id = g.grant.id.clone();
            match st
                .db
                .read(move |c| grant_accesses(c, &id, ACCESS_LIMIT, MAX_MARKS))
                .await
            {
                Ok(a) => accesses_html(g, &a, now),
                Err(err) => return ctx.error(&err),
            }
        }
        None => String::new(),
    };
    let history: String = r
        .history
        .iter()
        .map(|h| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&h.time),
                e(&h.event),
                e(&h.actor),
                e(h.comment.as_deref().unwrap_or(""))
            )
        })
        .collect();
    let about = if crate::context::may_see(&st, &caller, &r, now) {
        match crate::context::lookup(&st, &r.resources).await {
            Ok(shown) => context_html(&shown),
            Err(err) => return ctx.error(&err),
        }
    } else {
        String::new()
    };
    let mut actions = String::new();
    if may_decide(&st, &caller, &r, now) {
        actions += &format!("<h2>Decide</h2>{}", decision_forms(&ctx, &r, &back));
    }
    if r.status == Status::Pending && r.user == caller.user {
        actions += &format!(
            "<form method=\"post\" action=\"/requests/{}/cancel\">{}<input type=\"hidden\" name=\"back\" value=\"{}\">\
             <button type=\"submit\">Cancel this request</button></form>",
            e(&r.id),
            ctx.hidden(),
            e(&back)
        );
    }
    let body = format!(
        "<p>Request <code id=\"request-id\">{}</code></p><div class=\"scroll\"><table>\n{rows}</table></div>{about}{actions}\
{touched}\
         <h2>History</h2><div class=\"scroll\"><table><thead><tr><th>Time</th><th>Event</th><th>Who</th><th>Comment</th></tr></thead>\
         <tbody>{history}</tbody></table></div>",
        e(&r.id)
    );
    let stamp = current_stamp(&st).await;
    ctx.page(
        StatusCode::OK,
        &format!("Request {}", r.id),
        &body,
        Some(&stamp),
    )
}

/// "What it is": each resource's kind, size or location, for the people deciding.
fn context_html(shown: &[crate::context::Shown]) -> String {
    let rows: String = shown
        .iter()
        .map(|c| {
            let as_of = match (&c.as_of, &c.source) {
                (Some(t), Some(s)) => format!("{} ({})", e(t), e(s)),
                (Some(t), None) => e(t),
                _ => String::new(),
            };
            format!(
                "<tr class=\"context-{}\"><td><code>{}</code></td><td>{}</td><td>{as_of}</td></tr>",
                c.state.as_str(),
                e(&c.context.resource),
                e(&c.summary())
            )
        })
        .collect();
    format!(
        "<h2>What it is</h2><div class=\"scroll\"><table id=\"context\"><thead><tr><th>Resource</th>\
         <th>What it is</th><th>As of</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
}

/// "What was touched": the grant's timeline over its window, and its newest accesses.
fn accesses_html(g: &GrantView, a: &GrantAccesses, now: i64) -> String {
    let from = parse_time(&g.grant.not_before).unwrap_or(now);
    let expires = parse_time(&g.grant.expires_at).unwrap_or(now);
    let to = match g.revoked_at.as_deref().and_then(parse_time) {
        Some(revoked) => revoked.min(expires),
        None => expires,
    };
    let marks: Vec<Access> = a
        .marks
        .iter()
        .map(|&(time, allowed)| Access { time, allowed })
        .collect();
    let id = e(&g.grant.id);
    let chart = timeline::svg(
        &format!("timeline-{}", g.grant.id),
        &format!("Accesses under grant {} over its window", g.grant.id),
        from,
        to,
        &marks,
    );
    if a.total == 0 {
        return format!(
            "<h2>Accesses under this grant</h2>{chart}<p>No access has been audited under grant <code>{id}</code> yet.</p>"
        );
    }
    let rows: String = a
        .recent
        .iter()
        .map(|ev| {
            format!(
                "<tr><td>{}</td><td class=\"{d}\">{d}</td><td>{}</td><td><code>{}</code></td><td>{} on {}</td><td>{}</td></tr>",
                e(&ev.time),
                e(ev.operation.as_deref().unwrap_or(&ev.action)),
                e(&ev.resource),
                e(&ev.plugin),
                e(&ev.host),
                ev.context
                    .as_deref()
                    .map(|c| format!("<code>{}</code>", e(c)))
                    .unwrap_or_default(),
                d = e(&ev.decision),
            )
        })
        .collect();
    let link = format!("/audit?grant={}", e(&q(&g.grant.id)));
    let more = if a.total as usize > a.recent.len() {
        format!(
            "The newest {} of {} accesses; <a href=\"{link}\">all of them in the audit search</a>.",
            a.recent.len(),
            a.total
        )
    } else {
        format!(
            "{} access{}, newest first; <a href=\"{link}\">in the audit search</a>.",
            a.total,
            if a.total == 1 { "" } else { "es" }
        )
    };
    format!(
        "<h2>Accesses under this grant</h2>{chart}<p>{more}</p><div class=\"scroll\"><table class=\"accesses\">\
         <thead><tr><th>Time</th><th>Decision</th><th>Operation</th><th>Resource</th><th>Engine</th><th>Query</th></tr></thead>\
         <tbody>{rows}</tbody></table></div>"
    )
}

fn request_table(rows: &[RequestView], extra: impl Fn(&RequestView) -> String) -> String {
    if rows.is_empty() {
        return "<p>Nothing here.</p>".into();
    }
    let body: String = rows
        .iter()
        .map(|r| {
            format!(
                "<tr><td><a href=\"/requests/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&r.user),
                e(&r.actions.join(", ")),
                resources_html(&r.resources),
                e(&r.duration),
                e(&r.reason),
                status_badge(r.status),
                extra(r),
                id = e(&r.id),
            )
        })
        .collect();
    format!(
        "<div class=\"scroll\"><table><thead><tr><th>Request</th><th>User</th><th>Actions</th><th>Resources</th>\
         <th>For</th><th>Reason</th><th>Status</th><th></th></tr></thead><tbody>{body}</tbody></table></div>"
    )
}

pub(super) async fn my_requests(State(st): State<AppState>, ctx: Ctx) -> Response {
    let caller = match ctx.who() {
        Ok(c) => c.clone(),
        Err(err) => return ctx.error(&err),
    };
    let user = caller.user.clone();
    let rows = match st
        .db
        .call(move |s| s.requests(None, Some(&user), LIST_LIMIT, now_millis()))
        .await
    {
        Ok(r) => r,
        Err(err) => return ctx.error(&err),
    };
    let now = now_millis();
    let table = request_table(&rows, |r| match &r.grant {
        Some(g) if active(g, now) => {
            format!("{} {}", time_left(g), revoke_form(&ctx, g, true, "/my"))
        }
        _ => String::new(),
    });
    let stamp = current_stamp(&st).await;
    ctx.page(
        StatusCode::OK,
        "My requests",
        &format!("<p><a href=\"/request\">Ask for something new</a></p>{table}"),
        Some(&stamp),
    )
}

pub(super) async fn inbox(State(st): State<AppState>, ctx: Ctx) -> Response {
    let caller = match ctx.who() {
        Ok(c) => c.clone(),
        Err(err) => return ctx.error(&err),
    };
    let zones = st.zones.clone();
    let mine = match st
        .db
        .call(move |s| s.decidable_requests(&caller, &zones, LIST_LIMIT, now_millis()))
        .await
    {
        Ok(r) => r,
        Err(err) => return ctx.error(&err),
    };
    let table = request_table(&mine, |r| decision_forms(&ctx, r, "/inbox"));
    let stamp = current_stamp(&st).await;
    ctx.page(StatusCode::OK, "Approvals", &table, Some(&stamp))
}

async fn decide(
    st: AppState,
    ctx: Ctx,
    headers: HeaderMap,
    f: DecisionForm,
    id: String,
    verb: &'static str,
) -> Response {
    let result = async {
        ctx.check_post(&headers, &f.csrf)?;
        let caller = ctx.who()?.clone();
        let zones = st.zones.clone();
        let (rid, comment, reason) = (id.clone(), f.comment.clone(), f.reason.clone());
        st.db
            .call(move |s| {
                let now = now_millis();
                match verb {
                    "approve" => {
                        s.approve(&rid, &caller, comment.as_deref().unwrap_or(""), &zones, now)
                    }
                    "deny" => s.deny(&rid, &caller, reason.as_deref(), &zones, now),
                    _ => s.cancel(&rid, &caller, now),
                }
            })
            .await
    }
    .await;
    match result {
        Ok(view) => {
            crate::metrics::decided(&view);
            back_to(&f.back, format!("/requests/{id}")).into_response()
        }
        Err(err) => ctx.error(&err),
    }
}

pub(super) async fn approve(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    decide(st, ctx, headers, f, id, "approve").await
}

pub(super) async fn deny(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    decide(st, ctx, headers, f, id, "deny").await
}

pub(super) async fn cancel(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    decide(st, ctx, headers, f, id, "cancel").await
}
