//! What every page shares: who is asking and the form token (`Ctx`), the frame around a page's
//! body with its security headers, the error page (or, with web sign-in, the way to sign in),
//! the dev-mode user picker, the stylesheet and the live-page script, and the helpers the forms
//! of several pages use.

use crate::caller::Caller;
use crate::error::{Result, ServiceError};
use crate::identity::{cookie, DEV_USER_COOKIE};
use crate::render::html_escape as e;
use crate::state::AppState;
use crate::tls::Peer;
use axum::extract::{ConnectInfo, Form, FromRequestParts, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jitgate::wire::parse_time;
use serde::Deserialize;

const CSRF_COOKIE: &str = "jitgate_csrf";
/// The most rows a list page shows.
pub(super) const LIST_LIMIT: usize = 200;

/// What every page needs: who is asking (or why nobody is), the CSRF token, dev mode.
pub struct Ctx {
    caller: Result<Caller>,
    csrf: String,
    /// The token is new and must be set as a cookie with this response.
    new_csrf: bool,
    dev_users: Vec<String>,
    /// With web sign-in: where to sign in and come back to this page.
    sign_in: Option<String>,
    /// The browser holds a session of web sign-in, so the pages offer to sign out.
    session: bool,
    /// A page view (GET), which an unknown person is sent on to sign in from.
    viewing: bool,
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
        let sign_in = st.identity.sign_in().map(|_| {
            // back here once signed in; never to a sign-in page itself
            let here = match parts.uri.path_and_query() {
                Some(p) if !p.path().starts_with("/auth/") => p.as_str(),
                _ => "/my",
            };
            format!("/auth/signin?next={}", q(here))
        });
        let session =
            sign_in.is_some() && cookie(&parts.headers, crate::signin::SESSION_COOKIE).is_some();
        Ok(Ctx {
            caller,
            csrf,
            new_csrf,
            dev_users,
            sign_in,
            session,
            viewing: parts.method == Method::GET,
        })
    }
}

fn valid_token(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Ctx {
    pub(super) fn who(&self) -> Result<&Caller> {
        self.caller.as_ref().map_err(Clone::clone)
    }

    pub(super) fn hidden(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            e(&self.csrf)
        )
    }

    /// Refuses a state-changing POST whose token does not match the cookie, or that a
    /// browser says comes from another origin.
    pub(super) fn check_post(&self, headers: &HeaderMap, sent: &str) -> Result<()> {
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
    pub(super) fn page(
        &self,
        status: StatusCode,
        title: &str,
        body: &str,
        stamp: Option<&str>,
    ) -> Response {
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
        let who = match (&self.caller, &self.sign_in) {
            (Ok(_), Some(_)) if self.session => format!(
                "{who} <form class=\"inline\" method=\"post\" action=\"/auth/signout\">{}\
                 <button type=\"submit\">Sign out</button></form>",
                self.hidden()
            ),
            (Err(_), Some(url)) => format!("{who} <a href=\"{}\">Sign in</a>", e(url)),
            _ => who,
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

    /// With web sign-in, a page anyone could view but only a signed-in person can use (the
    /// request form) sends someone not signed in to sign in first.
    pub(super) fn sign_in_first(&self) -> Option<Response> {
        match (&self.caller, &self.sign_in) {
            (Err(err), Some(_)) if self.viewing => Some(self.error(err)),
            _ => None,
        }
    }

    /// The error as a page; with web sign-in, a page view by someone not (or no longer)
    /// signed in goes to the provider instead and comes back here.
    pub(super) fn error(&self, err: &ServiceError) -> Response {
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unknown = matches!(err, ServiceError::Unauthenticated(_));
        let hint = match &self.sign_in {
            Some(url) if unknown && self.viewing => {
                return Redirect::to(url).into_response();
            }
            Some(url) if unknown => format!(
                "<p><a href=\"{}\">Sign in</a>, then send the form again.</p>",
                e(url)
            ),
            _ if unknown && !self.dev_users.is_empty() => "<p>Pick a user above.</p>".into(),
            _ => String::new(),
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

pub(super) async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

pub(super) async fn stamp(State(st): State<AppState>, ctx: Ctx) -> Response {
    if let Err(err) = ctx.who() {
        return err.into_response();
    }
    match st.db.call(|s| s.stamp()).await {
        Ok(t) => ([(header::CACHE_CONTROL, "no-store")], t).into_response(),
        Err(err) => err.into_response(),
    }
}

pub(super) async fn current_stamp(st: &AppState) -> String {
    st.db.call(|s| s.stamp()).await.unwrap_or_default()
}

pub(super) fn resources_html(list: &[String]) -> String {
    list.iter()
        .map(|r| format!("<code>{}</code>", e(r)))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// What the approve, deny, cancel and revoke forms post.
#[derive(Deserialize, Default)]
pub struct DecisionForm {
    #[serde(default)]
    pub(super) csrf: String,
    pub(super) comment: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) back: Option<String>,
}

/// Where to go after a form: the page it came from when that is a local path.
/// A browser drops tabs and line breaks from a URL (`/\t/evil.example` is `//evil.example`,
/// another site), so a path holding any whitespace or control character is not taken.
pub(super) fn back_to(back: &Option<String>, default: String) -> Redirect {
    match back {
        Some(b) if local_path(b) => Redirect::to(b),
        _ => Redirect::to(&default),
    }
}

/// A path of this service, never another site's (see [`back_to`]).
pub(super) fn local_path(b: &str) -> bool {
    b.starts_with('/')
        && !b.starts_with("//")
        && !b.contains('\\')
        && !b.chars().any(|c| c.is_control() || c.is_whitespace())
}

pub(super) fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// A time field: RFC 3339, or a bare date `2026-11-27` meaning its midnight UTC.
pub(super) fn page_time(name: &str, v: &Option<String>) -> Result<Option<i64>> {
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
pub(super) fn q(v: &str) -> String {
    crate::render::percent_encode(v, b":/*")
}

#[derive(Deserialize, Default)]
pub struct PickForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
}

/// Dev mode only: remembers the picked user in a cookie.
pub(super) async fn dev_pick(ctx: Ctx, headers: HeaderMap, Form(f): Form<PickForm>) -> Response {
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
