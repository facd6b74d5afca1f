//! The Graph API endpoints: messages, message templates, and the shared auth/error/fault helpers.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::{SendTo, Shared};
use crate::{ids, media, templates};

/// How long a request hangs with [`crate::Faults::timeout_every`].
pub(crate) const HANG: Duration = Duration::from_secs(30);

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{version}/{node}/messages", post(messages))
        .route("/{version}/{node}/media", post(media::upload).layer(DefaultBodyLimit::max(110 * 1024 * 1024)))
        .route("/{version}/{node}/message_templates", get(list_templates))
        .route("/{version}/{node}", get(media::get_node).delete(media::delete))
        .route("/media-download/{token}", get(media::download))
        .with_state(shared)
}

/// A Graph error: HTTP status and Meta's error body.
pub(crate) struct GraphError(StatusCode, Value);

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// Meta's error body: `{"error":{"message","type","code","error_subcode"?,"error_data"?,"fbtrace_id"}}`.
pub(crate) fn graph_error(
    status: StatusCode,
    code: u32,
    subcode: Option<u32>,
    message: &str,
    details: Option<&str>,
) -> GraphError {
    let mut e = json!({ "message": message, "type": "OAuthException", "code": code, "fbtrace_id": ids::alnum(27) });
    if let Some(s) = subcode {
        e["error_subcode"] = json!(s);
    }
    if let Some(d) = details {
        e["error_data"] = json!({ "messaging_product": "whatsapp", "details": d });
    }
    if status.is_server_error() {
        e["is_transient"] = json!(true);
    }
    GraphError(status, json!({ "error": e }))
}

/// `(#100) ...` invalid-parameter error (400, code 100).
pub(crate) fn invalid(message: &str) -> GraphError {
    graph_error(StatusCode::BAD_REQUEST, 100, None, &format!("(#100) {message}"), None)
}

/// Graph's answer for an id that is not there (400, code 100, subcode 33).
pub(crate) fn no_such_object(method: &str, id: &str) -> GraphError {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        Some(33),
        &format!(
            "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing \
             permissions, or does not support this operation. Please read the Graph API documentation at \
             https://developers.facebook.com/docs/graph-api"
        ),
        None,
    )
}

/// The bearer token from `Authorization`, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Checks the bearer token: missing → 401 code 104, wrong → 401 code 190.
pub(crate) fn check_auth(shared: &Shared, headers: &HeaderMap) -> Result<(), GraphError> {
    match bearer(headers) {
        None => Err(graph_error(
            StatusCode::UNAUTHORIZED,
            104,
            None,
            "An access token is required to request this resource.",
            None,
        )),
        Some(t) if subtle_eq(t.as_bytes(), shared.cfg.access_token.as_bytes()) => Ok(()),
        Some(_) => Err(graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
            None,
        )),
    }
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Counts the request and applies the every-Nth faults (500, or a 30 s hang).
pub(crate) async fn fault_gate(shared: &Shared) -> Result<(), GraphError> {
    let n = shared.graph_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let faults = shared.faults();
    if let Some(every) = faults.http_5xx_every.filter(|e| *e > 0) {
        if n % u64::from(every) == 0 {
            let k = shared.faults_served.fetch_add(1, Ordering::SeqCst);
            return Err(if k % 2 == 0 {
                graph_error(StatusCode::INTERNAL_SERVER_ERROR, 2, None, "Service temporarily unavailable", None)
            } else {
                graph_error(StatusCode::INTERNAL_SERVER_ERROR, 1, None, "An unknown error occurred", None)
            });
        }
    }
    if let Some(every) = faults.timeout_every.filter(|e| *e > 0) {
        if n % u64::from(every) == 0 && !shared.sleep_or_shutdown(HANG).await {
            return Err(graph_error(StatusCode::SERVICE_UNAVAILABLE, 2, None, "Service temporarily unavailable", None));
        }
    }
    Ok(())
}

