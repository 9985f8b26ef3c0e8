//! The web pages `jitgate serve` renders: the request form (the link in denials), my requests,
//! the approvals inbox, active grants, audit search and the auditors' period report.
//!
//! Server-rendered HTML, every dynamic value escaped. State changes are plain form POSTs
//! protected against cross-site requests twice: a per-browser random token in a
//! `SameSite=Strict; HttpOnly` cookie that each form repeats in a hidden field (double submit),
//! and a check that `Origin`, when the browser sends it, is this service. One small script
//! (served from `/ui/app.js`, so the Content-Security-Policy can forbid inline script) refreshes
//! a page when the service's state changes and counts down grants' time left.

use crate::error::{Result, ServiceError};
use crate::identity::{cookie, Caller, DEV_USER_COOKIE};
use crate::render::{html_escape as e, report_csv};
use crate::state::AppState;
use crate::store::{AuditFilter, GrantView, RequestView, Status};
use crate::tls::Peer;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use jitgate::model::Resource;
use jitgate::wire::{format_time, now_millis, parse_time};
use serde::Deserialize;

pub const CSRF_COOKIE: &str = "jitgate_csrf";
const LIST_LIMIT: usize = 200;
const REPORT_LIMIT: usize = 100_000;
const DAY_MS: i64 = 24 * 3600 * 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/my") }))
        .route("/request", get(request_form).post(create_request))
        .route("/requests/{id}", get(request_page))
        .route("/requests/{id}/approve", post(approve))
        .route("/requests/{id}/deny", post(deny))
        .route("/requests/{id}/cancel", post(cancel))
        .route("/grants/{id}/revoke", post(revoke))
        .route("/my", get(my_requests))
        .route("/inbox", get(inbox))
        .route("/grants", get(grants_page))
        .route("/audit", get(audit_page))
        .route("/report", get(report_page))
        .route("/dev/pick", post(dev_pick))
        .route("/ui/stamp", get(stamp))
        .route("/ui/app.js", get(app_js))
}

/// What every page needs: who is asking (or why nobody is), the CSRF token, dev mode.
pub struct Ctx {
    caller: Result<Caller>,
    csrf: String,
    /// The token is new and must be set as a cookie with this response.
    new_csrf: bool,
    dev_users: Vec<String>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|c| c.0 .0.ip());
        let caller = st.identity.caller(peer, &parts.headers);
        let (csrf, new_csrf) = match cookie(&parts.headers, CSRF_COOKIE).filter(|t| valid_token(t))
        {
            Some(t) => (t, false),
            None => (crate::secret::random_token(), true),
        };
        let dev_users = st
            .identity
            .dev_users()
            .iter()
            .map(|c| c.user.clone())
            .collect();
        Ok(Ctx {
            caller,
            csrf,
            new_csrf,
            dev_users,
        })
    }
}

