//! Errors at the edge: one JSON envelope for the API, `{"error":{"code":…,"message":…}}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::actions::ActionError;
use crate::app::App;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    /// More members of the error object (e.g. `limit` and `allowed` of `plan_limit_reached`).
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None, details: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({ "code": self.code, "message": self.message });
        if let (Some(serde_json::Value::Object(more)), Some(object)) = (self.details, error.as_object_mut()) {
            object.extend(more);
        }
        let body = serde_json::json!({ "error": error });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        let status = match &e {
            ActionError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ActionError::NotFound => StatusCode::NOT_FOUND,
            ActionError::Forbidden | ActionError::Disabled { .. } | ActionError::PlanLimit { .. } => {
                StatusCode::FORBIDDEN
            }
            ActionError::Conflict { .. } => StatusCode::CONFLICT,
            ActionError::Unauthorized => StatusCode::UNAUTHORIZED,
            ActionError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ActionError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match &e {
            ActionError::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        };
        let retry_after = match e {
            ActionError::RateLimited { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        };
        let details = match e {
            ActionError::PlanLimit { limit, allowed } => {
                Some(serde_json::json!({ "limit": limit, "allowed": allowed }))
            }
            _ => None,
        };
        ApiError { status, code: e.code(), message, retry_after, details }
    }
}

/// A JSON body with malformed, mistyped or oversized bodies answered in the error envelope:
/// 415 without a JSON content type, 413 over the body limit, 400 `malformed_json` when the bytes
/// are not JSON at all, 422 `invalid_body` when they are JSON of the wrong shape.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(unsupported_media_type());
        }
        let body = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        parse_json(&body).map(ApiJson)
    }
}

/// A body that may be empty (then `T::default()`); when it is not, it must be JSON, sent as JSON.
pub struct OptionalApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let body = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalApiJson(T::default()));
        }
        if !json {
            return Err(unsupported_media_type());
        }
        parse_json(&body).map(OptionalApiJson)
    }
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send Content-Type: application/json")
}

/// `application/json`, or any `application/…+json`, parameters aside.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn body_rejection(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "request body too large")
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.body_text())
    }
}

/// Syntax first: bytes that are not JSON are `malformed_json` whatever they hold, even when a
/// member before the error is unknown (a shape error would otherwise be reported first).
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", e.to_string()))
}

/// Unknown paths: JSON under `/api/`, a page of the app elsewhere.
pub async fn not_found(State(app): State<Arc<App>>, request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
    } else {
        super::web::not_found_page(&app, request).await
    }
}
