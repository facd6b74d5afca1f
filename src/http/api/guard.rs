//! What every `/api/v1` request goes through before its handler: the per-token rate limit
//! (429 `rate_limited` with `Retry-After`), a refusal of NUL characters (no database stores
//! them), and `Idempotency-Key` on POSTs (see `actions::idempotency`).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::actions::idempotency::{self, Begin};
use crate::actions::{self, ActionError};
use crate::app::App;
use crate::http::error::ApiError;
use crate::store::tokens::ApiToken;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Set on a response replayed from an earlier request with the same key.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

pub async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let secret = bearer(request.headers()).map(str::to_string);
    if let Some(secret) = &secret {
        // Keyed by the secret's hash: no database look-up before refusing a flood.
        let key = crate::crypto::sha256_hex(secret);
        if let Err(wait) = app.api_limiter.take(&key, app.clock.now_ms()) {
            let mut e =
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests for this token");
            e.retry_after = Some(wait);
            return e.into_response();
        }
    }
    if request.uri().query().is_some_and(|q| q.contains("%00") || q.contains('\0')) {
        return nul_refused();
    }
    let has_body = matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH);
    if !has_body {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, app.settings.max_body_bytes).await {
        Ok(b) => b,
        Err(e) if crate::http::server::is_body_timeout(&e) => {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request body did not arrive in time",
            )
            .into_response()
        }
        Err(_) => {
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "request body too large")
                .into_response()
        }
    };
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if is_json && (bytes.contains(&0) || contains(&bytes, b"\\u0000")) {
        return nul_refused();
    }
    let key = parts.headers.get(IDEMPOTENCY_HEADER).map(|v| v.to_str().map(str::to_string));
    let request = Request::from_parts(parts, Body::from(bytes.clone()));
    match (key, secret, request.method() == Method::POST) {
        (Some(Ok(key)), Some(secret), true) => idempotent(&app, request, next, &secret, key.trim(), &bytes).await,
        (Some(Err(_)), _, true) => ApiError::from(ActionError::invalid(
            "invalid_idempotency_key",
            "an Idempotency-Key has 1 to 255 visible ASCII characters",
        ))
        .into_response(),
        _ => next.run(request).await,
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    Some(value.strip_prefix("Bearer ")?.trim()).filter(|s| !s.is_empty())
}

fn nul_refused() -> Response {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", "text may not contain NUL characters")
        .into_response()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The request's fingerprint: method, path and query, content type and body.
fn fingerprint(request: &Request, body: &[u8]) -> String {
    // The full path (`/api/v1/…`): inside `nest` the URI has lost its prefix.
    let uri = request.extensions().get::<OriginalUri>().map(|o| &o.0).unwrap_or(request.uri());
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    let content_type = request.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes()).unwrap_or(b"");
    fingerprint_of(request.method().as_str(), path, content_type, body)
}

/// [`fingerprint`] from its parts (public for tests that stage a request in flight).
pub fn fingerprint_of(method: &str, path_and_query: &str, content_type: &[u8], body: &[u8]) -> String {
    let mut input = Vec::with_capacity(body.len() + 128);
    input.extend_from_slice(method.as_bytes());
    input.push(b' ');
    input.extend_from_slice(path_and_query.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(content_type);
    input.push(b'\n');
    input.extend_from_slice(body);
    crate::crypto::sha256_bytes_hex(&input)
}

async fn idempotent(app: &App, request: Request, next: Next, secret: &str, key: &str, body: &Bytes) -> Response {
    // Only a valid token has keys; anything else goes on to be refused by the handler.
    let token: ApiToken = match actions::auth::bearer_token(app, secret).await {
        Ok(t) => t,
        Err(_) => return next.run(request).await,
    };
    let hash = fingerprint(&request, body);
    let claimed_at = match idempotency::begin(app, &token, key, &hash).await {
        Ok(Begin::Run { claimed_at }) => claimed_at,
        Ok(Begin::Replay { status, content_type, body }) => return replay(status, &content_type, body),
        Ok(Begin::InProgress) => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still running; retry later",
            )
            .into_response()
        }
        Ok(Begin::Reused) => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
            .into_response()
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            let _ = idempotency::release(app, &token, key, claimed_at).await;
            return ApiError::from(ActionError::Internal(anyhow::anyhow!("reading a response: {e}"))).into_response();
        }
    };
    // Our failures (5xx) are not remembered: a retry with the same key runs again. Nor is an
    // answer marked `no-store` (a revealed secret): it must not be kept, nor replayed unaudited.
    let no_store = parts.headers.get(header::CACHE_CONTROL).is_some_and(|v| v.as_bytes() == b"no-store");
    let outcome = if parts.status.is_server_error() || no_store {
        idempotency::release(app, &token, key, claimed_at).await
    } else {
        let content_type =
            parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
        let text = String::from_utf8_lossy(&bytes);
        idempotency::complete(app, &token, key, parts.status.as_u16(), content_type, &text).await
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "recording an idempotency key failed");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(status: u16, content_type: &str, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}