fn valid_token(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Ctx {
    fn who(&self) -> Result<&Caller> {
        self.caller.as_ref().map_err(Clone::clone)
    }

    fn hidden(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            e(&self.csrf)
        )
    }

    /// Refuses a state-changing POST whose token does not match the cookie, or that a
    /// browser says comes from another origin.
    fn check_post(&self, headers: &HeaderMap, sent: &str) -> Result<()> {
        let refuse = |why: &str| {
            ServiceError::Forbidden(format!(
                "this form was not sent from a jitgate page ({why}); reload the page and try again"
            ))
        };
        if self.new_csrf || !crate::secret::constant_eq(&self.csrf, sent) {
            return Err(refuse("the form token does not match"));
        }
        if !crate::identity::same_origin(headers) {
            return Err(refuse("it came from another site"));
        }
        Ok(())
    }

    /// A full page: navigation, the dev-mode banner, and (when `live`) the refresh script.
    fn page(&self, status: StatusCode, title: &str, body: &str, stamp: Option<&str>) -> Response {
        let who = match &self.caller {
            Ok(c) => format!(
                "<span class=\"who\">{}{}</span>",
                e(&c.user),
                if c.groups.is_empty() {
                    String::new()
                } else {
                    format!(" <small>({})</small>", e(&c.groups.join(", ")))
                }
            ),
            Err(_) => "<span class=\"who\">not signed in</span>".into(),
        };
        let dev = if self.dev_users.is_empty() {
            String::new()
        } else {
            let current = self.caller.as_ref().map(|c| c.user.clone()).ok();
            let options: String = self
                .dev_users
                .iter()
                .map(|u| {
                    format!(
                        "<option{}>{}</option>",
                        if current.as_deref() == Some(u) {
                            " selected"
                        } else {
                            ""
                        },
                        e(u)
                    )
                })
                .collect();
            format!(
                "<div class=\"dev\" role=\"alert\"><strong>DEV MODE</strong>: anyone can act as anyone \
                 listed here. Not for real data.\
                 <form method=\"post\" action=\"/dev/pick\">{}<label>Act as \
                 <select name=\"user\">{options}</select></label> <button>Switch</button></form></div>",
                self.hidden()
            )
        };
        let live = match stamp {
            Some(s) => format!(" data-stamp=\"{}\"", e(s)),
            None => String::new(),
        };
        let html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} · jitgate</title><style>{CSS}</style>\
             <script src=\"/ui/app.js\" defer></script></head>\n\
             <body{live}>{dev}<nav><a href=\"/request\">New request</a> <a href=\"/my\">My requests</a> \
             <a href=\"/inbox\">Approvals</a> <a href=\"/grants\">Grants</a> <a href=\"/audit\">Audit</a> \
             <a href=\"/report\">Report</a> {who}</nav>\n<main>\n<h1>{title}</h1>\n{body}\n</main></body></html>\n",
            title = e(title),
        );
        let mut resp = (status, html).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
            ),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.new_csrf {
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                self.csrf
            )) {
                h.append(header::SET_COOKIE, v);
            }
        }
        resp
    }

    fn error(&self, err: &ServiceError) -> Response {
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let hint = if matches!(err, ServiceError::Unauthenticated(_)) && !self.dev_users.is_empty()
        {
            "<p>Pick a user above.</p>"
        } else {
            ""
        };
        self.page(
            status,
            "Cannot do that",
            &format!(
                "<p class=\"error\" role=\"alert\">{}</p>{hint}",
                e(err.message())
            ),
            None,
        )
    }
}

/// The pages' one stylesheet, inline in each page (the CSP allows inline style, not script).
const CSS: &str = include_str!("page.css");

/// Served as `/ui/app.js`, so the Content-Security-Policy can forbid inline script.
const APP_JS: &str = include_str!("app.js");

async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

