//! `/api/v1/tickets/{id}/credentials`: a ticket's credential vault (docs/SECURITY.md (the vault)). Lists carry
//! metadata only; a secret leaves only through `POST …/{credential_id}/reveal`, audited with the
//! token and the client's address, and never remembered by `Idempotency-Key` (the answer says
//! `Cache-Control: no-store`). Tokens need the `write` scope for everything but the list; they
//! act as the company's admin would.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::actions;
use crate::app::App;
use crate::domain::vault::CredentialInput;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};
use crate::store::vault::CredentialMeta;

use super::{timestamp, timestamp_opt, ApiPath, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/tickets/{id}/credentials", get(list_credentials).post(create_credential))
        .route("/tickets/{id}/credentials/{credential_id}", delete(delete_credential))
        .route("/tickets/{id}/credentials/{credential_id}/reveal", post(reveal_credential))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_credentials, create_credential, reveal_credential, delete_credential),
    components(schemas(Credential, CredentialList, CredentialCreate, RevealedSecret))
)]
pub struct VaultApi;

/// A credential of a ticket, without its secret.
#[derive(Serialize, ToSchema)]
pub struct Credential {
    pub id: i64,
    pub ticket_id: i64,
    /// `painel`, `ssh`, `ftp`, `database` or `other`.
    pub kind: String,
    pub label: String,
    pub host: String,
    pub username: String,
    pub notes: String,
    /// `agent`, `customer_link` (the customer's one-time form) or `moved` (from a chat message).
    pub source: String,
    /// Who added it, as the audit log names them (`user:7`, `token:3`, `customer`).
    pub created_by: String,
    pub created_at: String,
    /// Set once destroyed (the ticket closed or it was deleted): the secret is gone.
    pub destroyed_at: Option<String>,
}

impl From<CredentialMeta> for Credential {
    fn from(c: CredentialMeta) -> Self {
        Credential {
            id: c.id,
            ticket_id: c.ticket_id,
            kind: c.kind,
            label: c.label,
            host: c.host,
            username: c.username,
            notes: c.notes,
            source: c.source,
            created_by: c.created_by,
            created_at: timestamp(c.created_at),
            destroyed_at: timestamp_opt(c.destroyed_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CredentialList {
    pub data: Vec<Credential>,
    /// Whether this token may reveal these secrets now (it needs the `write` scope).
    pub can_reveal: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialCreate {
    #[schema(pattern = "^(painel|ssh|ftp|database|other)$")]
    pub kind: String,
    /// Optional; empty when none was given.
    #[schema(max_length = 120, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub label: Option<String>,
    #[schema(max_length = 255, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub host: Option<String>,
    #[schema(max_length = 255, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub username: Option<String>,
    /// The password or key; sealed at once, never listed.
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S")]
    pub secret: String,
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RevealedSecret {
    pub id: i64,
    pub secret: String,
}

fn client_ip(app: &App, peer: SocketAddr, headers: &HeaderMap) -> String {
    let forwarded_for = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    crate::domain::netaddr::client_ip(peer.ip(), forwarded_for, &app.settings.trusted_proxies).to_string()
}

/// A ticket's credentials (metadata only; destroyed ones stay listed with `destroyed_at`).
#[utoipa::path(get, path = "/tickets/{id}/credentials", tag = "credentials", params(("id" = i64, Path)),
    responses((status = 200, body = CredentialList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_credentials(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CredentialList>, ApiError> {
    caller.require(Scope::Read)?;
    let view = actions::vault::list(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(Json(CredentialList {
        data: view.credentials.into_iter().map(Credential::from).collect(),
        can_reveal: view.can_reveal,
    }))
}

/// Adds a credential to an open ticket (the secret is sealed with the ticket's key).
#[utoipa::path(post, path = "/tickets/{id}/credentials", tag = "credentials", params(("id" = i64, Path)),
    request_body = CredentialCreate,
    responses((status = 201, body = Credential), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`ticket_closed`", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_credential_kind`, `invalid_credential_label`, `invalid_credential_host`, \
            `invalid_credential_username`, `invalid_credential_secret`, `invalid_credential_notes`, `invalid_body`",
            body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn create_credential(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CredentialCreate>,
) -> Result<(StatusCode, Json<Credential>), ApiError> {
    caller.require(Scope::Write)?;
    let input = CredentialInput {
        kind: input.kind,
        label: input.label.unwrap_or_default(),
        host: input.host.unwrap_or_default(),
        username: input.username.unwrap_or_default(),
        secret: input.secret,
        notes: input.notes.unwrap_or_default(),
    };
    let created = actions::vault::add(&app, &caller.actor(), caller.token.tenant_id, id, &input).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Reveals one secret (audited: the token, the time and the client's address; refusals too).
#[utoipa::path(post, path = "/tickets/{id}/credentials/{credential_id}/reveal", tag = "credentials",
    params(("id" = i64, Path), ("credential_id" = i64, Path)),
    responses((status = 200, body = RevealedSecret), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`credential_destroyed`", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn reveal_credential(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiPath((id, credential_id)): ApiPath<(i64, i64)>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let ip = client_ip(&app, peer, &headers);
    let secret = actions::vault::reveal(&app, &caller.actor(), caller.token.tenant_id, id, credential_id, &ip).await?;
    let mut response = Json(RevealedSecret { id: credential_id, secret: secret.expose().to_string() }).into_response();
    // No cache keeps it, and the idempotency layer does not remember it (guard.rs).
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Destroys one credential now (same rights as revealing it).
#[utoipa::path(delete, path = "/tickets/{id}/credentials/{credential_id}", tag = "credentials",
    params(("id" = i64, Path), ("credential_id" = i64, Path)),
    responses((status = 204, description = "Destroyed"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`credential_destroyed`", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn delete_credential(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiPath((id, credential_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    let ip = client_ip(&app, peer, &headers);
    actions::vault::delete(&app, &caller.actor(), caller.token.tenant_id, id, credential_id, &ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
