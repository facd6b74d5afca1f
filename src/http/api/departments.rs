//! `/api/v1/departments`: the company's departments (queues). Tokens with `write` manage them
//! as an admin would.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::actions::{self, departments::DepartmentInput};
use crate::app::App;
use crate::domain::inbox::DistributionMode;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};
use crate::store::departments::Department;

use super::tags::PageQuery;
use super::{decode_id_cursor, page_by_id, page_limit, timestamp, ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/departments", get(list_departments).post(create_department))
        .route("/departments/{id}", get(get_department).patch(update_department).delete(delete_department))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_departments, create_department, get_department, update_department, delete_department),
    components(schemas(DepartmentOut, DepartmentPage, DepartmentCreate, DepartmentUpdate))
)]
pub struct DepartmentsApi;

#[derive(Serialize, ToSchema)]
pub struct DepartmentOut {
    pub id: i64,
    pub name: String,
    /// `#rrggbb`.
    pub colour: String,
    /// Sent to customers when a ticket enters the department.
    pub greeting: String,
    /// Agents' names go in front of their messages.
    pub sign_messages: bool,
    /// `off`, `round_robin` or `least_busy`.
    pub distribution_mode: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<Department> for DepartmentOut {
    fn from(d: Department) -> Self {
        DepartmentOut {
            id: d.id,
            name: d.name,
            colour: d.colour,
            greeting: d.greeting,
            sign_messages: d.sign_messages,
            distribution_mode: d.distribution_mode.as_str().into(),
            created_at: timestamp(d.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DepartmentPage {
    pub data: Vec<DepartmentOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentCreate {
    /// 1–120 characters, unique in the company.
    #[schema(min_length = 1, max_length = 120, pattern = "\\S")]
    pub name: String,
    /// `#rrggbb`; default `#2563eb`.
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub colour: Option<String>,
    #[schema(max_length = 4096)]
    pub greeting: Option<String>,
    pub sign_messages: Option<bool>,
    /// `off` (default), `round_robin` or `least_busy`.
    #[schema(pattern = "^(off|round_robin|least_busy)$")]
    pub distribution_mode: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentUpdate {
    #[schema(min_length = 1, max_length = 120, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub colour: Option<String>,
    #[schema(max_length = 4096)]
    pub greeting: Option<String>,
    pub sign_messages: Option<bool>,
    #[schema(pattern = "^(off|round_robin|least_busy)$")]
    pub distribution_mode: Option<String>,
}

fn mode(s: Option<&str>, current: DistributionMode) -> Result<DistributionMode, ApiError> {
    match s {
        None => Ok(current),
        Some(s) => DistributionMode::parse(s).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_distribution_mode",
                "distribution_mode must be off, round_robin or least_busy",
            )
        }),
    }
}

/// Lists departments by id.
#[utoipa::path(get, path = "/departments", tag = "departments", params(PageQuery),
    responses((status = 200, body = DepartmentPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_departments(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<DepartmentPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("dep", q.cursor.as_deref())?;
    let all = actions::departments::list_departments(&app, &caller.actor(), caller.token.tenant_id).await?;
    let (rows, next_cursor) = page_by_id(all, |d| d.id, "dep", after, limit);
    Ok(Json(DepartmentPage { data: rows.into_iter().map(DepartmentOut::from).collect(), next_cursor }))
}

/// Creates a department.
#[utoipa::path(post, path = "/departments", tag = "departments", request_body = DepartmentCreate,
    responses((status = 201, body = DepartmentOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "`name_taken`", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_name`, `invalid_colour`, `invalid_greeting`, `invalid_distribution_mode`",
            body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn create_department(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<DepartmentCreate>,
) -> Result<(StatusCode, Json<DepartmentOut>), ApiError> {
    caller.require(Scope::Write)?;
    let fields = DepartmentInput {
        name: input.name,
        colour: input.colour.unwrap_or_else(|| "#2563eb".into()),
        greeting: input.greeting.unwrap_or_default(),
        sign_messages: input.sign_messages.unwrap_or(false),
        distribution_mode: mode(input.distribution_mode.as_deref(), DistributionMode::Off)?,
    };
    let d = actions::departments::create_department(&app, &caller.actor(), caller.token.tenant_id, fields).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

/// One department.
#[utoipa::path(get, path = "/departments/{id}", tag = "departments", params(("id" = i64, Path)),
    responses((status = 200, body = DepartmentOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_department(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DepartmentOut>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(actions::departments::get_department(&app, &caller.actor(), caller.token.tenant_id, id).await?.into()))
}

/// Changes a department (fields left out keep their value).
#[utoipa::path(patch, path = "/departments/{id}", tag = "departments", params(("id" = i64, Path)),
    request_body = DepartmentUpdate,
    responses((status = 200, body = DepartmentOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`name_taken`", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_name`, `invalid_colour`, `invalid_greeting`, `invalid_distribution_mode`",
            body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn update_department(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DepartmentUpdate>,
) -> Result<Json<DepartmentOut>, ApiError> {
    caller.require(Scope::Write)?;
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    let current = actions::departments::get_department(&app, &actor, tenant, id).await?;
    let fields = DepartmentInput {
        name: input.name.unwrap_or(current.name),
        colour: input.colour.unwrap_or(current.colour),
        greeting: input.greeting.unwrap_or(current.greeting),
        sign_messages: input.sign_messages.unwrap_or(current.sign_messages),
        distribution_mode: mode(input.distribution_mode.as_deref(), current.distribution_mode)?,
    };
    Ok(Json(actions::departments::update_department(&app, &actor, tenant, id, fields).await?.into()))
}

/// Deletes a department; its tickets keep their history and lose the department.
#[utoipa::path(delete, path = "/departments/{id}", tag = "departments", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn delete_department(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    actions::departments::delete_department(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
