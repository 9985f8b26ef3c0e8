//! The HTTP API of docs/INTERFACE.md (`/v1`): its routes, and the extractors that turn a request
//! into a caller and a checked body, every defect a JSON error. Handlers stay thin: zones decide
//! what may be asked, the store decides state, this module only translates.

use crate::caller::{canonical_user, Caller};
use crate::error::{Result, ServiceError};
use crate::feed_server;
use crate::metrics;
use crate::render::audit_csv;
use crate::state::AppState;
use crate::store::{page_cursor, read_audit, AuditFilter, GrantView, RequestView, Status};
use crate::tls::Peer;
use crate::tokens::Scope;
use crate::views::CheckView;
use axum::body::Bytes;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State,
};
use axum::http::{header, request::Parts, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jitgate::model::Resource;
use jitgate::wire::{now_millis, parse_time, AuditBatch};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

const OPENAPI: &str = include_str!("openapi.json");
/// Plugins batch audit events; allow large batches, unlike ordinary requests.
const AUDIT_BODY_LIMIT: usize = 32 * 1024 * 1024;
const DEFAULT_LIST_LIMIT: usize = 100;
const MAX_LIST_LIMIT: usize = 1000;
const DEFAULT_AUDIT_LIMIT: usize = 1000;
const MAX_AUDIT_LIMIT: usize = 100_000;

/// The `/v1` API and `/healthz`; `router` puts them beside the pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/requests", post(create_request).get(list_requests))
        .route("/v1/requests/{id}", get(get_request))
        .route("/v1/requests/{id}/approve", post(approve))
        .route("/v1/requests/{id}/deny", post(deny))
        .route("/v1/requests/{id}/cancel", post(cancel))
        .route("/v1/grants", get(list_grants))
        .route("/v1/grants/{id}", get(get_grant))
        .route("/v1/grants/{id}/revoke", post(revoke))
        .route("/v1/grants/{id}/extend", post(extend_grant))
        .route("/v1/grants/{id}/consume", post(consume))
        .route("/v1/audit/verify", get(verify_audit))
        .route("/v1/check", get(check))
        .route("/v1/feed", get(feed))
        .route(
            "/v1/audit",
            post(ingest_audit)
                .layer(DefaultBodyLimit::max(AUDIT_BODY_LIMIT))
                .get(query_audit),
        )
        .route("/v1/openapi.json", get(openapi))
        .merge(crate::context::routes())
        .route_layer(axum::middleware::from_fn(json_calls_only))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
}

/// Alive and able to reach the database: a load balancer sends nobody to a replica whose
/// database is away (503), and the replica comes back by itself when it returns.
async fn healthz(State(st): State<AppState>) -> Result<&'static str> {
    st.db.call(|s| s.ping()).await?;
    Ok("ok")
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|c| c.0 .0.ip());
        state.identity.caller(peer, &parts.headers)
    }
}

/// Proof that the request carries a valid plugin token, with what that token may act for.
pub struct Plugin(pub Scope);

impl FromRequestParts<AppState> for Plugin {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        state.identity.check_plugin(&parts.headers).map(Plugin)
    }
}

/// A JSON body whose every defect is a 400 with a JSON error (axum's own rejection is plain
/// text). The content type is not insisted on, so `curl -d` works.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let bytes = body_bytes(req, state).await?;
        parse_body(&bytes).map(JsonBody)
    }
}

/// Like [`JsonBody`], but an empty body means the defaults (approve and deny take optional
/// comments).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_body(&bytes).map(OptionalJson)
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes> {
    Bytes::from_request(req, state).await.map_err(|e| {
        ServiceError::BadInput(format!("cannot read the request body: {}", e.body_text()))
    })
}

/// CSRF on the JSON API: a browser can send a cross-site form POST (`text/plain`, urlencoded,
/// multipart) with the victim's trusted headers or cookies, but not a JSON one without asking
/// first. So a state-changing `/v1` call must declare its body JSON (415 otherwise), and one a
/// browser marks with an `Origin` must come from this service (403 otherwise).
async fn json_calls_only(req: Request, next: axum::middleware::Next) -> Response {
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return ServiceError::UnsupportedMediaType(
                "a call that changes something must send Content-Type: application/json".into(),
            )
            .into_response();
        }
        if !crate::identity::same_origin(req.headers()) {
            return ServiceError::Forbidden(
                "this call came from another site's page (Origin); jitgate refuses it".into(),
            )
            .into_response();
        }
    }
    next.run(req).await
}

fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| ServiceError::BadInput(format!("bad JSON body: {e}")))
}

/// Query parameters whose defects are 400s with a JSON error.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e| ServiceError::BadInput(e.body_text()))
    }
}

fn limit(asked: Option<usize>, default: usize, max: usize) -> usize {
    asked.unwrap_or(default).clamp(1, max)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRequest {
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    ticket: Option<String>,
    #[serde(default)]
    single_use: bool,
    /// When the window starts (RFC 3339 UTC), when later than the approval.
    #[serde(default)]
    start: Option<String>,
}

async fn create_request(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewRequest>,
) -> Result<Response> {
    let mut plan = st
        .zones
        .plan(&body.resources, &body.actions, &body.duration)?;
    plan.single_use = body.single_use;
    if let Some(start) = body.start.as_deref().filter(|s| !s.trim().is_empty()) {
        plan.start_at(start, now_millis(), st.schedule_horizon)
            .map_err(ServiceError::BadInput)?;
    }
    file_request(&st, caller, plan, body.reason, body.ticket)
        .await
        .map(created)
}

/// Files the request `plan` describes, approved at once when an auto rule matches. The API
/// and the web pages file every request through here.
pub(crate) async fn file_request(
    st: &AppState,
    caller: Caller,
    mut plan: crate::zones::Plan,
    reason: String,
    ticket: Option<String>,
) -> Result<RequestView> {
    plan.auto_approved_by = st.zones.auto_approval(&plan, &caller);
    let view = st
        .db
        .call(move |s| s.create_request(&caller, &plan, &reason, ticket.as_deref(), now_millis()))
        .await?;
    crate::context::asked(st, &view.resources).await;
    Ok(view)
}

/// 201 with the request filed and its address.
fn created(view: RequestView) -> Response {
    let location = format!("/v1/requests/{}", view.id);
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Extension {
    #[serde(default)]
    duration: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    ticket: Option<String>,
}

async fn extend_grant(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Extension>,
) -> Result<Response> {
    ask_to_extend(&st, caller, id, &body.duration, body.reason, body.ticket)
        .await
        .map(created)
}

/// Asks for more time on grant `id`: a request linked to it, for the same resources and
/// actions, decided by the same zones' approvers; approved, the grant runs on without a gap.
/// The API and the grant's Extend form on the pages both ask through here.
pub(crate) async fn ask_to_extend(
    st: &AppState,
    caller: Caller,
    id: String,
    duration: &str,
    reason: String,
    ticket: Option<String>,
) -> Result<RequestView> {
    let grant = {
        let id = id.clone();
        st.db.call(move |s| s.grant(&id)).await?
    };
    let mut plan = st
        .zones
        .plan(&grant.grant.resources, &grant.grant.actions, duration)?;
    plan.extends = Some(id);
    file_request(st, caller, plan, reason, ticket).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListRequests {
    status: Option<String>,
    user: Option<String>,
    limit: Option<usize>,
}

async fn list_requests(
    State(st): State<AppState>,
    _: Caller,
    Params(q): Params<ListRequests>,
) -> Result<Json<serde_json::Value>> {
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(Status::parse)
        .transpose()?;
    let limit = limit(q.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    let user = q.user.filter(|u| !u.is_empty());
    let views = st
        .db
        .call(move |s| s.requests(status, user.as_deref(), limit, now_millis()))
        .await?;
    Ok(Json(json!({ "requests": views })))
}

async fn get_request(
    State(st): State<AppState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Json<RequestView>> {
    Ok(Json(
        st.db.call(move |s| s.request(&id, now_millis())).await?,
    ))
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    #[serde(default)]
    comment: String,
}

async fn approve(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ApproveBody>,
) -> Result<Json<RequestView>> {
    let zones = st.zones.clone();
    let view = st
        .db
        .call(move |s| s.approve(&id, &caller, &body.comment, &zones, now_millis()))
        .await?;
    metrics::decided(&view);
    Ok(Json(view))
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DenyBody {
    reason: Option<String>,
}

async fn deny(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<DenyBody>,
) -> Result<Json<RequestView>> {
    let zones = st.zones.clone();
    let view = st
        .db
        .call(move |s| s.deny(&id, &caller, body.reason.as_deref(), &zones, now_millis()))
        .await?;
    metrics::decided(&view);
    Ok(Json(view))
}

#[derive(Default, Deserialize)]
struct CancelBody {}

async fn cancel(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(_): OptionalJson<CancelBody>,
) -> Result<Json<RequestView>> {
    Ok(Json(
        st.db
            .call(move |s| s.cancel(&id, &caller, now_millis()))
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListGrants {
    active: Option<bool>,
    user: Option<String>,
    limit: Option<usize>,
}

async fn list_grants(
    State(st): State<AppState>,
    _: Caller,
    Params(q): Params<ListGrants>,
) -> Result<Json<serde_json::Value>> {
    let limit = limit(q.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    let user = q.user.filter(|u| !u.is_empty());
    let active = q.active.unwrap_or(false);
    let grants = st
        .db
        .call(move |s| s.grants(active, user.as_deref(), limit, now_millis()))
        .await?;
    Ok(Json(json!({ "grants": grants })))
}

async fn get_grant(
    State(st): State<AppState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Json<GrantView>> {
    Ok(Json(st.db.call(move |s| s.grant(&id)).await?))
}

async fn revoke(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<GrantView>> {
    let zones = st.zones.clone();
    Ok(Json(
        st.db
            .call(move |s| s.revoke(&id, &caller, &zones, now_millis()))
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumeBody {
    /// The query that uses the grant, as the plugin names it (query id, execution id).
    #[serde(default)]
    context: String,
}

async fn consume(
    State(st): State<AppState>,
    Plugin(scope): Plugin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConsumeBody>,
) -> Result<Json<GrantView>> {
    let user = scope.user;
    Ok(Json(
        st.db
            .call(move |s| s.consume(&id, user.as_deref(), &body.context, now_millis()))
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckQuery {
    user: Option<String>,
    resource: Option<String>,
    action: Option<String>,
}

/// What the plugins would decide now (`crate::check`).
async fn check(
    State(st): State<AppState>,
    caller: Caller,
    Params(q): Params<CheckQuery>,
) -> Result<Json<CheckView>> {
    let (resource, action) = (q.resource.unwrap_or_default(), q.action.unwrap_or_default());
    Ok(Json(
        st.checker
            .check(&st, &caller, q.user.as_deref(), &resource, &action)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    after: Option<String>,
    wait: Option<u64>,
    nonce: Option<String>,
}

/// The header carrying a feed reply's signature (`jitgate::signature`).
const SIGNATURE_HEADER: &str = "x-jitgate-signature";

async fn feed(
    State(st): State<AppState>,
    Plugin(scope): Plugin,
    Params(q): Params<FeedQuery>,
) -> Result<Response> {
    let nonce = q.nonce.filter(|n| !n.is_empty());
    if let Some(n) = &nonce {
        if n.len() > 64 || !n.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ServiceError::BadInput(
                "nonce is up to 64 hex digits, fresh for each feed request".into(),
            ));
        }
    }
    let after = match q.after.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ServiceError::BadInput(format!(
                "after `{text}` is not a cursor: use the `cursor` of an earlier answer"
            ))
        })?),
    };
    let wait = Duration::from_secs(q.wait.unwrap_or(0));
    let _follower = metrics::feed_asked(after, st.signal.current());
    let mut changes =
        feed_server::next(&st.db, &st.signal, st.wire_zones.clone(), after, wait).await?;
    // A token bound to one user (a Spark driver's) learns only that user's grants.
    if let Some(user) = &scope.user {
        changes.grants.retain(|g| &g.user == user);
    }
    // A reset carries every live grant: sign it off the threads that answer requests.
    let signer = st.signer.clone();
    let (body, signature) = tokio::task::spawn_blocking(move || signer.sign(changes, nonce))
        .await
        .map_err(|e| ServiceError::Internal(format!("signing the feed failed: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::HeaderName::from_static(SIGNATURE_HEADER), signature),
        ],
        body,
    )
        .into_response())
}

async fn ingest_audit(
    State(st): State<AppState>,
    Plugin(scope): Plugin,
    JsonBody(mut batch): JsonBody<AuditBatch>,
) -> Result<Json<serde_json::Value>> {
    // The token says where events come from, whatever the body says.
    for e in &mut batch.events {
        if let Some(user) = &scope.user {
            if &canonical_user(&e.user) != user {
                return Err(ServiceError::Forbidden(format!(
                    "this plugin token is bound to user {user}: it cannot record {}'s accesses",
                    e.user
                )));
            }
        }
        if let Some(host) = &scope.host {
            e.host.clone_from(host);
        }
    }
    let accepted = st
        .db
        .call(move |s| s.ingest_audit(&batch.events, now_millis()))
        .await?;
    metrics::audit_ingested(accepted);
    Ok(Json(json!({ "accepted": accepted })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyQuery {
    expect: Option<String>,
}

/// Walks the audit chain (`crate::chain`) and names its first broken link; with `expect`, also
/// whether a head written down earlier is still on it.
async fn verify_audit(
    State(st): State<AppState>,
    _: Caller,
    Params(q): Params<VerifyQuery>,
) -> Result<Json<crate::chain::Verdict>> {
    let expect = q.expect.filter(|e| !e.is_empty());
    if let Some(e) = &expect {
        if e.len() != 64 || !e.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ServiceError::BadInput(
                "expect is a chain hash: 64 hex digits, as a report or an earlier verify printed it"
                    .into(),
            ));
        }
    }
    let expect = expect.map(|e| e.to_ascii_lowercase());
    Ok(Json(
        st.db
            .read(move |c| crate::chain::verify(c, expect.as_deref()))
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    user: Option<String>,
    resource: Option<String>,
    grant: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
    format: Option<String>,
}

fn time_param(name: &str, text: Option<String>) -> Result<Option<i64>> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => parse_time(&t).map(Some).ok_or_else(|| {
            ServiceError::BadInput(format!(
                "{name} `{t}` is not a time: use RFC 3339 UTC, e.g. 2026-11-27T21:00:00Z"
            ))
        }),
    }
}

async fn query_audit(
    State(st): State<AppState>,
    _: Caller,
    Params(q): Params<AuditQuery>,
) -> Result<Response> {
    let csv = match q.format.as_deref() {
        None | Some("") | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ServiceError::BadInput(format!(
                "format `{other}` is unknown: use json or csv"
            )))
        }
    };
    let filter = AuditFilter {
        user: q.user.filter(|u| !u.is_empty()),
        resource: q
            .resource
            .filter(|r| !r.is_empty())
            .map(|r| Resource::parse(&r))
            .transpose()?,
        grant: q.grant.filter(|g| !g.is_empty()),
        since: time_param("since", q.since)?,
        until: time_param("until", q.until)?,
        limit: limit(q.limit, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT),
        after: match q.after.filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => Some(page_cursor(&a).ok_or_else(|| {
                ServiceError::BadInput(format!(
                    "after `{a}` is not a page cursor: pass the `next` of the page before"
                ))
            })?),
        },
    };
    let page = st.db.read(move |c| read_audit(c, &filter)).await?;
    if csv {
        let next = page.next.unwrap_or_default();
        Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::HeaderName::from_static("x-jitgate-next"), next),
            ],
            audit_csv(&page.events),
        )
            .into_response())
    } else {
        Ok(Json(json!({ "events": page.events, "next": page.next })).into_response())
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::{error_of, example, send};

    fn app() -> Router {
        routes().with_state(example())
    }

    const ASK: &str = r#"{"resources": ["hive:sales.orders"], "actions": ["read"], "duration": "10m", "reason": "INC-1"}"#;

    #[tokio::test]
    async fn bad_json_body_is_a_400_json_error() {
        let app = app();
        let (status, body) = send(&app, "POST", "/v1/requests", Some("alice"), "{not json").await;
        assert_eq!(status, 400);
        assert!(error_of(&body).starts_with("bad JSON body"), "{body}");
        let (status, body) = send(
            &app,
            "POST",
            "/v1/requests",
            Some("alice"),
            r#"{"resource": ["hive:sales.t"]}"#,
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            error_of(&body).contains("unknown field `resource`"),
            "{body}"
        );
        let (status, body) = send(&app, "POST", "/v1/audit", None, "[]").await;
        assert_eq!(status, 401, "the token is checked before the body: {body}");
    }

    #[tokio::test]
    async fn unknown_resource_syntax_is_a_400() {
        let app = app();
        let body =
            r#"{"resources": ["ftp://x"], "actions": ["read"], "duration": "10m", "reason": "r"}"#;
        let (status, body) = send(&app, "POST", "/v1/requests", Some("alice"), body).await;
        assert_eq!(status, 400);
        assert!(
            error_of(&body).contains("unknown resource `ftp://x`"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn created_request_is_201_and_readable() {
        let app = app();
        let (status, body) = send(&app, "POST", "/v1/requests", Some("alice:analysts"), ASK).await;
        assert_eq!(status, 201, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "pending");
        assert_eq!(v["groups"], json!(["analysts"]));
        assert_eq!(v["grant"], serde_json::Value::Null);
        let id = v["id"].as_str().unwrap();
        let (status, body) =
            send(&app, "GET", &format!("/v1/requests/{id}"), Some("bob"), "").await;
        assert_eq!(status, 200);
        assert!(body.contains(id));
        let (status, body) = send(&app, "GET", "/v1/requests/r-nosuchthing", Some("bob"), "").await;
        assert_eq!(
            (status, error_of(&body)),
            (404, "no request r-nosuchthing".to_string())
        );
    }

    #[tokio::test]
    async fn approve_with_a_bad_body_or_wrong_state_gives_json_errors() {
        let app = app();
        let (_, body) = send(&app, "POST", "/v1/requests", Some("alice"), ASK).await;
        let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = send(
            &app,
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Some("bob:sales-owners"),
            "[1,",
        )
        .await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = send(
            &app,
            "POST",
            &format!("/v1/requests/{id}/deny"),
            Some("bob:sales-owners"),
            "",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = send(
            &app,
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Some("carol:sales-owners"),
            "",
        )
        .await;
        assert_eq!(status, 409);
        assert!(error_of(&body).contains("is denied"), "{body}");
    }

    #[tokio::test]
    async fn bad_query_values_are_400_not_500() {
        let app = app();
        for uri in [
            "/v1/requests?status=open",
            "/v1/grants?active=maybe",
            "/v1/audit?since=yesterday",
            "/v1/audit?resource=x:y",
        ] {
            let (status, body) = send(&app, "GET", uri, Some("alice"), "").await;
            assert_eq!(status, 400, "{uri}: {body}");
            error_of(&body);
        }
        let (status, _) = send(&app, "GET", "/v1/feed?after=abc", None, "").await;
        assert_eq!(status, 401);
    }

    #[test]
    fn openapi_document_covers_every_route() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = doc["paths"].as_object().unwrap();
        for (path, method) in [
            ("/v1/requests", "post"),
            ("/v1/requests", "get"),
            ("/v1/requests/{id}", "get"),
            ("/v1/requests/{id}/approve", "post"),
            ("/v1/requests/{id}/deny", "post"),
            ("/v1/requests/{id}/cancel", "post"),
            ("/v1/grants", "get"),
            ("/v1/grants/{id}", "get"),
            ("/v1/grants/{id}/revoke", "post"),
            ("/v1/feed", "get"),
            ("/v1/check", "get"),
            ("/v1/audit", "post"),
            ("/v1/audit", "get"),
            ("/v1/openapi.json", "get"),
            ("/request", "get"),
            ("/requests/{id}", "get"),
            ("/v1/slack/actions", "post"),
            ("/healthz", "get"),
            ("/metrics", "get"),
        ] {
            assert!(
                paths.get(path).and_then(|p| p.get(method)).is_some(),
                "{method} {path} missing"
            );
        }
    }
}