async fn stamp(State(st): State<AppState>, ctx: Ctx) -> Response {
    if let Err(err) = ctx.who() {
        return err.into_response();
    }
    match st.db.call(|s| s.stamp()).await {
        Ok(t) => ([(header::CACHE_CONTROL, "no-store")], t).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn current_stamp(st: &AppState) -> String {
    st.db.call(|s| s.stamp()).await.unwrap_or_default()
}

/// Quotes a word for a POSIX shell when it needs it, so a copied command runs as shown.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

const ACTIONS: [&str; 4] = ["read", "write", "export", "transform"];

#[derive(Deserialize, Default)]
pub struct FormQuery {
    resource: Option<String>,
    action: Option<String>,
}

/// The form denial messages link to, prefilled from `?resource=...&action=...`.
async fn request_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<FormQuery>,
) -> Response {
    let resource = q.resource.unwrap_or_default();
    let asked: Vec<String> = q
        .action
        .unwrap_or_default()
        .split(',')
        .map(|a| a.trim().to_lowercase())
        .collect();
    // An admin's zone whose tables are stored outside it: say so where people ask for it.
    let warnings: String = st
        .zones
        .storage_warnings_for(&resource)
        .iter()
        .map(|w| format!("<p class=\"warning\" role=\"note\">{}</p>", e(w)))
        .collect();
    ctx.page(
        StatusCode::OK,
        "Request access",
        &(warnings + &request_form_body(&ctx, &resource, &asked)),
        None,
    )
}

fn request_form_body(ctx: &Ctx, resource: &str, asked: &[String]) -> String {
    let boxes: String =
        ACTIONS
            .iter()
            .map(|a| {
                format!(
                "<label><input type=\"checkbox\" name=\"action_{a}\" value=\"1\"{}> {a}</label>",
                if asked.iter().any(|x| x == a) { " checked" } else { "" }
            )
            })
            .collect();
    let first_action = asked.iter().find(|a| !a.is_empty()).cloned();
    let command = format!(
        "jitgate request {} --action {} --for 10m --reason \"...\"",
        if resource.is_empty() {
            "RESOURCE".into()
        } else {
            shell_word(resource)
        },
        first_action
            .as_deref()
            .map(shell_word)
            .unwrap_or_else(|| "ACTION".into())
    );
    format!(
        "<form method=\"post\" action=\"/request\">{hidden}\
         <label for=\"resources\">Resources (one per line)</label>\
         <textarea id=\"resources\" name=\"resources\" rows=\"3\" required placeholder=\"hive:sales.orders\">{res}</textarea>\
         <fieldset><legend>Actions</legend>{boxes}</fieldset>\
         <label for=\"duration\">For how long</label>\
         <input type=\"text\" id=\"duration\" name=\"duration\" value=\"10m\" required inputmode=\"text\">\
         <label for=\"reason\">Reason (approvers read this)</label>\
         <textarea id=\"reason\" name=\"reason\" rows=\"2\" required></textarea>\
         <label for=\"ticket\">Ticket or incident (optional)</label>\
         <input type=\"text\" id=\"ticket\" name=\"ticket\">\
         <fieldset><label><input type=\"checkbox\" name=\"single_use\" value=\"1\"> Single use (one query or call)</label></fieldset>\
         <p><button type=\"submit\">Ask for approval</button></p></form>\
         <details><summary>Or from the CLI</summary><pre><code>{cmd}</code></pre></details>",
        hidden = ctx.hidden(),
        res = e(resource),
        cmd = e(&command),
    )
}

#[derive(Deserialize)]
pub struct NewRequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    resources: String,
    action_read: Option<String>,
    action_write: Option<String>,
    action_export: Option<String>,
    action_transform: Option<String>,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    reason: String,
    ticket: Option<String>,
    single_use: Option<String>,
}

async fn create_request(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<NewRequestForm>,
) -> Response {
    let result = async {
        ctx.check_post(&headers, &f.csrf)?;
        let caller = ctx.who()?.clone();
        let resources: Vec<String> = f
            .resources
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|r| !r.is_empty())
            .map(String::from)
            .collect();
        let actions: Vec<String> = [
            ("read", &f.action_read),
            ("write", &f.action_write),
            ("export", &f.action_export),
            ("transform", &f.action_transform),
        ]
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(a, _)| a.to_string())
        .collect();
        let mut plan = st.zones.plan(&resources, &actions, &f.duration)?;
        plan.single_use = f.single_use.is_some();
        plan.auto_approved_by = st.zones.auto_approval(&plan, &caller);
        let reason = f.reason.clone();
        let ticket = f.ticket.clone();
        st.db
            .call(move |s| {
                s.create_request(&caller, &plan, &reason, ticket.as_deref(), now_millis())
            })
            .await
    }
    .await;
    match result {
        Ok(v) => Redirect::to(&format!("/requests/{}", v.id)).into_response(),
        Err(err) => {
            let asked: Vec<String> = [
                ("read", &f.action_read),
                ("write", &f.action_write),
                ("export", &f.action_export),
                ("transform", &f.action_transform),
            ]
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(a, _)| a.to_string())
            .collect();
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let body = format!(
                "<p class=\"error\" role=\"alert\">{}</p>{}",
                e(err.message()),
                request_form_body(&ctx, &f.resources, &asked)
            );
            ctx.page(status, "Request access", &body, None)
        }
    }
}

fn status_badge(s: Status) -> String {
    format!("<strong class=\"status-{0}\">{0}</strong>", s.as_str())
}

fn resources_html(list: &[String]) -> String {
    list.iter()
        .map(|r| format!("<code>{}</code>", e(r)))
        .collect::<Vec<_>>()
        .join("<br>")
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

fn revoke_form(ctx: &Ctx, g: &GrantView, own: bool, back: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"/grants/{id}/revoke\">{h}\
         <input type=\"hidden\" name=\"back\" value=\"{back}\">\
         <button class=\"revoke\" type=\"submit\">{label}</button></form>",
        id = e(&g.grant.id),
        h = ctx.hidden(),
        back = e(back),
        label = if own { "Release" } else { "Revoke" },
    )
}

