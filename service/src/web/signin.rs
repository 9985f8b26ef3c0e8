//! The pages of web sign-in (`crate::signin` holds the flow): start a sign-in, take the
//! provider's answer, sign out, and the page a signed-out person lands on. A failed sign-in
//! shows its reason and sets no session; it never sends the browser round again by itself.

use super::page::{local_path, Ctx, DecisionForm};
use crate::error::ServiceError;
use crate::identity::cookie;
use crate::render::html_escape as e;
use crate::signin::{set_cookie, Callback, PENDING_COOKIE, SESSION_COOKIE, SIGNED_OUT_PATH};
use crate::state::AppState;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    next: Option<String>,
}

fn no_sign_in() -> ServiceError {
    ServiceError::NotFound(
        "no web sign-in here: it needs auth.mode = \"oidc\" with [auth.oidc] client_id".into(),
    )
}

fn with_cookies(mut resp: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// `GET /auth/signin?next=/inbox`: off to the provider, with a fresh state, nonce and PKCE
/// verifier kept in the pending-sign-in cookie.
pub(super) async fn sign_in(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SignInQuery>,
) -> Response {
    let Some(sign_in) = st.identity.sign_in() else {
        return ctx.error(&no_sign_in());
    };
    let next = q
        .next
        .filter(|n| local_path(n))
        .unwrap_or_else(|| "/my".into());
    let (url, pending) = sign_in.begin(&next);
    with_cookies(Redirect::to(&url).into_response(), &[pending])
}

/// `GET /auth/callback`: the provider's answer. Signed in, the browser goes on to the page it
/// came from; refused, it gets the reason. Either way the pending sign-in is used up.
pub(super) async fn callback(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(answer): Query<Callback>,
) -> Response {
    let Some(sign_in) = st.identity.sign_in().cloned() else {
        return ctx.page_error(&no_sign_in());
    };
    let pending = cookie(&headers, PENDING_COOKIE);
    let done = set_cookie(PENDING_COOKIE, "", 0);
    let identity = st.identity.clone();
    let finished = tokio::task::spawn_blocking(move || {
        let (caller, next) = sign_in.finish(pending.as_deref(), &answer)?;
        if identity.user_name(&caller.user).is_empty() {
            return Err(ServiceError::Unauthenticated(
                "the ID token's user name is empty once its realm is dropped".into(),
            ));
        }
        Ok((sign_in.session_cookie(&caller), next))
    })
    .await
    .unwrap_or_else(|e| Err(ServiceError::Internal(format!("sign-in failed: {e}"))));
    match finished {
        Ok((session, next)) => with_cookies(Redirect::to(&next).into_response(), &[done, session]),
        Err(err) => {
            if let ServiceError::Internal(m) = &err {
                log_event!("sign-in failed: {m}");
            }
            with_cookies(ctx.page_error(&err), &[done])
        }
    }
}

/// `POST /auth/signout` (a form with the pages' CSRF token): the session is cleared here, and
/// at the provider when it offers RP-initiated logout. The pages' CSP lets a form lead only to
/// this service (`form-action 'self'`, redirects included), so the browser goes on to the
/// provider from a page (`Refresh`, and a link), not by a redirect.
pub(super) async fn sign_out(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<DecisionForm>,
) -> Response {
    let Some(sign_in) = st.identity.sign_in() else {
        return ctx.error(&no_sign_in());
    };
    if let Err(err) = ctx.check_post(&headers, &f.csrf) {
        return ctx.error(&err);
    }
    let cleared = [set_cookie(SESSION_COOKIE, "", 0)];
    let Some(provider) = sign_in.provider_sign_out_url() else {
        return with_cookies(Redirect::to(SIGNED_OUT_PATH).into_response(), &cleared);
    };
    let mut resp = ctx.page(
        StatusCode::OK,
        "Signing out",
        &format!(
            "<p>You are signed out of jitgate. Signing you out at your identity provider too…</p>\
             <p><a id=\"provider-sign-out\" href=\"{}\">Continue</a></p>",
            e(&provider)
        ),
        None,
    );
    if let Ok(v) = HeaderValue::from_str(&format!("0; url={provider}")) {
        resp.headers_mut().insert("refresh", v);
    }
    with_cookies(resp, &cleared)
}

/// `GET /auth/signed-out`: where sign-out ends, asking for nothing.
pub(super) async fn signed_out(ctx: Ctx) -> Response {
    ctx.page(
        StatusCode::OK,
        "Signed out",
        "<p id=\"signed-out\">You are signed out of jitgate.</p>\
         <p><a href=\"/auth/signin?next=/my\">Sign in again</a></p>",
        None,
    )
}

impl Ctx {
    /// A sign-in page's error: its reason and a way to start again, never a redirect (a refused
    /// sign-in must not send the browser round in a loop).
    fn page_error(&self, err: &ServiceError) -> Response {
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.page(
            status,
            "Sign-in failed",
            &format!(
                "<p class=\"error\" role=\"alert\" id=\"sign-in-error\">{}</p>\
                 <p>No session was started. <a href=\"/auth/signin?next=/my\">Sign in again</a></p>",
                e(err.message())
            ),
            None,
        )
    }
}
