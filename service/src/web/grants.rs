//! Active grants (`/grants`): those the caller holds or approves, with their time left, and the
//! revoke form (a release, for the grantee) that this page and a request's page post.

use super::page::{back_to, current_stamp, resources_html, Ctx, DecisionForm, LIST_LIMIT};
use crate::render::html_escape as e;
use crate::state::AppState;
use crate::store::GrantView;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jitgate::wire::{now_millis, parse_time};

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