fn may_decide(st: &AppState, caller: &Caller, r: &RequestView, now: i64) -> bool {
    let created = parse_time(&r.created_at).unwrap_or(now);
    r.status == Status::Pending
        && r.user != caller.user
        && r.zones.iter().any(|z| {
            st.zones
                .get(z)
                .is_some_and(|z| z.may_approve(caller, created, now))
        })
}

/// May `caller` revoke grant `g`: its grantee, or an approver of a zone holding its resources.
fn may_revoke(st: &AppState, caller: &Caller, g: &GrantView) -> bool {
    g.grant.user == caller.user
        || g.grant.resources.iter().any(|r| {
            Resource::parse(r).is_ok_and(|r| {
                st.zones
                    .to_wire()
                    .iter()
                    .filter_map(|z| st.zones.get(&z.name))
                    .any(|z| z.contains(&r) && z.is_approver(caller))
            })
        })
}

fn active(g: &GrantView, now: i64) -> bool {
    g.revoked_at.is_none() && parse_time(&g.grant.expires_at).is_some_and(|t| t > now)
}

fn time_left(g: &GrantView) -> String {
    format!(
        "<span data-expires=\"{0}\">until {0}</span>",
        e(&g.grant.expires_at)
    )
}

async fn request_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
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
        let button = if active(g, now) && may_revoke(&st, &caller, g) {
            revoke_form(&ctx, g, g.grant.user == caller.user, &back)
        } else {
            String::new()
        };
        rows += &row(
            "Grant",
            format!(
                "<code>{}</code> <span class=\"grant-state\">{state}</span> {button}",
                e(&g.grant.id)
            ),
        );
    }
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
        "<p>Request <code id=\"request-id\">{}</code></p><div class=\"scroll\"><table>\n{rows}</table></div>{actions}\
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

