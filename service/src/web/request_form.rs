//! The request form, the link in every denial (`/request?resource=...&action=...` prefills it),
//! and the request it sends (`POST /request`); a refused request shows the form again with why.
//! As resources are typed, `app.js` shows under the actions what the plugins would decide now
//! (`GET /v1/check`).

use super::page::Ctx;
use crate::error::ServiceError;
use crate::render::html_escape as e;
use crate::state::AppState;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jitgate::wire::now_millis;
use serde::Deserialize;

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
pub(super) async fn request_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<FormQuery>,
) -> Response {
    if let Some(sign_in) = ctx.sign_in_first() {
        return sign_in;
    }
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
         <div id=\"check\" class=\"check\" aria-live=\"polite\"></div>\
         <label for=\"duration\">For how long</label>\
         <input type=\"text\" id=\"duration\" name=\"duration\" value=\"10m\" required inputmode=\"text\">\
         <label for=\"start\">Starting (optional, UTC: 2026-12-06T09:00Z; empty: once approved)</label>\
         <input type=\"text\" id=\"start\" name=\"start\" placeholder=\"once approved\">\
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
    start: Option<String>,
}

impl NewRequestForm {
    /// The actions whose boxes are ticked, by their names.
    fn actions(&self) -> Vec<String> {
        [
            ("read", &self.action_read),
            ("write", &self.action_write),
            ("export", &self.action_export),
            ("transform", &self.action_transform),
        ]
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(a, _)| a.to_string())
        .collect()
    }
}

pub(super) async fn create_request(
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
        let actions = f.actions();
        let mut plan = st.zones.plan(&resources, &actions, &f.duration)?;
        plan.single_use = f.single_use.is_some();
        if let Some(start) = f.start.as_deref().filter(|s| !s.trim().is_empty()) {
            plan.start_at(start, now_millis(), st.schedule_horizon)
                .map_err(ServiceError::BadInput)?;
        }
        crate::api::file_request(&st, caller, plan, f.reason.clone(), f.ticket.clone()).await
    }
    .await;
    match result {
        Ok(v) => Redirect::to(&format!("/requests/{}", v.id)).into_response(),
        Err(err) => {
            let asked = f.actions();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::{example, send};
    use axum::routing::get;
    use axum::Router;

    #[tokio::test]
    async fn request_page_escapes_what_it_shows() {
        let app = Router::new()
            .route("/request", get(request_form))
            .with_state(example());
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
}
