//! Evolution's HTTP API: the router, the `apikey` check and request-body helpers. The
//! handlers live in `instance` (admin and webhook setting) and `message` (sends and media).

mod instance;
mod message;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/instance/create", post(instance::create))
        .route("/instance/connect/{instance}", get(instance::connect))
        .route("/instance/connectionState/{instance}", get(instance::connection_state))
        .route("/instance/fetchInstances", get(instance::fetch_instances))
        .route("/instance/logout/{instance}", delete(instance::logout))
        .route("/instance/delete/{instance}", delete(instance::delete))
        .route("/webhook/set/{instance}", post(instance::set_webhook))
        .route("/webhook/find/{instance}", get(instance::find_webhook))
        .route("/message/sendText/{instance}", post(message::send_text))
        .route("/message/sendMedia/{instance}", post(message::send_media))
        .route("/message/sendWhatsAppAudio/{instance}", post(message::send_audio))
        .route("/chat/getBase64FromMediaMessage/{instance}", post(message::get_base64))
        .with_state(shared)
}

/// The `apikey` header.
fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers.get("apikey").and_then(|v| v.to_str().ok())
}

/// The JSON object of a request body (Evolution answers 400 for anything else).
fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ApiError::bad("instance is not of a type(s) object")),
        Err(e) => Err(ApiError::bad(format!("Invalid JSON body: {e}"))),
    }
}

/// An optional string property; present with another type is a 400 in the JSON-schema
/// validator's words.
fn opt_str<'a>(v: &'a Value, path: &str, key: &str) -> Result<Option<&'a str>, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad(format!("{path}.{key} is not of a type(s) string"))),
    }
}

/// A required, non-empty string property.
fn req_str<'a>(v: &'a Value, path: &str, key: &str) -> Result<&'a str, ApiError> {
    match opt_str(v, path, key)? {
        None => Err(ApiError::bad(format!("{path} requires property \"{key}\""))),
        Some("") => Err(ApiError::bad(format!("{path}.{key} does not meet minimum length of 1"))),
        Some(s) => Ok(s),
    }
}

/// An optional boolean property.
fn opt_bool(v: &Value, path: &str, key: &str) -> Result<Option<bool>, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad(format!("{path}.{key} is not of a type(s) boolean"))),
    }
}

/// An optional array of strings (webhook events).
fn opt_events(v: &Value, path: &str) -> Result<Vec<String>, ApiError> {
    match v.get("events") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|e| {
                let name =
                    e.as_str().ok_or_else(|| ApiError::bad(format!("{path}.events is not of a type(s) string")))?;
                let upper = name.replace(['.', '-'], "_").to_uppercase();
                if crate::webhook::ALL_EVENTS.contains(&upper.as_str()) {
                    Ok(upper)
                } else {
                    Err(ApiError::bad(format!("{path}.events is not one of enum values: {name}")))
                }
            })
            .collect(),
        Some(_) => Err(ApiError::bad(format!("{path}.events is not of a type(s) array"))),
    }
}
