//! The one place the service's routes meet: the JSON API (`api::routes`), the web pages
//! (`web::routes`) and Slack's form-encoded callback (`slack::routes`) under one shared state, with JSON answers for paths and methods neither has.

use crate::error::json_error;
use crate::state::AppState;
use crate::{api, slack, web};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;

pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(web::routes())
        .merge(slack::routes())
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn no_such_endpoint(method: Method, uri: Uri) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        &format!("no such endpoint: {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{method} is not allowed on {}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::{error_of, example, send};

    #[tokio::test]
    async fn unknown_endpoints_and_methods_answer_in_json() {
        let app = app(example());
        let (status, body) = send(&app, "GET", "/v1/nothing", Some("alice"), "").await;
        assert_eq!(status, 404);
        assert!(error_of(&body).contains("/v1/nothing"));
        let (status, body) = send(&app, "DELETE", "/v1/requests", Some("alice"), "").await;
        assert_eq!(status, 405);
        error_of(&body);
    }

    #[tokio::test]
    async fn the_api_and_the_pages_are_both_served() {
        let app = app(example());
        let (status, body) = send(&app, "GET", "/healthz", None, "").await;
        assert_eq!((status, body.as_str()), (200, "ok"));
        let (status, body) = send(&app, "GET", "/v1/requests", Some("alice"), "").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = send(&app, "GET", "/request", Some("alice"), "").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<h1>Request access</h1>"), "{body}");
        let (status, body) = send(&app, "DELETE", "/my", Some("alice"), "").await;
        assert_eq!(status, 405);
        error_of(&body);
    }
}
