//! `/instance/*` and `/webhook/*`: instance admin, connection and the webhook setting.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::{api_key, json_body, opt_bool, opt_events, opt_str, req_str};
use crate::error::ApiError;
use crate::state::{CreateParams, Shared};

type Res = Result<Response, ApiError>;

/// `POST /instance/create` (global key only).
pub(super) async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Res {
    if api_key(&headers) != Some(shared.cfg.api_key.as_str()) {
        return Err(ApiError::Unauthorized);
    }
    let v = json_body(&body)?;
    let name = req_str(&v, "instance", "instanceName")?.to_string();
    let integration = opt_str(&v, "instance", "integration")?.unwrap_or("WHATSAPP-BAILEYS");
    if integration != "WHATSAPP-BAILEYS" {
        // Evolution also has WHATSAPP-BUSINESS and EVOLUTION; this gateway is Baileys only.
        return Err(ApiError::bad("Invalid integration"));
    }
    let webhook = match v.get("webhook") {
        None | Some(Value::Null) => None,
        Some(w @ Value::Object(_)) => {
            let url = opt_str(w, "instance.webhook", "url")?.unwrap_or_default().to_string();
            let by_events = opt_bool(w, "instance.webhook", "byEvents")?.unwrap_or(false);
            let base64 = opt_bool(w, "instance.webhook", "base64")?.unwrap_or(false);
            Some((url, by_events, base64, opt_events(w, "instance.webhook")?))
        }
        Some(_) => return Err(ApiError::bad("instance.webhook is not of a type(s) object")),
    };
    let params = CreateParams {
        name,
        token: opt_str(&v, "instance", "token")?.map(str::to_string),
        qrcode: opt_bool(&v, "instance", "qrcode")?.unwrap_or(false),
        number: opt_str(&v, "instance", "number")?.map(str::to_string),
        integration: integration.to_string(),
        webhook,
    };
    Ok((StatusCode::CREATED, Json(shared.create(params)?)).into_response())
}

/// `GET /instance/connect/{instance}?number=…`.
pub(super) async fn connect(
    State(shared): State<Arc<Shared>>,
    Path(instance): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Res {
    shared.authorize(api_key(&headers), Some(&instance))?;
    Ok(Json(shared.connect(&instance, q.get("number").map(String::as_str))?).into_response())
}

/// `GET /instance/connectionState/{instance}`.
pub(super) async fn connection_state(
    State(shared): State<Arc<Shared>>,
    Path(instance): Path<String>,
    headers: HeaderMap,
) -> Res {
    shared.authorize(api_key(&headers), Some(&instance))?;
    Ok(Json(shared.connection_state(&instance)?).into_response())
}

/// `GET /instance/fetchInstances[?instanceName=…|instanceId=…]`: all instances with the global
/// key; with an instance token, only that instance (as Evolution does).
pub(super) async fn fetch_instances(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Res {
    let key = api_key(&headers).unwrap_or_default();
    let only = if key == shared.cfg.api_key {
        q.get("instanceName").cloned()
    } else {
        Some(shared.instance_by_token(key).ok_or(ApiError::Unauthorized)?)
    };
    let instances = shared.lock();
    let mut list: Vec<_> = instances
        .values()
        .filter(|i| only.as_ref().is_none_or(|n| *n == i.name))
        .filter(|i| q.get("instanceId").is_none_or(|id| *id == i.id))
        .collect();
    list.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
    let list: Vec<Value> = list.into_iter().map(|i| shared.instance_info(i)).collect();
    Ok(Json(list).into_response())
}

/// `DELETE /instance/logout/{instance}`.
pub(super) async fn logout(State(shared): State<Arc<Shared>>, Path(instance): Path<String>, headers: HeaderMap) -> Res {
    shared.authorize(api_key(&headers), Some(&instance))?;
    Ok(Json(shared.logout(&instance)?).into_response())
}

/// `DELETE /instance/delete/{instance}`.
pub(super) async fn delete(State(shared): State<Arc<Shared>>, Path(instance): Path<String>, headers: HeaderMap) -> Res {
    shared.authorize(api_key(&headers), Some(&instance))?;
    Ok(Json(shared.delete(&instance)?).into_response())
}

/// `POST /webhook/set/{instance}` with `{"webhook": {enabled, url, byEvents, base64, events}}`.
pub(super) async fn set_webhook(
    State(shared): State<Arc<Shared>>,
    Path(instance): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    shared.authorize(api_key(&headers), Some(&instance))?;
    let v = json_body(&body)?;
    let w = match v.get("webhook") {
        Some(w @ Value::Object(_)) => w,
        Some(_) => return Err(ApiError::bad("instance.webhook is not of a type(s) object")),
        None => return Err(ApiError::bad("instance requires property \"webhook\"")),
    };
    let path = "instance.webhook";
    let Some(enabled) = opt_bool(w, path, "enabled")? else {
        return Err(ApiError::bad("instance.webhook requires property \"enabled\""));
    };
    let url = req_str(w, path, "url")?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ApiError::bad("Invalid \"url\" property"));
    }
    let by_events = opt_bool(w, path, "byEvents")?.unwrap_or(false);
    let base64 = opt_bool(w, path, "base64")?.unwrap_or(false);
    let events = opt_events(w, path)?;
    let mut instances = shared.lock();
    let inst = instances.get_mut(&instance).ok_or_else(|| ApiError::NotFound(instance.clone()))?;
    inst.webhook.set(enabled, url.to_string(), by_events, base64, events);
    Ok((StatusCode::CREATED, Json(inst.webhook.to_json(&inst.id))).into_response())
}

/// `GET /webhook/find/{instance}`.
pub(super) async fn find_webhook(
    State(shared): State<Arc<Shared>>,
    Path(instance): Path<String>,
    headers: HeaderMap,
) -> Res {
    shared.authorize(api_key(&headers), Some(&instance))?;
    let instances = shared.lock();
    let inst = instances.get(&instance).ok_or_else(|| ApiError::NotFound(instance.clone()))?;
    Ok(Json(inst.webhook.to_json(&inst.id)).into_response())
}