const MEDIA_KINDS: [&str; 5] = ["image", "audio", "video", "document", "sticker"];

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Validates the type-specific object of a send; returns the pricing category.
fn validate(shared: &Shared, kind: &str, body: &Value) -> Result<String, GraphError> {
    let service = Ok("service".to_string());
    let obj = match body.get(kind) {
        Some(o) if o.is_object() || (kind == "contacts" && o.is_array()) => o,
        _ => return Err(invalid(&format!("The parameter {kind} is required."))),
    };
    match kind {
        "text" => {
            let Some(text) = str_at(obj, "body") else {
                return Err(invalid("The parameter text['body'] is required."));
            };
            if text.chars().count() > 4096 {
                return Err(invalid("Param text['body'] must be at most 4096 characters long."));
            }
            service
        }
        k if MEDIA_KINDS.contains(&k) => {
            match (str_at(obj, "id"), str_at(obj, "link")) {
                (Some(id), None) => {
                    if !shared.store().media.contains_key(id) {
                        return Err(graph_error(
                            StatusCode::BAD_REQUEST,
                            131009,
                            None,
                            "(#131009) Parameter value is not valid",
                            Some(&format!("Invalid media id: {id}")),
                        ));
                    }
                }
                (None, Some(link)) => {
                    if !(link.starts_with("https://") || link.starts_with("http://")) {
                        return Err(invalid(&format!("Param {k}['link'] is not a valid URI.")));
                    }
                }
                (Some(_), Some(_)) => {
                    return Err(invalid(&format!("Param {k} must have either id or link, not both.")))
                }
                (None, None) => return Err(invalid(&format!("Param {k} must have either id or link."))),
            }
            service
        }
        "template" => {
            let Some(name) = str_at(obj, "name") else {
                return Err(invalid("The parameter template['name'] is required."));
            };
            let Some(code) = obj.get("language").and_then(|l| str_at(l, "code")) else {
                return Err(invalid("The parameter template['language']['code'] is required."));
            };
            let current = templates::current(&shared.store().template_status);
            let Some(t) =
                current.into_iter().find(|t| t["name"] == name && t["language"] == code && t["status"] == "APPROVED")
            else {
                return Err(graph_error(
                    StatusCode::NOT_FOUND,
                    132001,
                    None,
                    "(#132001) Template name does not exist in the translation",
                    Some(&format!("template name ({name}) does not exist in {code}")),
                ));
            };
            let expected = templates::body_variables(&t);
            let given = obj
                .get("components")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("body"))))
                .and_then(|c| c["parameters"].as_array())
                .map_or(0, Vec::len);
            if expected != given {
                return Err(graph_error(
                    StatusCode::BAD_REQUEST,
                    132000,
                    None,
                    "(#132000) Number of parameters does not match the expected number of params",
                    Some(&format!("body: number of localizable_params ({given}) does not match the expected number of params ({expected})")),
                ));
            }
            Ok(t["category"].as_str().unwrap_or("UTILITY").to_lowercase())
        }
        "interactive" => {
            let itype = str_at(obj, "type").unwrap_or("");
            let action = obj.get("action").filter(|a| a.is_object());
            match itype {
                "button" | "list" => {
                    if obj.get("body").and_then(|b| str_at(b, "text")).is_none() {
                        return Err(invalid("The parameter interactive['body']['text'] is required."));
                    }
                    let Some(action) = action else {
                        return Err(invalid("The parameter interactive['action'] is required."));
                    };
                    if itype == "button" {
                        let buttons = action.get("buttons").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
                        if buttons.is_empty() || buttons.len() > 3 {
                            return Err(graph_error(
                                StatusCode::BAD_REQUEST,
                                131009,
                                None,
                                "(#131009) Parameter value is not valid",
                                Some("Buttons count is invalid. Min allowed buttons: 1, Max allowed buttons: 3"),
                            ));
                        }
                        for b in buttons {
                            let title = b.get("reply").and_then(|r| str_at(r, "title"));
                            if b.get("reply").and_then(|r| str_at(r, "id")).is_none() || title.is_none() {
                                return Err(invalid("Each button needs reply['id'] and reply['title']."));
                            }
                            if title.is_some_and(|t| t.chars().count() > 20) {
                                return Err(graph_error(
                                    StatusCode::BAD_REQUEST,
                                    131009,
                                    None,
                                    "(#131009) Parameter value is not valid",
                                    Some("Button title length invalid. Min length: 1, Max length: 20"),
                                ));
                            }
                        }
                    } else {
                        let sections = action.get("sections").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
                        let rows: usize =
                            sections.iter().map(|s| s.get("rows").and_then(Value::as_array).map_or(0, Vec::len)).sum();
                        if str_at(action, "button").is_none() || sections.is_empty() || rows == 0 || rows > 10 {
                            return Err(graph_error(
                                StatusCode::BAD_REQUEST,
                                131009,
                                None,
                                "(#131009) Parameter value is not valid",
                                Some("A list needs action['button'] and 1 to 10 rows in its sections"),
                            ));
                        }
                    }
                }
                "cta_url" | "flow" | "product" | "product_list" | "location_request_message" | "address_message" => {
                    if action.is_none() {
                        return Err(invalid("The parameter interactive['action'] is required."));
                    }
                }
                "" => return Err(invalid("The parameter interactive['type'] is required.")),
                other => return Err(invalid(&format!("Param interactive['type'] is invalid: \"{other}\"."))),
            }
            service
        }
        "reaction" => {
            if str_at(obj, "message_id").is_none() || obj.get("emoji").and_then(Value::as_str).is_none() {
                return Err(invalid("The parameters reaction['message_id'] and reaction['emoji'] are required."));
            }
            service
        }
        "location" => {
            let num = |k: &str| {
                obj.get(k).and_then(|v| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse::<f64>().ok())))
            };
            match (num("latitude"), num("longitude")) {
                (Some(la), Some(lo)) if (-90.0..=90.0).contains(&la) && (-180.0..=180.0).contains(&lo) => service,
                _ => Err(invalid("The parameters location['latitude'] and location['longitude'] are required.")),
            }
        }
        "contacts" => {
            let cards = obj.as_array().map_or(&[][..], Vec::as_slice);
            if cards.is_empty()
                || cards.iter().any(|c| c.get("name").and_then(|n| str_at(n, "formatted_name")).is_none())
            {
                return Err(invalid("Each contact needs name['formatted_name']."));
            }
            service
        }
        other => Err(invalid(&format!(
            "Param type must be one of {{AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, \
             TEMPLATE, TEXT, VIDEO}} - got \"{other}\"."
        ))),
    }
}

