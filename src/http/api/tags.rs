//! `/api/v1/tags`: the company's tags (for tickets and contacts). Supervisors' rights: tokens
//! with `write` create, change and delete them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::actions;
use crate::app::App;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};
use crate::store::tags::Tag;

use super::{decode_id_cursor, page_by_id, page_limit, ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/tags", get(list_tags).post(create_tag))
        .route("/tags/{id}", get(get_tag).patch(update_tag).delete(delete_tag))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_tags, create_tag, get_tag, update_tag, delete_tag),
    components(schemas(TagOut, TagPage, TagCreate, TagUpdate))
)]
pub struct TagsApi;

#[derive(Serialize, ToSchema)]
pub struct TagOut {
    pub id: i64,
    pub name: String,
    /// `#rrggbb`.
    pub colour: String,
}

impl From<Tag> for TagOut {
    fn from(t: Tag) -> Self {
        TagOut { id: t.id, name: t.name, colour: t.colour }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TagPage {
    pub data: Vec<TagOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagCreate {
    /// 1–120 characters, unique in the company.
    #[schema(min_length = 1, max_length = 120, pattern = "\\S")]
    pub name: String,
    /// `#rrggbb`; default `#64748b`.
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub colour: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagUpdate {
    #[schema(min_length = 1, max_length = 120, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub colour: Option<String>,
}

const DEFAULT_COLOUR: &str = "#64748b";

/// Lists tags by id.
#[utoipa::path(get, path = "/tags", tag = "tags", params(PageQuery),
    responses((status = 200, body = TagPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_tags(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<TagPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("tag", q.cursor.as_deref())?;
    let all = actions::contacts::list_tags(&app, &caller.actor(), caller.token.tenant_id).await?;
    let (rows, next_cursor) = page_by_id(all, |t| t.id, "tag", after, limit);
    Ok(Json(TagPage { data: rows.into_iter().map(TagOut::from).collect(), next_cursor }))
}

/// Creates a tag.
#[utoipa::path(post, path = "/tags", tag = "tags", request_body = TagCreate,
    responses((status = 201, body = TagOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "`tag_exists` (names are compared ignoring case and accents)", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_name`, `invalid_colour`, `invalid_body`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn create_tag(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<TagCreate>,
) -> Result<(StatusCode, Json<TagOut>), ApiError> {
    caller.require(Scope::Write)?;
    let colour = input.colour.as_deref().unwrap_or(DEFAULT_COLOUR);
    let tag = actions::contacts::create_tag(&app, &caller.actor(), caller.token.tenant_id, &input.name, colour).await?;
    Ok((StatusCode::CREATED, Json(tag.into())))
}

/// One tag.
#[utoipa::path(get, path = "/tags/{id}", tag = "tags", params(("id" = i64, Path)),
    responses((status = 200, body = TagOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_tag(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TagOut>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(actions::tags::get_tag(&app, &caller.actor(), caller.token.tenant_id, id).await?.into()))
}

/// Renames or recolours a tag (fields left out keep their value).
#[utoipa::path(patch, path = "/tags/{id}", tag = "tags", params(("id" = i64, Path)), request_body = TagUpdate,
    responses((status = 200, body = TagOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`tag_exists` (names are compared ignoring case and accents)", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_name`, `invalid_colour`, `invalid_body`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn update_tag(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TagUpdate>,
) -> Result<Json<TagOut>, ApiError> {
    caller.require(Scope::Write)?;
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    let current = actions::tags::get_tag(&app, &actor, tenant, id).await?;
    let name = input.name.unwrap_or(current.name);
    let colour = input.colour.unwrap_or(current.colour);
    Ok(Json(actions::tags::update_tag(&app, &actor, tenant, id, &name, &colour).await?.into()))
}

/// Deletes a tag and takes it off every ticket and contact.
#[utoipa::path(delete, path = "/tags/{id}", tag = "tags", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn delete_tag(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    actions::contacts::delete_tag(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
