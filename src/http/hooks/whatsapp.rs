//! `GET/POST /hooks/whatsapp/{connection id}`: Meta's verification handshake and deliveries.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::actions::connections::for_webhook;
use crate::actions::receive::Ingest;
use crate::app::App;
use crate::channels::whatsapp_cloud::{inbound, signature_is_valid};
use crate::http::error::ApiError;

/// Meta calls this once when the webhook is configured: echo the challenge if the token matches.
pub async fn verify_webhook(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(Some((c, _))) = for_webhook(&app, id).await else { return StatusCode::NOT_FOUND.into_response() };
    let mode_ok = q.get("hub.mode").map(String::as_str) == Some("subscribe");
    let token_ok = q.get("hub.verify_token").is_some_and(|t| crate::crypto::constant_time_eq(t, &c.verify_token));
    match (mode_ok && token_ok, q.get("hub.challenge")) {
        (true, Some(challenge)) => challenge.clone().into_response(),
        _ => StatusCode::FORBIDDEN.into_response(),
    }
}

/// A delivery: signature first (nothing is read before it checks out), then parse, then store.
pub async fn receive_webhook(
    State(app): State<Arc<App>>,
    Extension(ingest): Extension<Ingest>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (connection, app_secret) = match for_webhook(&app, id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_connection", "no such connection")),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), connection.id = id, "loading a webhook connection failed");
            return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again"));
        }
    };
    let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if !signature_is_valid(app_secret.expose(), &body, signature) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "X-Hub-Signature-256 is missing or wrong",
        ));
    }
    let mut delivery =
        inbound::parse(&body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))?;
    // One Meta app may deliver changes of several numbers to each URL: keep this number's.
    let number = &connection.phone_number_id;
    delivery.messages.retain(|m| m.phone_number_id.is_empty() || &m.phone_number_id == number);
    delivery.statuses.retain(|s| s.phone_number_id.is_empty() || &s.phone_number_id == number);
    delivery.preferences.retain(|p| p.phone_number_id.is_empty() || &p.phone_number_id == number);
    let preferences = std::mem::take(&mut delivery.preferences);
    if !preferences.is_empty() {
        if let Err(e) = crate::actions::consent::apply_meta_preferences(&app, connection.tenant_id, &preferences).await
        {
            tracing::error!(error = %format!("{e:#}"), connection.id = id, "recording marketing preferences failed");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_stored",
                "the delivery was not stored; retry",
            ));
        }
    }
    match ingest.submit(connection.tenant_id, connection.id, delivery).await {
        Ok(summary) => Ok(axum::Json(summary).into_response()),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), connection.id = id, "storing a webhook delivery failed");
            // 5xx: Meta retries, and the unique message ids make the retry safe.
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_stored", "the delivery was not stored; retry"))
        }
    }
}
