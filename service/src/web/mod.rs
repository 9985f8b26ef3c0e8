//! The web pages `jitgate serve` renders: the request form (the link in denials), my requests,
//! the approvals inbox, active grants, audit search and the auditors' period report.
//!
//! Server-rendered HTML, every dynamic value escaped. State changes are plain form POSTs
//! protected against cross-site requests twice: a per-browser random token in a
//! `SameSite=Strict; HttpOnly` cookie that each form repeats in a hidden field (double submit),
//! and a check that `Origin`, when the browser sends it, is this service. One small script
//! (served from `/ui/app.js`, so the Content-Security-Policy can forbid inline script) refreshes
//! a page when the service's state changes and counts down grants' time left.
//!
//! One file per page family: `request_form` (the form and the request it sends), `requests` (a
//! request's page, my requests, the approvals inbox, and the decisions posted from them),
//! `grants` (active grants; revoke, release and extend), `audit` (audit search), `report` (the
//! auditors' period report) and `signin` (web sign-in's pages, under `/auth/`). `page` holds
//! what they all share: the caller and the form token, the frame around every page, the
//! dev-mode picker and the live-page script; `timeline` the accesses chart a request's page and
//! the report both draw.

mod audit;
mod grants;
mod page;
mod report;
mod request_form;
mod requests;
mod signin;
mod timeline;

use crate::state::AppState;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/my") }))
        .route(
            "/request",
            get(request_form::request_form).post(request_form::create_request),
        )
        .route("/requests/{id}", get(requests::request_page))
        .route("/requests/{id}/approve", post(requests::approve))
        .route("/requests/{id}/deny", post(requests::deny))
        .route("/requests/{id}/cancel", post(requests::cancel))
        .route("/grants/{id}/revoke", post(grants::revoke))
        .route("/grants/{id}/extend", post(grants::extend))
        .route("/my", get(requests::my_requests))
        .route("/inbox", get(requests::inbox))
        .route("/grants", get(grants::grants_page))
        .route("/audit", get(audit::audit_page))
        .route("/report", get(report::report_page))
        .route("/dev/pick", post(page::dev_pick))
        .route("/auth/signin", get(signin::sign_in))
        .route("/auth/callback", get(signin::callback))
        .route("/auth/signout", post(signin::sign_out))
        .route("/auth/signed-out", get(signin::signed_out))
        .route("/ui/stamp", get(page::stamp))
        .route("/ui/app.js", get(page::app_js))
}
