//! `/api/v1/users`: the company's people, read only (no password hashes, no sessions).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::actions;
use crate::app::App;
use crate::domain::{Scope, UserId};
use crate::http::auth::ApiCaller;
use crate::http::error::ApiError;
use crate::store::users::User;

use super::tags::PageQuery;
use super::{decode_id_cursor, page_by_id, page_limit, timestamp, ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/users", get(list_users)).route("/users/{id}", get(get_user))
}

#[derive(OpenApi)]
#[openapi(paths(list_users, get_user), components(schemas(UserOut, UserPage)))]
pub struct UsersApi;

#[derive(Serialize, ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// `agent`, `supervisor`, `admin` or `platform_admin`.
    pub role: String,
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        UserOut {
            id: u.id.0,
            name: u.name,
            email: u.email,
            role: u.role.as_str().into(),
            active: u.active,
            created_at: timestamp(u.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub data: Vec<UserOut>,
    pub next_cursor: Option<String>,
}

/// Lists people by id.
#[utoipa::path(get, path = "/users", tag = "users", params(PageQuery),
    responses((status = 200, body = UserPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_users(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<UserPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("usr", q.cursor.as_deref())?;
    let all = actions::users::list_users(&app, &caller.actor(), caller.token.tenant_id).await?;
    let (rows, next_cursor) = page_by_id(all, |u| u.id.0, "usr", after, limit);
    Ok(Json(UserPage { data: rows.into_iter().map(UserOut::from).collect(), next_cursor }))
}

/// One person.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_user(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<UserOut>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(actions::users::get_user(&app, &caller.actor(), caller.token.tenant_id, UserId(id)).await?.into()))
}
