//! Active grants (`/grants`): those the caller holds or approves, with their time left, and the
//! forms this page and a request's page post: revoke (a release, for the grantee) and, for the
//! grantee, extend.

use super::page::{back_to, current_stamp, resources_html, Ctx, DecisionForm, LIST_LIMIT};
use crate::caller::Caller;
use crate::render::html_escape as e;
use crate::state::AppState;
use crate::store::GrantView;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jitgate::wire::{now_millis, parse_time};
use serde::Deserialize;

pub(super) fn revoke_form(ctx: &Ctx, g: &GrantView, own: bool, back: &str) -> String {
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

/// "Extend by [10m] reason [..] [Extend]", for the holder of a live, reusable grant only: the
/// store refuses anyone else's ask all the same, so nobody is offered a form bound to fail.
pub(super) fn extend_form(ctx: &Ctx, g: &GrantView, caller: &Caller, now: i64) -> String {
    if g.grant.user != caller.user || g.grant.single_use || !active(g, now) {
        return String::new();
    }
    format!(
        "<form class=\"extend\" method=\"post\" action=\"/grants/{id}/extend\">{h}\
         <label>Extend by <input type=\"text\" name=\"duration\" value=\"10m\" required class=\"duration\"></label> \
         <label>reason <input type=\"text\" name=\"reason\" required placeholder=\"why more time\"></label> \
         <button type=\"submit\">Extend</button></form>",
        id = e(&g.grant.id),
        h = ctx.hidden(),
    )
}

pub(super) fn active(g: &GrantView, now: i64) -> bool {
    g.revoked_at.is_none() && parse_time(&g.grant.expires_at).is_some_and(|t| t > now)
}

pub(super) fn time_left(g: &GrantView) -> String {
    format!(
        "<span data-expires=\"{0}\">until {0}</span>",
        e(&g.grant.expires_at)
    )
}

pub(super) async fn grants_page(State(st): State<AppState>, ctx: Ctx) -> Response {
    let caller = match ctx.who() {
        Ok(c) => c.clone(),
        Err(err) => return ctx.error(&err),
    };
    let (who, zones) = (caller.clone(), st.zones.clone());
    let visible = match st
        .db
        .call(move |s| s.revocable_grants(&who, &zones, LIST_LIMIT, now_millis()))
        .await
    {
        Ok(g) => g,
        Err(err) => return ctx.error(&err),
    };
    let now = now_millis();
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
                    revoke_form(&ctx, g, g.grant.user == caller.user, "/grants")
                        + &extend_form(&ctx, g, &caller, now),
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

pub(super) async fn revoke(
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

/// What the Extend form posts.
#[derive(Deserialize, Default)]
pub struct ExtendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    reason: String,
}

/// Files the holder's ask for more time as the API does, and shows the request it filed.
pub(super) async fn extend(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ExtendForm>,
) -> Response {
    let result = async {
        ctx.check_post(&headers, &f.csrf)?;
        let caller = ctx.who()?.clone();
        crate::api::ask_to_extend(&st, caller, id, &f.duration, f.reason, None).await
    }
    .await;
    match result {
        Ok(v) => Redirect::to(&format!("/requests/{}", v.id)).into_response(),
        Err(err) => ctx.error(&err),
    }
}
