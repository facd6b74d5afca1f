//! `/api/v1/webhooks`: outgoing webhook subscriptions, their deliveries, and replays.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::actions::webhooks::{self as hooks, rfc3339, SubscriptionInput, SubscriptionPatch};
use crate::app::App;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};

use super::ErrorBody;
use crate::store::webhooks::{Attempt, Delivery, Subscription};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route("/webhooks/{id}", get(get_webhook).patch(update_webhook).delete(delete_webhook))
        .route("/webhooks/{id}/deliveries", get(list_deliveries))
        .route("/webhooks/{id}/test", post(test_webhook))
        .route("/webhook-deliveries/{id}", get(get_delivery))
        .route("/webhook-deliveries/{id}/replay", post(replay_delivery))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_webhooks,
        create_webhook,
        get_webhook,
        update_webhook,
        delete_webhook,
        list_deliveries,
        test_webhook,
        get_delivery,
        replay_delivery
    ),
    components(schemas(
        WebhookOut,
        WebhookCreated,
        WebhookPage,
        WebhookCreate,
        WebhookUpdate,
        DeliveryOut,
        DeliveryPage,
        DeliveryDetailOut,
        AttemptOut
    ))
)]
pub struct WebhooksApi;

/// A webhook subscription (the secret is only in the answer that creates it).
#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    id: i64,
    url: String,
    description: String,
    /// Subset of `message.created`, `message.status`, `ticket.created`, `ticket.updated`,
    /// `ticket.closed`, `ticket.reminder`, `contact.created`, `contact.updated`, `connection.updated`,
    /// `report.alert`.
    events: Vec<String>,
    active: bool,
    created_at: String,
    updated_at: String,
}

