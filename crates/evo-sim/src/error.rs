//! Evolution's error answers: `{"status": N, "error": "<reason>", "response": {"message": …}}`.

use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// An error as the HTTP API answers it (and as the [`crate::Gateway`] methods report it).
#[derive(Debug)]
pub(crate) enum ApiError {
    /// 401: missing or wrong `apikey`.
    Unauthorized,
    /// 404: no instance by that name.
    NotFound(String),
    /// 403 with messages (e.g. an instance name already in use).
    Forbidden(String),
    /// 400 with messages (strings, or objects like `{"jid","exists","number"}`).
    BadRequest(Vec<Value>),
}

impl ApiError {
    /// A 400 with one message.
    pub(crate) fn bad(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(vec![Value::String(msg.into())])
    }

    /// Evolution's message when a send or a phone action needs an open connection.
    pub(crate) fn connection_closed() -> Self {
        ApiError::bad("Connection Closed")
    }

    fn parts(&self) -> (StatusCode, Value) {
        match self {
            // Unauthorized carries a plain string message, the others an array (as Evolution).
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, json!("Unauthorized")),
            ApiError::NotFound(name) => {
                (StatusCode::NOT_FOUND, json!([format!("The \"{name}\" instance does not exist")]))
            }
            ApiError::Forbidden(msg) => (StatusCode::FORBIDDEN, json!([msg])),
            ApiError::BadRequest(msgs) => (StatusCode::BAD_REQUEST, Value::Array(msgs.clone())),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (status, message) = self.parts();
        write!(f, "{} {}", status.as_u16(), message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = self.parts();
        let reason = status.canonical_reason().unwrap_or("Error");
        (status, Json(json!({ "status": status.as_u16(), "error": reason, "response": { "message": message } })))
            .into_response()
    }
}