async fn my_requests(State(st): State<AppState>, ctx: Ctx) -> Response {
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

async fn inbox(State(st): State<AppState>, ctx: Ctx) -> Response {
    let caller = match ctx.who() {
        Ok(c) => c.clone(),
        Err(err) => return ctx.error(&err),
    };
    let rows = match st
        .db
        .call(|s| s.requests(Some(Status::Pending), None, LIST_LIMIT, now_millis()))
        .await
    {
        Ok(r) => r,
        Err(err) => return ctx.error(&err),
    };
    let now = now_millis();
    let mine: Vec<RequestView> = rows
        .into_iter()
        .filter(|r| may_decide(&st, &caller, r, now))
        .collect();
    let table = request_table(&mine, |r| decision_forms(&ctx, r, "/inbox"));
    let stamp = current_stamp(&st).await;
    ctx.page(StatusCode::OK, "Approvals", &table, Some(&stamp))
}

async fn grants_page(State(st): State<AppState>, ctx: Ctx) -> Response {
    let caller = match ctx.who() {
        Ok(c) => c.clone(),
        Err(err) => return ctx.error(&err),
    };
    let grants = match st
        .db
        .call(|s| s.grants(true, None, LIST_LIMIT, now_millis()))
        .await
    {
        Ok(g) => g,
        Err(err) => return ctx.error(&err),
    };
    let visible: Vec<&GrantView> = grants
        .iter()
        .filter(|g| may_revoke(&st, &caller, g))
        .collect();
    let body = if visible.is_empty() {
        "<p>No active grants you hold or approve.</p>".to_string()
    } else {
        let rows: String = visible
            .iter()
            .map(|g| {
                format!(
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/requests/{rid}\">{rid}</a></td>\
                     <td>{}</td><td>{}</td><td>{}</td></tr>",
                    e(&g.grant.id),
                    e(&g.grant.user),
                    e(&g.grant.actions.join(", ")),
                    resources_html(&g.grant.resources),
                    e(&g.grant.approvers.join(", ")),
                    time_left(g),
                    revoke_form(&ctx, g, g.grant.user == caller.user, "/grants"),
                    rid = e(&g.grant.request_id),
                )
            })
            .collect();
        format!(
            "<div class=\"scroll\"><table><thead><tr><th>Grant</th><th>User</th><th>Actions</th><th>Resources</th><th>Request</th>\
             <th>Approvers</th><th>Time left</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>"
        )
    };
    let stamp = current_stamp(&st).await;
    ctx.page(StatusCode::OK, "Active grants", &body, Some(&stamp))
}

#[derive(Deserialize, Default)]
pub struct AuditForm {
    user: Option<String>,
    resource: Option<String>,
    grant: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// A time field: RFC 3339, or a bare date `2026-11-27` meaning its midnight UTC.
fn page_time(name: &str, v: &Option<String>) -> Result<Option<i64>> {
    match nonempty(v) {
        None => Ok(None),
        Some(t) => {
            let full = if t.len() == 10 {
                format!("{t}T00:00:00Z")
            } else {
                t.clone()
            };
            parse_time(&full).map(Some).ok_or_else(|| {
                ServiceError::BadInput(format!(
                    "{name} `{t}` is not a time: use 2026-11-27 or 2026-11-27T21:00:00Z"
                ))
            })
        }
    }
}

/// Encodes a query-string value.
fn q(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:/*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn audit_page(State(st): State<AppState>, ctx: Ctx, Query(f): Query<AuditForm>) -> Response {
    if let Err(err) = ctx.who() {
        return ctx.error(&err);
    }
    let filter = (|| -> Result<AuditFilter> {
        Ok(AuditFilter {
            user: nonempty(&f.user),
            resource: nonempty(&f.resource)
                .map(|r| Resource::parse(&r))
                .transpose()?,
            grant: nonempty(&f.grant),
            since: page_time("since", &f.since)?,
            until: page_time("until", &f.until)?,
            limit: 1000,
            after: None,
        })
    })();
    let field = |name: &str, label: &str, v: &Option<String>, hint: &str| {
        format!(
            "<label for=\"{name}\">{label}</label><input type=\"text\" id=\"{name}\" name=\"{name}\" value=\"{}\" placeholder=\"{hint}\">",
            e(v.as_deref().unwrap_or(""))
        )
    };
    let form = format!(
        "<form method=\"get\" action=\"/audit\">{}{}{}{}{}<p><button type=\"submit\">Search</button></p></form>",
        field("user", "User", &f.user, "alice"),
        field("resource", "Resource (and everything under it)", &f.resource, "hive:sales.*"),
        field("grant", "Grant", &f.grant, "g-..."),
        field("since", "Since", &f.since, "2026-11-27"),
        field("until", "Until", &f.until, "2026-11-28T00:00:00Z"),
    );
    let filter = match filter {
        Ok(f) => f,
        Err(err) => {
            return ctx.page(
                StatusCode::BAD_REQUEST,
                "Audit",
                &format!(
                    "<p class=\"error\" role=\"alert\">{}</p>{form}",
                    e(err.message())
                ),
                None,
            )
        }
    };
    let mut params = vec![];
    for (k, v) in [
        ("user", &f.user),
        ("resource", &f.resource),
        ("grant", &f.grant),
    ] {
        if let Some(v) = nonempty(v) {
            params.push(format!("{k}={}", q(&v)));
        }
    }
    for (k, v) in [("since", filter.since), ("until", filter.until)] {
        if let Some(t) = v {
            params.push(format!("{k}={}", q(&format_time(t))));
        }
    }
    let query = params.join("&");
    let events = match st
        .db
        .read(move |c| crate::store::read_audit(c, &filter))
        .await
    {
        Ok(page) => page.events,
        Err(err) => return ctx.error(&err),
    };
    let rows: String = events
        .iter()
        .map(|ev| {
            format!(
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&ev.time),
                e(&ev.user),
                e(&ev.resource),
                e(&ev.action),
                e(&ev.decision),
                e(ev.grant_id.as_deref().unwrap_or("")),
                match &ev.request_id {
                    Some(r) => format!("<a href=\"/requests/{0}\">{0}</a>", e(r)),
                    None => String::new(),
                },
                e(&format!("{} {}", ev.plugin, ev.host)),
                e(ev.operation.as_deref().unwrap_or("")),
            )
        })
        .collect();
    let sep = if query.is_empty() { "" } else { "&amp;" };
    let body = format!(
        "{form}<p>{n} events. Export: <a href=\"/v1/audit?{qa}{sep}format=csv\">CSV</a> · \
         <a href=\"/v1/audit?{qa}\">JSON</a></p><div class=\"scroll\"><table><thead><tr><th>Time</th><th>User</th>\
         <th>Resource</th><th>Action</th><th>Decision</th><th>Grant</th><th>Request</th><th>Where</th><th>Operation</th></tr></thead>\
         <tbody>{rows}</tbody></table></div>",
        n = events.len(),
        qa = e(&query),
    );
    let stamp = current_stamp(&st).await;
    ctx.page(StatusCode::OK, "Audit", &body, Some(&stamp))
}

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    since: Option<String>,
    until: Option<String>,
    format: Option<String>,
}

/// The auditors' period report: every audited access in the period, by user and resource,
/// with the request, reason, approvers and times behind it. Default period: the last 30 days.
async fn report_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(f): Query<ReportQuery>,
) -> Response {
    if let Err(err) = ctx.who() {
        return ctx.error(&err);
    }
    let now = now_millis();
    let period = (|| -> Result<(i64, i64)> {
        let since = page_time("since", &f.since)?.unwrap_or(now - 30 * DAY_MS);
        let until = page_time("until", &f.until)?.unwrap_or(now + 1);
        if until <= since {
            return Err(ServiceError::BadInput("until must be after since".into()));
        }
        Ok((since, until))
    })();
    let (since, until) = match period {
        Ok(p) => p,
        Err(err) => return ctx.error(&err),
    };
    // The audit chain's head as the report was made: written down with the report, it lets a
    // later `jitgate audit verify --expect` show the trail it came from was not rewritten.
    let (rows, head) = match st
        .db
        .read(move |c| {
            let rows = crate::store::read_report(c, since, until, REPORT_LIMIT)?;
            Ok((rows, crate::chain::current_head(c)?))
        })
        .await
    {
        Ok(r) => r,
        Err(err) => return ctx.error(&err),
    };
    let head_text = head
        .as_ref()
        .map_or_else(|| "none".to_string(), |h| format!("{} {}", h.seq, h.hash));
    match f.format.as_deref() {
        Some("csv") => {
            return (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"jitgate-report.csv\"".to_string(),
                    ),
                    (
                        header::HeaderName::from_static("x-jitgate-chain-head"),
                        head_text,
                    ),
                ],
                report_csv(&rows),
            )
                .into_response()
        }
        Some("json") => {
            return axum::Json(serde_json::json!({
                "since": format_time(since), "until": format_time(until), "accesses": rows,
                "chain_head": head.map(|h| serde_json::json!({"seq": h.seq, "hash": h.hash})),
            }))
            .into_response()
        }
        None | Some("") | Some("html") => {}
        Some(other) => {
            return ctx.error(&ServiceError::BadInput(format!(
                "format `{other}` is unknown: use html, csv or json"
            )))
        }
    }
    let (s, u) = (format_time(since), format_time(until));
    let mut body = format!(
        "<form method=\"get\" action=\"/report\"><label for=\"since\">Since</label>\
         <input type=\"text\" id=\"since\" name=\"since\" value=\"{s}\"><label for=\"until\">Until</label>\
         <input type=\"text\" id=\"until\" name=\"until\" value=\"{u}\"><p><button type=\"submit\">Show</button></p></form>\
         <p>{n} accesses from {s} to {u}. Export: <a href=\"/report?since={qs}&amp;until={qu}&amp;format=csv\">CSV</a> · \
         <a href=\"/report?since={qs}&amp;until={qu}&amp;format=json\">JSON</a></p>\
         <p>Audit chain head now: <code>{head}</code> (check it later with <code>jitgate audit verify --expect HASH</code>)</p>",
        s = e(&s),
        u = e(&u),
        qs = e(&q(&s)),
        qu = e(&q(&u)),
        n = rows.len(),
        head = e(&head_text),
    );
    let mut last: Option<(&str, &str)> = None;
    let mut table = String::new();
    for r in &rows {
        if last != Some((&r.user, &r.resource)) {
            table += &format!(
                "<tr><th colspan=\"7\">{} on <code>{}</code></th></tr>",
                e(&r.user),
                e(&r.resource)
            );
            last = Some((&r.user, &r.resource));
        }
        table += &format!(
            "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(&r.time),
            e(&r.action),
            e(&r.decision),
            match &r.request_id {
                Some(id) => format!("<a href=\"/requests/{0}\">{0}</a>", e(id)),
                None => "no grant".into(),
            },
            e(r.reason.as_deref().unwrap_or("")),
            e(&r.approvers.join(", ")),
            e(&match (&r.granted_at, &r.expires_at) {
                (Some(a), Some(b)) => format!("{a} – {b}"),
                _ => String::new(),
            }),
            e(&r.revoked_at.clone().map(|t| format!("revoked {t} by {}", r.revoked_by.clone().unwrap_or_default())).unwrap_or_default()),
        );
    }
    body += &format!(
        "<div class=\"scroll\"><table><thead><tr><th>Time</th><th>Access</th><th>Request</th><th>Reason</th>\
         <th>Approvers</th><th>Grant window</th><th>Ended</th></tr></thead><tbody>{table}</tbody></table></div>"
    );
    ctx.page(StatusCode::OK, "Access report", &body, None)
}

#[derive(Deserialize, Default)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    comment: Option<String>,
    reason: Option<String>,
    back: Option<String>,
}

/// Where to go after a form: the page it came from when that is a local path.
/// A browser drops tabs and line breaks from a URL (`/\t/evil.example` is `//evil.example`,
/// another site), so a path holding any whitespace or control character is not taken.
fn back_to(back: &Option<String>, default: String) -> Redirect {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains('\\')
                && !b.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            Redirect::to(b)
        }
        _ => Redirect::to(&default),
    }
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
        Ok(_) => back_to(&f.back, format!("/requests/{id}")).into_response(),
        Err(err) => ctx.error(&err),
    }
}

async fn approve(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    decide(st, ctx, headers, f, id, "approve").await
}

async fn deny(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    decide(st, ctx, headers, f, id, "deny").await
}

async fn cancel(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    decide(st, ctx, headers, f, id, "cancel").await
}

async fn revoke(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let result = async {
        ctx.check_post(&headers, &f.csrf)?;
        let caller = ctx.who()?.clone();
        let zones = st.zones.clone();
        let gid = id.clone();
        st.db
            .call(move |s| s.revoke(&gid, &caller, &zones, now_millis()))
            .await
    }
    .await;
    match result {
        Ok(g) => back_to(&f.back, format!("/requests/{}", g.grant.request_id)).into_response(),
        Err(err) => ctx.error(&err),
    }
}

#[derive(Deserialize, Default)]
pub struct PickForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
}

/// Dev mode only: remembers the picked user in a cookie.
async fn dev_pick(ctx: Ctx, headers: HeaderMap, Form(f): Form<PickForm>) -> Response {
    if ctx.dev_users.is_empty() {
        return ctx.error(&ServiceError::NotFound(
            "no user picker: this service does not run in dev mode".into(),
        ));
    }
    if let Err(err) = ctx.check_post(&headers, &f.csrf) {
        return ctx.error(&err);
    }
    if !ctx.dev_users.contains(&f.user) {
        return ctx.error(&ServiceError::BadInput(format!(
            "`{}` is not a configured user",
            f.user
        )));
    }
    let mut resp = Redirect::to("/my").into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{DEV_USER_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        f.user
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::{example, send};

    #[tokio::test]
    async fn request_page_escapes_what_it_shows() {
        let app = routes().with_state(example());
        let (status, body) = send(
            &app,
            "GET",
            "/request?resource=hdfs:/lake/sales/%3Cscript%3Ex&action=read%22",
            None,
            "",
        )
        .await;
        assert_eq!(status, 200);
        assert!(!body.contains("<script>"), "{body}");
        assert!(body.contains("hdfs:/lake/sales/&lt;script&gt;x"), "{body}");
        assert!(body.contains("jitgate request"), "{body}");
    }

    fn target(back: &str) -> String {
        let r = back_to(&Some(back.to_string()), "/default".into()).into_response();
        r.headers()[header::LOCATION].to_str().unwrap().to_string()
    }

    /// A form goes back only to a path of this service.
    #[test]
    fn back_goes_only_to_this_services_own_paths() {
        assert_eq!(target("/grants"), "/grants");
        assert_eq!(target("/requests/r-1?x=1"), "/requests/r-1?x=1");
        for elsewhere in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "evil",
        ] {
            assert_eq!(target(elsewhere), "/default", "{elsewhere:?}");
        }
    }
}
