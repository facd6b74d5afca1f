//! `/api/v1/connections`: the company's WhatsApp numbers with their state and health; switch one
//! off or on, remove one (its history stays). Access tokens, app secrets and verify tokens never
//! leave the server.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::actions;
use crate::app::App;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::ApiError;
use crate::store::connections::Connection;

use super::tags::PageQuery;
use super::{decode_id_cursor, page_by_id, page_limit, timestamp, timestamp_opt, ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/connections", get(list_connections))
        .route("/connections/{id}", get(get_connection).delete(remove_connection))
        .route("/connections/{id}/deactivate", post(deactivate_connection))
        .route("/connections/{id}/activate", post(activate_connection))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_connections, get_connection, deactivate_connection, activate_connection, remove_connection),
    components(schemas(ConnectionOut, ConnectionPage))
)]
pub struct ConnectionsApi;

#[derive(Serialize, ToSchema)]
pub struct ConnectionOut {
    pub id: i64,
    /// `whatsapp_cloud`.
    pub kind: String,
    pub name: String,
    /// Meta's phone number id.
    pub phone_number_id: String,
    /// Meta's WhatsApp Business Account id.
    pub waba_id: String,
    pub active: bool,
    /// The access token expired or was revoked: an admin must reconnect before sending.
    pub needs_reauth: bool,
    /// `ok`, `inactive`, `needs_reauth` or `error` (the last send failed and none worked since).
    pub health: String,
    /// `connecting`, `qr`, `connected`, `disconnected` or `failed`.
    pub state: String,
    /// When the state last changed.
    #[schema(format = DateTime)]
    pub state_changed_at: String,
    #[schema(format = DateTime)]
    pub last_webhook_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_send_at: Option<String>,
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub last_error_at: Option<String>,
    /// Department new tickets of this number wait in.
    pub default_department_id: Option<i64>,
    /// Messages per second this number may send.
    pub rate_per_sec: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<Connection> for ConnectionOut {
    fn from(c: Connection) -> Self {
        let failing = match (c.last_error_at, c.last_send_at) {
            (Some(err), Some(sent)) => err > sent,
            (Some(_), None) => true,
            _ => false,
        };
        let health = if !c.active {
            "inactive"
        } else if c.needs_reauth {
            "needs_reauth"
        } else if failing {
            "error"
        } else {
            "ok"
        };
        ConnectionOut {
            id: c.id,
            kind: c.kind,
            name: c.name,
            phone_number_id: c.phone_number_id,
            waba_id: c.waba_id,
            active: c.active,
            needs_reauth: c.needs_reauth,
            health: health.into(),
            state: c.state.as_str().into(),
            state_changed_at: timestamp(c.state_changed_at),
            last_webhook_at: timestamp_opt(c.last_webhook_at),
            last_send_at: timestamp_opt(c.last_send_at),
            last_error: c.last_error,
            last_error_at: timestamp_opt(c.last_error_at),
            default_department_id: c.default_department_id,
            rate_per_sec: c.rate_per_sec,
            created_at: timestamp(c.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConnectionPage {
    pub data: Vec<ConnectionOut>,
    pub next_cursor: Option<String>,
}

/// Lists connections by id.
#[utoipa::path(get, path = "/connections", tag = "connections", params(PageQuery),
    responses((status = 200, body = ConnectionPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_connections(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ConnectionPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("con", q.cursor.as_deref())?;
    let all = actions::connections::list_connections(&app, &caller.actor(), caller.token.tenant_id).await?;
    let (rows, next_cursor) = page_by_id(all, |c| c.id, "con", after, limit);
    Ok(Json(ConnectionPage { data: rows.into_iter().map(ConnectionOut::from).collect(), next_cursor }))
}

/// One connection with its status.
#[utoipa::path(get, path = "/connections/{id}", tag = "connections", params(("id" = i64, Path)),
    responses((status = 200, body = ConnectionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_connection(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ConnectionOut>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(actions::connections::get_connection(&app, &caller.actor(), caller.token.tenant_id, id).await?.into()))
}

/// Switches a connection off: nothing is received or sent through it until it is activated again.
#[utoipa::path(post, path = "/connections/{id}/deactivate", tag = "connections", params(("id" = i64, Path)),
    responses((status = 200, body = ConnectionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn deactivate_connection(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ConnectionOut>, ApiError> {
    caller.require(Scope::Write)?;
    let c = actions::connections::set_active(&app, &caller.actor(), caller.token.tenant_id, id, false).await?;
    Ok(Json(c.into()))
}

/// Switches a connection on again.
#[utoipa::path(post, path = "/connections/{id}/activate", tag = "connections", params(("id" = i64, Path)),
    responses((status = 200, body = ConnectionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn activate_connection(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ConnectionOut>, ApiError> {
    caller.require(Scope::Write)?;
    let c = actions::connections::set_active(&app, &caller.actor(), caller.token.tenant_id, id, true).await?;
    Ok(Json(c.into()))
}

/// Removes a connection: it leaves the lists and stops working; its tickets and messages stay,
/// and connecting the same number again brings them back.
#[utoipa::path(delete, path = "/connections/{id}", tag = "connections", params(("id" = i64, Path)),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn remove_connection(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    actions::connections::remove(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
