//! The REST API under `/api/v1`: bearer-token auth, JSON in and out, one error envelope, cursor
//! pagination, `Idempotency-Key` and per-token rate limits (`guard`), and the OpenAPI 3.1
//! document generated from the handlers' annotations (`ApiDoc`), served with a docs page.
//!
//! Each area lives in its own file with `routes()` and an `…Api` document; this file merges them.

pub mod audit;
pub mod campaigns;
pub mod connections;
pub mod contacts;
pub mod departments;
pub mod docs;
pub mod guard;
pub mod lgpd;
pub mod messages;
pub mod quick_replies;
pub mod reports;
pub mod schedules;
pub mod sla;
pub mod status_page;
pub mod tags;
pub mod tasks;
pub mod templates;
pub mod tickets;
pub mod users;
pub mod vault;
pub mod webhooks;

use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::actions;
use crate::app::App;
use crate::domain::Scope;

use super::auth::ApiCaller;
use super::error::ApiError;

/// The API's routes, relative to `/api/v1`, without the guard (see [`router`]).
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/me", get(get_me))
        .route("/events", get(crate::http::sse::api_events))
        .route("/openapi.json", get(openapi_json))
        .merge(tickets::routes())
        .merge(messages::routes())
        .merge(departments::routes())
        .merge(tags::routes())
        .merge(quick_replies::routes())
        .merge(schedules::routes())
        .merge(sla::routes())
        .merge(campaigns::routes())
        .merge(users::routes())
        .merge(connections::routes())
        .merge(contacts::routes())
        .merge(webhooks::routes())
        .merge(templates::routes())
        .merge(reports::routes())
        .merge(status_page::routes())
        .merge(vault::routes())
        .merge(audit::routes())
        .merge(tasks::routes())
        .merge(lgpd::routes())
}

/// `/api/v1` as served: the routes behind the rate limit, the input guard and idempotency.
pub fn router(app: Arc<App>) -> Router<Arc<App>> {
    routes().layer(middleware::from_fn_with_state(app, guard::guard))
}

/// The whole API's OpenAPI document: the root and every area merged in.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
        .merge_from(tickets::TicketsApi::openapi())
        .merge_from(messages::MessagesApi::openapi())
        .merge_from(departments::DepartmentsApi::openapi())
        .merge_from(tags::TagsApi::openapi())
        .merge_from(quick_replies::QuickRepliesApi::openapi())
        .merge_from(users::UsersApi::openapi())
        .merge_from(connections::ConnectionsApi::openapi())
        .merge_from(contacts::ContactsApi::openapi())
        .merge_from(webhooks::WebhooksApi::openapi())
        .merge_from(templates::TemplatesApi::openapi())
        .merge_from(reports::ReportsApi::openapi())
        .merge_from(schedules::SchedulesApi::openapi())
        .merge_from(tasks::TasksApi::openapi())
        .merge_from(sla::SlaApi::openapi())
        .merge_from(campaigns::CampaignsApi::openapi())
        .merge_from(status_page::StatusPageApi::openapi())
        .merge_from(vault::VaultApi::openapi())
        .merge_from(audit::AuditApi::openapi())
        .merge_from(lgpd::LgpdApi::openapi())
}

