//! `/api/v1` LGPD and retention: one contact's data as a ZIP (`GET /contacts/{id}/export`),
//! its erasure (`POST /contacts/{id}/erase`), the company's whole export (`GET
//! /company/export`, streamed) and the conversation retention setting (`GET`/`PUT
//! /settings/retention`). Tokens act as admins of their company; reading needs `read`,
//! changing needs `write`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::actions::lgpd::{self, Chunks, ZipJob};
use crate::app::App;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};

use super::{timestamp, ApiPath, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/contacts/{id}/export", get(export_contact))
        .route("/contacts/{id}/erase", post(erase_contact))
        .route("/company/export", get(export_company))
        .route("/settings/retention", get(get_retention).put(put_retention))
}

#[derive(OpenApi)]
#[openapi(
    paths(export_contact, erase_contact, export_company, get_retention, put_retention),
    components(schemas(EraseOut, RetentionOut, RetentionIn))
)]
pub struct LgpdApi;

/// A streamed ZIP answer (shared with the web pages).
pub fn zip_response(job: ZipJob, app: Arc<App>) -> Response {
    let filename = job.filename.clone();
    let chunks: Chunks = job.spawn(app);
    let stream = futures_util::stream::unfold(chunks, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Everything about one contact as a ZIP of JSON files and its media files; audited.
#[utoipa::path(get, path = "/contacts/{id}/export", tag = "lgpd", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/zip", body = Vec<u8>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn export_contact(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let job = lgpd::export_contact(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(zip_response(job, app))
}

#[derive(Serialize, ToSchema)]
pub struct EraseOut {
    pub contact_id: i64,
    /// Messages whose text, payload and file were removed.
    pub messages: u64,
    /// Tickets kept (with the anonymous contact) for the statistics.
    pub tickets: u64,
    pub identities: u64,
    /// Media files deleted (those no other message named).
    pub files_deleted: u64,
}

/// Erases a contact's personal data (LGPD): an anonymous stub keeps its tickets; audited
/// without personal data. `contact_already_erased` (409) when done before.
#[utoipa::path(post, path = "/contacts/{id}/erase", tag = "lgpd", params(("id" = i64, Path)),
    responses((status = 200, body = EraseOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn erase_contact(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EraseOut>, ApiError> {
    caller.require(Scope::Write)?;
    let r = lgpd::erase_contact(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(Json(EraseOut {
        contact_id: r.contact_id,
        messages: r.messages,
        tickets: r.tickets,
        identities: r.identities,
        files_deleted: r.files_deleted,
    }))
}

/// The company's whole export (for leaving the platform): every table's rows of the company as
/// JSON lines under `tables/`, and the media files under `media/`; streamed; audited.
#[utoipa::path(get, path = "/company/export", tag = "lgpd",
    responses((status = 200, content_type = "application/zip", body = Vec<u8>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn export_company(caller: ApiCaller, State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let job = lgpd::company_export(&app, &caller.actor(), caller.token.tenant_id).await?;
    Ok(zip_response(job, app))
}

#[derive(Serialize, ToSchema)]
pub struct RetentionOut {
    /// Conversations are kept this many months (1 to 120).
    pub months: i64,
    /// The last retention pass over the company (RFC 3339), if any.
    pub last_run_at: Option<String>,
    /// The last pass that removed something.
    pub last_purge_at: Option<String>,
    pub last_purge_messages: i64,
    pub last_purge_files: i64,
    /// Messages purged since the setting exists.
    pub total_messages: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct RetentionIn {
    pub months: i64,
}

fn retention_out(r: crate::store::lgpd::retention::Retention) -> RetentionOut {
    RetentionOut {
        months: r.months,
        last_run_at: r.last_run_at.map(timestamp),
        last_purge_at: r.last_purge_at.map(timestamp),
        last_purge_messages: r.last_purge_messages,
        last_purge_files: r.last_purge_files,
        total_messages: r.total_messages,
    }
}

/// The conversation retention setting and what the last purge did.
#[utoipa::path(get, path = "/settings/retention", tag = "lgpd",
    responses((status = 200, body = RetentionOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn get_retention(caller: ApiCaller, State(app): State<Arc<App>>) -> Result<Json<RetentionOut>, ApiError> {
    caller.require(Scope::Read)?;
    let r = lgpd::retention::get(&app, &caller.actor(), caller.token.tenant_id).await?;
    Ok(Json(retention_out(r)))
}

/// Sets how many months conversations are kept (`invalid_retention_months` outside 1–120).
#[utoipa::path(put, path = "/settings/retention", tag = "lgpd", request_body = RetentionIn,
    responses((status = 200, body = RetentionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn put_retention(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<RetentionIn>,
) -> Result<Json<RetentionOut>, ApiError> {
    caller.require(Scope::Write)?;
    let r = lgpd::retention::set_months(&app, &caller.actor(), caller.token.tenant_id, body.months).await?;
    Ok(Json(retention_out(r)))
}