/// `POST /{version}/{phone_number_id}/messages`: send a message, or mark one as read.
async fn messages(
    State(shared): State<Arc<Shared>>,
    Path((_version, node)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = check_auth(&shared, &headers) {
        return r.into_response();
    }
    if let Err(r) = fault_gate(&shared).await {
        return r.into_response();
    }
    if node != shared.cfg.phone_number_id {
        return no_such_object("post", &node).into_response();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return invalid("Invalid parameter").into_response();
    };
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return invalid("The parameter messaging_product is required.").into_response();
    }
    if body.get("status").is_some() {
        if body["status"] != "read" {
            return invalid("Param status must be one of {READ}.").into_response();
        }
        let Some(id) = str_at(&body, "message_id") else {
            return invalid("The parameter message_id is required.").into_response();
        };
        if !id.starts_with("wamid.") {
            return invalid("Invalid parameter").into_response();
        }
        shared.mark_inbound_read(id);
        return Json(json!({ "success": true })).into_response();
    }
    // `to` (a number) wins over `recipient` (a business-scoped user id) when both are given.
    let (input, to) = match (str_at(&body, "to"), str_at(&body, "recipient")) {
        (Some(input), _) => {
            let to = ids::digits(input);
            if to.len() < 7 || to.len() > 15 || input.chars().any(|c| c.is_alphabetic()) {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    131009,
                    None,
                    "(#131009) Parameter value is not valid",
                    Some("Invalid phone number: 'to' must be an E.164 phone number"),
                )
                .into_response();
            }
            (input.to_string(), SendTo::Phone(to))
        }
        (None, Some(recipient)) => {
            if !ids::is_user_id(recipient) {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    131009,
                    None,
                    "(#131009) Parameter value is not valid",
                    Some("Invalid recipient: 'recipient' must be a business-scoped user ID"),
                )
                .into_response();
            }
            (recipient.to_string(), SendTo::UserId(recipient.to_string()))
        }
        (None, None) => return invalid("The parameter to is required.").into_response(),
    };
    if let Some(data) = body.get("biz_opaque_callback_data") {
        if data.as_str().is_none_or(|d| d.chars().count() > 512) {
            return invalid("Param biz_opaque_callback_data must be a string of at most 512 characters.")
                .into_response();
        }
    }
    if let Some(rt) = body.get("recipient_type") {
        if rt != "individual" {
            return invalid("Param recipient_type must be one of {INDIVIDUAL}.").into_response();
        }
    }
    if let Some(ctx) = body.get("context") {
        if str_at(ctx, "message_id").is_none() {
            return invalid("The parameter context['message_id'] is required.").into_response();
        }
    }
    let kind = body.get("type").and_then(Value::as_str).unwrap_or("text").to_string();
    if !shared.take_rate_slot() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            130429,
            None,
            "(#130429) Rate limit hit",
            Some("Cloud API message throughput has been reached."),
        )
        .into_response();
    }
    let category = match validate(&shared, &kind, &body) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    if category == "marketing" {
        if let SendTo::Phone(digits) = &to {
            if shared.store().marketing_stopped.contains(digits) {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    131050,
                    None,
                    "(#131050) Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business",
                    Some("The user has stopped marketing messages from this business."),
                )
                .into_response();
            }
        }
    }
    let wamid = shared.accept_send(&to, &kind, body, &category);
    // Meta answers with `wa_id` for a send to a number and `user_id` for one to a user id.
    let contact = match &to {
        SendTo::Phone(digits) => json!({ "input": input, "wa_id": digits }),
        SendTo::UserId(user_id) => json!({ "input": input, "user_id": user_id }),
    };
    let mut message = json!({ "id": wamid });
    if kind == "template" {
        message["message_status"] = json!("accepted");
    }
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [contact],
        "messages": [message],
    }))
    .into_response()
}