/// The root document: info, servers, the bearer scheme, tags, shared schemas and `/me`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Atende REST API",
        version = "1",
        description = "Tickets, messages, contacts and settings of one company. Authenticate with \
            `Authorization: Bearer <token>`; tokens carry the scopes read, write and send. Lists are \
            paginated with `limit` and an opaque `cursor`; POSTs accept an `Idempotency-Key`; each token \
            is rate limited (429 with `Retry-After`). Errors are `{\"error\":{\"code\",\"message\"}}`.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/api/v1", description = "This server")),
    paths(get_me, openapi_json, events_doc),
    components(schemas(ErrorBody, ErrorDetail, Me)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "account", description = "The calling token"),
        (name = "tickets", description = "Conversations: list, filter, assign, transfer, close, reopen, tag"),
        (name = "messages", description = "A ticket's messages, and sending text, media and templates"),
        (name = "departments", description = "Departments (queues)"),
        (name = "tags", description = "Tags for tickets and contacts"),
        (name = "quick_replies", description = "Canned answers agents type as /shortcut"),
        (name = "users", description = "People of the company (read only)"),
        (name = "connections", description = "WhatsApp numbers and their health (read only, no secrets)"),
        (name = "contacts", description = "Contacts: CRUD, search, bulk upsert, merge, CSV export, consent"),
        (name = "webhooks", description = "Outgoing webhook subscriptions, their deliveries and replays"),
        (name = "templates", description = "WhatsApp message templates: sync, status, parameter mapping"),
        (name = "reports", description = "Dashboard figures, agent report, ticket CSV export and transcripts"),
        (name = "schedules", description = "Scheduled messages: once or repeating, pause, resume, cancel"),
        (name = "campaigns", description = "Campaigns: drafts, start, pause, resume, cancel, progress and recipients"),
        (name = "credentials", description = "A ticket's credential vault: metadata lists, audited reveals, destroyed on close"),
        (name = "audit", description = "The company's audit log with filters"),
        (name = "tasks", description = "Tasks: assignee, due time in the company's zone, status, reminders, comments"),
        (name = "lgpd", description = "LGPD: a contact's export and erasure, the company's export, conversation retention"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the operations refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("atd_…")
            .description(Some("An API token created under Tokens de API or with `atende admin token create`"))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// This API's OpenAPI 3.1 document (no token needed).
#[utoipa::path(get, path = "/openapi.json", tag = "account", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
async fn openapi_json() -> axum::response::Response {
    use axum::response::IntoResponse;
    match openapi().to_json() {
        Ok(json) => ([(axum::http::header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => ApiError::from(actions::ActionError::Internal(e.into())).into_response(),
    }
}

// The handler of the SSE stream lives in `http::sse`; this function only carries its docs.
/// Live events of the company (Server-Sent Events).
#[utoipa::path(get, path = "/events", tag = "account",
    description = "Live events of the token's company as Server-Sent Events; resume with `Last-Event-ID`.",
    responses(
        (status = 200, description = "An endless `text/event-stream`", content_type = "text/event-stream", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[allow(dead_code)]
async fn events_doc() {}

/// The calling token: its tenant and scopes.
#[utoipa::path(get, path = "/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn get_me(caller: ApiCaller, State(app): State<Arc<App>>) -> Result<Json<Me>, ApiError> {
    caller.require(Scope::Read)?;
    let tenant = actions::tenants::own_tenant(&app, &caller.actor()).await?;
    Ok(Json(Me {
        tenant: MeTenant { id: tenant.id.0, slug: tenant.slug, name: tenant.name },
        token: MeToken { id: caller.token.id.0, name: caller.token.name.clone(), prefix: caller.token.prefix.clone() },
        scopes: caller.token.scopes.iter().map(|s| s.as_str().to_string()).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub tenant: MeTenant,
    pub token: MeToken,
    /// `read`, `write`, `send`.
    pub scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MeTenant {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct MeToken {
    pub id: i64,
    pub name: String,
    /// The first 12 characters of the secret, as the UI lists it.
    pub prefix: String,
}

// ---------------------------------------------------------------- shared pieces of every area

/// The error envelope.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code such as `not_found` or `insufficient_scope`.
    pub code: String,
    /// A human explanation; may change between versions.
    pub message: String,
}

/// `axum::extract::Path` answering bad segments in the error envelope (400 `invalid_path`).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(path_rejection(e)),
        }
    }
}

fn path_rejection(e: PathRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", e.body_text())
}

/// `axum::extract::Query` answering bad parameters in the error envelope (400 `invalid_query`).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text())
}

/// Page size of lists: `limit` (default 50, 1–200).
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_limit", "limit must be 1 to 200")),
    }
}

/// Cursors are opaque to clients: base64url of a position (`<kind>:<fields>`) of the last row.
pub fn encode_cursor(kind: &str, position: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{position}"))
}

/// The position inside a cursor of this kind; 400 `invalid_cursor` for anything else.
pub fn decode_cursor(kind: &str, cursor: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let invalid = || ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "cursor is not one this list returned");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let position = text.strip_prefix(kind).and_then(|r| r.strip_prefix(':')).ok_or_else(invalid)?;
    Ok(Some(position.to_string()))
}

/// An id cursor (lists ordered by id).
pub fn decode_id_cursor(kind: &str, cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    match decode_cursor(kind, cursor)? {
        None => Ok(None),
        Some(p) => p.parse().map(Some).map_err(|_| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "cursor is not one this list returned")
        }),
    }
}

/// One page of a short list held in memory (departments, tags…): rows after the cursor's id,
/// in id order, and the cursor of the next page.
pub fn page_by_id<T>(
    mut rows: Vec<T>,
    id: impl Fn(&T) -> i64,
    kind: &str,
    after: Option<i64>,
    limit: i64,
) -> (Vec<T>, Option<String>) {
    rows.sort_by_key(|r| id(r));
    let mut rows: Vec<T> = rows.into_iter().filter(|r| after.is_none_or(|a| id(r) > a)).collect();
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(|r| encode_cursor(kind, &id(r).to_string())) } else { None };
    (rows, next)
}

/// Unix milliseconds as an RFC 3339 UTC timestamp (`2026-11-23T14:05:09.120Z`).
pub fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

pub fn timestamp_opt(ms: Option<i64>) -> Option<String> {
    ms.map(timestamp)
}

/// An RFC 3339 timestamp from a query as Unix milliseconds; 400 `invalid_timestamp` otherwise.
pub fn parse_timestamp(field: &str, s: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(s.trim()).map(|t| t.timestamp_millis()).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_timestamp",
            format!("{field} must be an RFC 3339 timestamp such as 2026-11-23T14:05:09Z"),
        )
    })
}

/// `204 No Content`.
pub fn no_content() -> StatusCode {
    StatusCode::NO_CONTENT
}