impl From<Subscription> for WebhookOut {
    fn from(s: Subscription) -> Self {
        WebhookOut {
            id: s.id,
            url: s.url,
            description: s.description,
            events: s.events,
            active: s.active,
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

/// A new subscription with its signing secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    webhook: WebhookOut,
    /// Key of `X-Atende-Signature` (HMAC-SHA256). Admins can read it again in the web UI.
    secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookPage {
    data: Vec<WebhookOut>,
    next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreate {
    /// http or https; private, loopback and link-local destinations are refused unless the
    /// tenant allows private networks (`webhook_url_forbidden`).
    url: String,
    events: Vec<String>,
    #[serde(default)]
    description: String,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdate {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
    active: Option<bool>,
}

/// One event sent (or being sent) to one subscription.
#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    id: i64,
    webhook_id: i64,
    event: String,
    /// `pending`, `retrying`, `delivered`, `dead` (gave up after 24 h) or `cancelled`
    /// (subscription paused or deleted).
    state: String,
    attempts: i64,
    last_status_code: Option<i64>,
    last_latency_ms: Option<i64>,
    last_error: Option<String>,
    last_attempt_at: Option<String>,
    next_attempt_at: Option<String>,
    delivered_at: Option<String>,
    replays: i64,
    created_at: String,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        let waiting = matches!(d.state.as_str(), "pending" | "retrying");
        DeliveryOut {
            id: d.id,
            webhook_id: d.subscription_id,
            event: d.event,
            state: d.state,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_latency_ms: d.last_latency_ms,
            last_error: d.last_error,
            last_attempt_at: d.last_attempt_at.map(rfc3339),
            next_attempt_at: d.next_attempt_at.filter(|_| waiting).map(rfc3339),
            delivered_at: d.delivered_at.map(rfc3339),
            replays: d.replays,
            created_at: rfc3339(d.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    data: Vec<DeliveryOut>,
    next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AttemptOut {
    attempt: i64,
    started_at: String,
    /// `delivered` or `failed`.
    outcome: String,
    status_code: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
    /// The first bytes of the response body.
    response_excerpt: Option<String>,
}

impl From<Attempt> for AttemptOut {
    fn from(a: Attempt) -> Self {
        AttemptOut {
            attempt: a.attempt,
            started_at: rfc3339(a.started_at),
            outcome: a.outcome,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error,
            response_excerpt: a.response_excerpt,
        }
    }
}

/// A delivery with its body and every attempt.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDetailOut {
    #[serde(flatten)]
    delivery: DeliveryOut,
    /// The JSON body sent (the same on every attempt).
    body: serde_json::Value,
    attempts: Vec<AttemptOut>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct PageParams {
    /// 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn bad_request(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "not found"))
}

fn page_limit(q: &HashMap<String, String>) -> Result<i64, ApiError> {
    match q.get("limit") {
        None => Ok(50),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| bad_request("invalid_limit", "limit is 1 to 200")),
    }
}

fn encode_cursor(kind: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

fn decode_cursor(kind: &str, q: &HashMap<String, String>) -> Result<Option<i64>, ApiError> {
    let Some(c) = q.get("cursor").filter(|c| !c.is_empty()) else { return Ok(None) };
    let invalid = || bad_request("invalid_cursor", "the cursor is not one this endpoint returned");
    let text = URL_SAFE_NO_PAD.decode(c).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    let id = text.strip_prefix(kind).and_then(|r| r.strip_prefix(':')).and_then(|n| n.parse::<i64>().ok());
    id.map(Some).ok_or_else(invalid)
}

/// Lists the tenant's webhook subscriptions by id.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", params(PageParams),
    responses((status = 200, body = WebhookPage), (status = 400, description = "`invalid_limit`, `invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_webhooks(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<WebhookPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(&q)?;
    let after = decode_cursor("wh", &q)?.unwrap_or(0);
    let mut rows = hooks::list_subscriptions(&app, &caller.actor(), caller.token.tenant_id, after, limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|s| encode_cursor("wh", s.id))
    } else {
        None
    };
    Ok(Json(WebhookPage { data: rows.into_iter().map(Into::into).collect(), next_cursor }))
}

/// Creates a subscription; the answer carries its signing secret (shown once).
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = WebhookCreate,
    responses((status = 201, body = WebhookCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_url`, `webhook_url_forbidden`, `invalid_events`, `invalid_description`, `invalid_body`",
            body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 409, description = "`idempotency_in_progress`", body = ErrorBody)))]
async fn create_webhook(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<WebhookCreate>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    let input =
        SubscriptionInput { url: body.url, description: body.description, events: body.events, active: body.active };
    let (s, secret) = hooks::create_subscription(&app, &caller.actor(), caller.token.tenant_id, input).await?;
    Ok((StatusCode::CREATED, Json(WebhookCreated { webhook: s.into(), secret })).into_response())
}

/// One subscription.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 200, body = WebhookOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_webhook(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path_id(&id)?;
    Ok(Json(hooks::get_subscription(&app, &caller.actor(), caller.token.tenant_id, id).await?.into()))
}

/// Changes a subscription's URL, events, description or active flag (absent fields stay).
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)), request_body = WebhookUpdate,
    responses((status = 200, body = WebhookOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_url`, `webhook_url_forbidden`, `invalid_events`, `invalid_description`, `invalid_body`",
            body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 409, description = "`idempotency_in_progress`", body = ErrorBody)))]
async fn update_webhook(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WebhookUpdate>,
) -> Result<Json<WebhookOut>, ApiError> {
    caller.require(Scope::Write)?;
    let id = path_id(&id)?;
    let patch =
        SubscriptionPatch { url: body.url, events: body.events, description: body.description, active: body.active };
    Ok(Json(hooks::update_subscription(&app, &caller.actor(), caller.token.tenant_id, id, patch).await?.into()))
}

/// Deletes a subscription; its pending deliveries stop.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody), (status = 409, description = "`idempotency_in_progress`", body = ErrorBody)))]
async fn delete_webhook(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    let id = path_id(&id)?;
    hooks::delete_subscription(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deliveries of a subscription, newest first.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = DeliveryPage), (status = 400, description = "`invalid_limit`, `invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_deliveries(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<DeliveryPage>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path_id(&id)?;
    let limit = page_limit(&q)?;
    let before = decode_cursor("whd", &q)?.unwrap_or(i64::MAX);
    let mut rows = hooks::list_deliveries(&app, &caller.actor(), caller.token.tenant_id, id, before, limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|d| encode_cursor("whd", d.id))
    } else {
        None
    };
    Ok(Json(DeliveryPage { data: rows.into_iter().map(Into::into).collect(), next_cursor }))
}

/// Queues a `webhook.test` delivery to the subscription.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 202, body = DeliveryOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody), (status = 409, description = "`idempotency_in_progress`", body = ErrorBody)))]
async fn test_webhook(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    let id = path_id(&id)?;
    let d = hooks::send_test(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryOut::from(d))).into_response())
}

/// One delivery with its body and attempts.
#[utoipa::path(get, path = "/webhook-deliveries/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 200, body = DeliveryDetailOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_delivery(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetailOut>, ApiError> {
    caller.require(Scope::Read)?;
    let id = path_id(&id)?;
    let detail = hooks::get_delivery(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    let body = serde_json::from_str(&detail.delivery.body).unwrap_or(serde_json::Value::Null);
    Ok(Json(DeliveryDetailOut {
        delivery: detail.delivery.into(),
        body,
        attempts: detail.attempts.into_iter().map(Into::into).collect(),
    }))
}

/// Sends a failed (`dead`, `retrying` or `cancelled`) delivery again now, with a new 24-hour
/// retry window; the receiver sees the same delivery id and body.
#[utoipa::path(post, path = "/webhook-deliveries/{id}/replay", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 202, body = DeliveryOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "`delivery_not_replayable`", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replay_delivery(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    let id = path_id(&id)?;
    let d = hooks::replay_delivery(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryOut::from(d))).into_response())
}
