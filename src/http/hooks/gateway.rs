//! `POST /hooks/gateway/{connection id}`: an Evolution API gateway's events for one WhatsApp
//! (QR Code) connection. The body's `apikey` must be the instance's token (the gateway signs
//! nothing else); messages and acks are stored like every channel's, before the 2xx; session
//! events (a new QR, open, dropped, unlinked) update the connection.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::actions::qr_sessions;
use crate::actions::receive::Ingest;
use crate::app::App;
use crate::channels::whatsapp_qr::{events, token_is_valid};
use crate::http::error::ApiError;

pub async fn receive_webhook(
    State(app): State<Arc<App>>,
    Extension(ingest): Extension<Ingest>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (connection, token) = match qr_sessions::for_webhook(&app, id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_connection", "no such connection")),
        Err(e) => {
            tracing::error!(error = %e, connection.id = id, "loading a gateway connection failed");
            return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again"));
        }
    };
    let event =
        events::parse(&body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))?;
    if !token_is_valid(token.expose(), event.apikey.as_deref()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "the instance key is missing or wrong",
        ));
    }
    // Another instance's events (a gateway misconfigured to post everything here) are not ours.
    if !event.instance.is_empty() && event.instance != connection.phone_number_id {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_instance",
            "these events are of another instance",
        ));
    }
    if let Some(session) = event.session {
        if let Err(e) = qr_sessions::record(&app, &connection, session).await {
            tracing::error!(error = %format!("{e:#}"), connection.id = id, "recording a session event failed");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_stored",
                "the event was not stored; retry",
            ));
        }
    }
    if event.delivery.messages.is_empty() && event.delivery.statuses.is_empty() {
        return Ok(StatusCode::OK.into_response());
    }
    match ingest.submit(connection.tenant_id, connection.id, event.delivery).await {
        Ok(summary) => Ok(axum::Json(summary).into_response()),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), connection.id = id, "storing a gateway delivery failed");
            // 5xx: the gateway retries, and the unique message ids make the retry safe.
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_stored", "the delivery was not stored; retry"))
        }
    }
}
