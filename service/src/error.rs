//! The one error type of the service. Each variant is an HTTP status class, and each message
//! is written for the person who sent the request, so handlers only map and forward: over HTTP
//! an error is `{"error": message}` with its status (the web pages show it in a page instead).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// The request is malformed or asks for something no zone allows (400).
    BadInput(String),
    /// No usable identity was presented (401).
    Unauthenticated(String),
    /// The caller is known but may not do this (403).
    Forbidden(String),
    /// No such request, grant or endpoint (404).
    NotFound(String),
    /// The object is not in a state that allows this (409).
    Conflict(String),
    /// A state-changing API call whose body is not declared JSON (415).
    UnsupportedMediaType(String),
    /// Something broke on our side (500); never used for bad input.
    Internal(String),
    /// The database cannot be reached now (503): try again, or another replica.
    Unavailable(String),
}

impl ServiceError {
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::BadInput(_) => 400,
            ServiceError::Unauthenticated(_) => 401,
            ServiceError::Forbidden(_) => 403,
            ServiceError::NotFound(_) => 404,
            ServiceError::Conflict(_) => 409,
            ServiceError::UnsupportedMediaType(_) => 415,
            ServiceError::Internal(_) => 500,
            ServiceError::Unavailable(_) => 503,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ServiceError::BadInput(m)
            | ServiceError::Unauthenticated(m)
            | ServiceError::Forbidden(m)
            | ServiceError::NotFound(m)
            | ServiceError::Conflict(m)
            | ServiceError::UnsupportedMediaType(m)
            | ServiceError::Internal(m)
            | ServiceError::Unavailable(m) => m,
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ServiceError {}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        if let ServiceError::Internal(m) = &self {
            log_event!("internal error: {m}");
        }
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_error(status, self.message())
    }
}

/// The answer to every failed call: `{"error": message}`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

impl From<rusqlite::Error> for ServiceError {
    fn from(e: rusqlite::Error) -> Self {
        ServiceError::Internal(format!("database error: {e}"))
    }
}

impl From<jitgate::model::ModelError> for ServiceError {
    fn from(e: jitgate::model::ModelError) -> Self {
        ServiceError::BadInput(e.to_string())
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
