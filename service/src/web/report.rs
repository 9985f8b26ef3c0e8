//! The auditors' period report (`/report`): every audited access in a period, by user and
//! resource, with the request, reason, approvers and grant times behind it, and a timeline of
//! each user's accesses over the period; a page, CSV or JSON, each with the audit chain's head
//! as the report was made.

use super::page::{page_time, q, Ctx};
use super::timeline::{self, Access};
use crate::error::{Result, ServiceError};
use crate::render::{html_escape as e, report_csv};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use jitgate::wire::{format_time, now_millis, parse_time};
use serde::Deserialize;
use std::collections::BTreeMap;

const REPORT_LIMIT: usize = 100_000;
const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    since: Option<String>,
    until: Option<String>,
    format: Option<String>,
}

/// The auditors' period report: every audited access in the period, by user and resource,
/// with the request, reason, approvers and times behind it. Default period: the last 30 days.
pub(super) async fn report_page(
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
    // One timeline per user over the period (the rows come by user).
    let mut by_user: BTreeMap<&str, Vec<Access>> = BTreeMap::new();
    for r in &rows {
        by_user.entry(&r.user).or_default().push(Access {
            time: parse_time(&r.time).unwrap_or(since),
            allowed: r.decision == "allow",
        });
    }
    if !by_user.is_empty() {
        body += "<h2>Accesses per user</h2>";
        for (i, (user, accesses)) in by_user.iter().enumerate() {
            body += &format!(
                "<figure class=\"user-timeline\"><figcaption>{}</figcaption>{}</figure>",
                e(user),
                timeline::svg(
                    &format!("timeline-{i}"),
                    &format!("Accesses by {user} from {s} to {u}"),
                    since,
                    until,
                    accesses
                )
            );
        }
    }
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
