//! `/api/v1/quick-replies`: canned answers (`/shortcut`), company-wide or per department.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::actions::{self, quick_replies::QuickReplyInput};
use crate::app::App;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};
use crate::store::quick_replies::QuickReply;

use super::tags::PageQuery;
use super::{decode_id_cursor, page_by_id, page_limit, ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/quick-replies", get(list_quick_replies).post(create_quick_reply))
        .route("/quick-replies/{id}", get(get_quick_reply).patch(update_quick_reply).delete(delete_quick_reply))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_quick_replies, create_quick_reply, get_quick_reply, update_quick_reply, delete_quick_reply),
    components(schemas(QuickReplyOut, QuickReplyPage, QuickReplyCreate, QuickReplyUpdate))
)]
pub struct QuickRepliesApi;

#[derive(Serialize, ToSchema)]
pub struct QuickReplyOut {
    pub id: i64,
    /// Company-wide when `null`.
    pub department_id: Option<i64>,
    /// Typed after `/` (a-z, 0-9, `-`, `_`).
    pub shortcut: String,
    /// The text; `{{nome}}`, `{{protocolo}}` and `{{atendente}}` are filled when used.
    pub body: String,
}

impl From<QuickReply> for QuickReplyOut {
    fn from(q: QuickReply) -> Self {
        QuickReplyOut { id: q.id, department_id: q.department_id, shortcut: q.shortcut, body: q.body }
    }
}

#[derive(Serialize, ToSchema)]
pub struct QuickReplyPage {
    pub data: Vec<QuickReplyOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickReplyCreate {
    /// 1–30 of a-z, 0-9, `-` and `_` (a leading `/` is dropped).
    #[schema(pattern = "^/?[a-zA-Z0-9_-]{1,30}$")]
    pub shortcut: String,
    /// 1–4096 characters.
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S")]
    pub body: String,
    /// Company-wide when absent.
    pub department_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickReplyUpdate {
    #[schema(pattern = "^/?[a-zA-Z0-9_-]{1,30}$")]
    pub shortcut: Option<String>,
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S")]
    pub body: Option<String>,
    /// A department id, or `null` to make it company-wide; absent keeps it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub department_id: Option<Option<i64>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(super) fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// Lists quick replies by id.
#[utoipa::path(get, path = "/quick-replies", tag = "quick_replies", params(PageQuery),
    responses((status = 200, body = QuickReplyPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_quick_replies(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<QuickReplyPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("qr", q.cursor.as_deref())?;
    let all = actions::quick_replies::list_quick_replies(&app, &caller.actor(), caller.token.tenant_id).await?;
    let (rows, next_cursor) = page_by_id(all, |q| q.id, "qr", after, limit);
    Ok(Json(QuickReplyPage { data: rows.into_iter().map(QuickReplyOut::from).collect(), next_cursor }))
}

/// Creates a quick reply.
#[utoipa::path(post, path = "/quick-replies", tag = "quick_replies", request_body = QuickReplyCreate,
    responses((status = 201, body = QuickReplyOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "`shortcut_taken`", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_shortcut`, `invalid_body`, `unknown_department`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn create_quick_reply(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<QuickReplyCreate>,
) -> Result<(StatusCode, Json<QuickReplyOut>), ApiError> {
    caller.require(Scope::Write)?;
    let fields = QuickReplyInput { department_id: input.department_id, shortcut: input.shortcut, body: input.body };
    let q = actions::quick_replies::create_quick_reply(&app, &caller.actor(), caller.token.tenant_id, fields).await?;
    Ok((StatusCode::CREATED, Json(q.into())))
}

/// One quick reply.
#[utoipa::path(get, path = "/quick-replies/{id}", tag = "quick_replies", params(("id" = i64, Path)),
    responses((status = 200, body = QuickReplyOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_quick_reply(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<QuickReplyOut>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(actions::quick_replies::get_quick_reply(&app, &caller.actor(), caller.token.tenant_id, id).await?.into()))
}

/// Changes a quick reply (fields left out keep their value).
#[utoipa::path(patch, path = "/quick-replies/{id}", tag = "quick_replies", params(("id" = i64, Path)),
    request_body = QuickReplyUpdate,
    responses((status = 200, body = QuickReplyOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`shortcut_taken`", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_shortcut`, `invalid_body`, `unknown_department`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn update_quick_reply(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<QuickReplyUpdate>,
) -> Result<Json<QuickReplyOut>, ApiError> {
    caller.require(Scope::Write)?;
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    let current = actions::quick_replies::get_quick_reply(&app, &actor, tenant, id).await?;
    let fields = QuickReplyInput {
        department_id: input.department_id.unwrap_or(current.department_id),
        shortcut: input.shortcut.unwrap_or(current.shortcut),
        body: input.body.unwrap_or(current.body),
    };
    Ok(Json(actions::quick_replies::update_quick_reply(&app, &actor, tenant, id, fields).await?.into()))
}

/// Deletes a quick reply.
#[utoipa::path(delete, path = "/quick-replies/{id}", tag = "quick_replies", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn delete_quick_reply(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    actions::quick_replies::delete_quick_reply(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
