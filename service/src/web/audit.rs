//! Audit search (`/audit`): audited accesses by user, resource, grant and period, with links to
//! the same search as CSV and JSON from the API (`/v1/audit`).

use super::page::{current_stamp, nonempty, page_time, q, Ctx};
use crate::error::Result;
use crate::render::html_escape as e;
use crate::state::AppState;
use crate::store::AuditFilter;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jitgate::model::Resource;
use jitgate::wire::format_time;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct AuditForm {
    user: Option<String>,
    resource: Option<String>,
    grant: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

pub(super) async fn audit_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(f): Query<AuditForm>,
) -> Response {
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