/// `GET /{version}/{waba_id}/message_templates` with optional `name`, `status`, `language`,
/// `category` filters and `limit`/`after` paging.
async fn list_templates(
    State(shared): State<Arc<Shared>>,
    Path((version, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_auth(&shared, &headers) {
        return r.into_response();
    }
    if let Err(r) = fault_gate(&shared).await {
        return r.into_response();
    }
    if node != shared.cfg.waba_id {
        return no_such_object("get", &node).into_response();
    }
    let matches = |t: &Value, field: &str, key: &str| {
        q.get(key).is_none_or(|want| t[field].as_str().is_some_and(|v| v.eq_ignore_ascii_case(want)))
    };
    let all: Vec<Value> = templates::current(&shared.store().template_status)
        .into_iter()
        .filter(|t| {
            q.get("name").is_none_or(|n| t["name"].as_str().is_some_and(|v| v.contains(n.as_str())))
                && matches(t, "status", "status")
                && matches(t, "language", "language")
                && matches(t, "category", "category")
        })
        .collect();
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0).unwrap_or(25);
    let start = q
        .get("after")
        .and_then(|a| String::from_utf8(hex::decode(a).ok()?).ok())
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let end = start + page.len();
    let mut paging = json!({ "cursors": {
        "before": hex::encode(start.to_string()),
        "after": hex::encode(end.saturating_sub(1).max(start).to_string()),
    }});
    if end < all.len() {
        paging["cursors"]["after"] = json!(hex::encode(end.to_string()));
        paging["next"] = json!(format!(
            "{}/{}/{}/message_templates?limit={limit}&after={}",
            shared.base_url,
            version,
            node,
            hex::encode(end.to_string())
        ));
    }
    Json(json!({ "data": page, "paging": paging })).into_response()
}
