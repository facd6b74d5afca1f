//! `/api/v1/tasks`: the company's tasks ("Tarefas") — list with filters, create, read, change
//! (fields and status), delete — and their comments. Due times are typed in the company's time
//! zone (`due`, "2026-12-24T09:30") and answered both ways (`due_local` and `due_at`, UTC).
//! Tokens see every task of their company; writing needs `write`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::actions::tasks::{self, Comment, Task, TaskInput, TaskQuery};
use crate::app::App;
use crate::domain::tasks::{format_due, is_overdue};
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};

use super::tags::PageQuery;
use super::{decode_id_cursor, encode_cursor, page_limit, parse_timestamp, timestamp, ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/tasks", get(list_tasks).post(create_task))
        .route("/tasks/{id}", get(get_task).patch(update_task).delete(delete_task))
        .route("/tasks/{id}/comments", get(list_comments).post(create_comment))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_tasks, create_task, get_task, update_task, delete_task, list_comments, create_comment),
    components(schemas(TaskOut, TaskPage, TaskCreate, TaskUpdate, CommentOut, CommentPage, CommentCreate))
)]
pub struct TasksApi;

const ERRORS_422: &str = "`invalid_body`, `invalid_title`, `invalid_task_description`, `invalid_due`, \
    `invalid_remind_before`, `invalid_task_status`, `unknown_assignee`, `unknown_ticket`, `unknown_contact`";

#[derive(Serialize, ToSchema)]
pub struct TaskOut {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// `todo`, `doing` or `done`.
    pub status: String,
    /// The due date and time in the company's time zone, "2026-12-24T09:30".
    pub due_local: String,
    /// The due instant (RFC 3339, UTC).
    pub due_at: String,
    /// Minutes before the due time of the early reminder (0: only at the due time).
    pub remind_before_minutes: i64,
    /// Not done and past its due time.
    pub overdue: bool,
    pub assignee_id: i64,
    pub assignee_name: Option<String>,
    /// The person who created it; `null` when a token did.
    pub creator_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub completed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn task_out(t: Task, tz: chrono_tz::Tz, now: i64) -> TaskOut {
    TaskOut {
        id: t.id,
        overdue: is_overdue(&t.status, t.due_at, now),
        due_local: format_due(tz, t.due_at),
        due_at: timestamp(t.due_at),
        title: t.title,
        description: t.description,
        status: t.status,
        remind_before_minutes: t.remind_before_minutes,
        assignee_id: t.assignee_id,
        assignee_name: t.assignee_name,
        creator_id: t.creator_id,
        ticket_id: t.ticket_id,
        contact_id: t.contact_id,
        completed_at: t.completed_at.map(timestamp),
        created_at: timestamp(t.created_at),
        updated_at: timestamp(t.updated_at),
    }
}

async fn out(app: &App, caller: &ApiCaller, t: Task) -> Result<TaskOut, ApiError> {
    let tz = tasks::zone(app.db.reader(), caller.token.tenant_id).await?;
    Ok(task_out(t, tz, app.clock.now_ms()))
}

#[derive(Serialize, ToSchema)]
pub struct TaskPage {
    pub data: Vec<TaskOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskListQuery {
    /// Only this person's tasks.
    pub assignee_id: Option<i64>,
    /// `todo`, `doing`, `done`, or `open` (todo and doing).
    pub status: Option<String>,
    /// Only tasks due before this instant (RFC 3339).
    pub due_before: Option<String>,
    pub ticket_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskCreate {
    /// 1–200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Up to 5000 characters.
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: String,
    /// Due date and time in the company's time zone: "2026-12-24T09:30" (years 2000–2100).
    pub due: String,
    /// 0–10080 (default 0: only at the due time).
    #[schema(minimum = 0, maximum = 10080)]
    pub remind_before_minutes: Option<i64>,
    /// An active person of the company (required for tokens).
    pub assignee_id: Option<i64>,
    /// A ticket of the company; its contact is linked too unless `contact_id` is given.
    pub ticket_id: Option<i64>,
    pub contact_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdate {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: Option<String>,
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// "2026-12-24T09:30" in the company's time zone; a new due time reminds again.
    pub due: Option<String>,
    #[schema(minimum = 0, maximum = 10080)]
    pub remind_before_minutes: Option<i64>,
    pub assignee_id: Option<i64>,
    /// `0` unlinks the ticket.
    pub ticket_id: Option<i64>,
    /// `0` unlinks the contact.
    pub contact_id: Option<i64>,
    /// `todo`, `doing` or `done` (becoming done sends the `task.completed` webhook).
    pub status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CommentOut {
    pub id: i64,
    pub task_id: i64,
    /// The person who wrote it; `null` for a token.
    pub author_id: Option<i64>,
    pub author: String,
    pub body: String,
    pub created_at: String,
}

impl From<Comment> for CommentOut {
    fn from(c: Comment) -> Self {
        CommentOut {
            id: c.id,
            task_id: c.task_id,
            author_id: c.author_id,
            author: c.author,
            body: c.body,
            created_at: timestamp(c.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CommentPage {
    pub data: Vec<CommentOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentCreate {
    /// 1–4000 characters.
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub body: String,
}

/// The page's rows and its next cursor (rows were read one past the limit).
fn paged<T>(mut rows: Vec<T>, limit: i64, kind: &str, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(|r| encode_cursor(kind, &id(r).to_string())) } else { None };
    (rows, next)
}

/// Lists tasks by id, with filters.
#[utoipa::path(get, path = "/tasks", tag = "tasks", params(TaskListQuery),
    responses((status = 200, body = TaskPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, description = "`invalid_task_status`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn list_tasks(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<TaskListQuery>,
) -> Result<Json<TaskPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("task", q.cursor.as_deref())?;
    let due_before = q.due_before.as_deref().map(|s| parse_timestamp("due_before", s)).transpose()?;
    let query = TaskQuery {
        assignee_id: q.assignee_id,
        status: q.status,
        due_before,
        ticket_id: q.ticket_id,
        contact_id: q.contact_id,
        after_id: after,
        by_id: true,
        limit: limit + 1,
        ..TaskQuery::default()
    };
    let rows = tasks::list(&app, &caller.actor(), caller.token.tenant_id, &query).await?;
    let (rows, next_cursor) = paged(rows, limit, "task", |t| t.id);
    let tz = tasks::zone(app.db.reader(), caller.token.tenant_id).await?;
    let now = app.clock.now_ms();
    Ok(Json(TaskPage { data: rows.into_iter().map(|t| task_out(t, tz, now)).collect(), next_cursor }))
}

/// Creates a task (status `todo`); sends the `task.created` webhook.
#[utoipa::path(post, path = "/tasks", tag = "tasks", request_body = TaskCreate,
    responses((status = 201, body = TaskOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = ERRORS_422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_task(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(i): ApiJson<TaskCreate>,
) -> Result<(StatusCode, Json<TaskOut>), ApiError> {
    caller.require(Scope::Write)?;
    let input = TaskInput {
        title: i.title,
        description: i.description,
        due: i.due,
        remind_before_minutes: i.remind_before_minutes.unwrap_or(0),
        assignee_id: i.assignee_id,
        ticket_id: i.ticket_id,
        contact_id: i.contact_id,
    };
    let t = tasks::create(&app, &caller.actor(), caller.token.tenant_id, input).await?;
    Ok((StatusCode::CREATED, Json(out(&app, &caller, t).await?)))
}

/// One task.
#[utoipa::path(get, path = "/tasks/{id}", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = TaskOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_task(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TaskOut>, ApiError> {
    caller.require(Scope::Read)?;
    let t = tasks::get(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(Json(out(&app, &caller, t).await?))
}

/// Changes a task (fields left out keep their value) and/or its status.
#[utoipa::path(patch, path = "/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), request_body = TaskUpdate,
    responses((status = 200, body = TaskOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = ERRORS_422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn update_task(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<TaskUpdate>,
) -> Result<Json<TaskOut>, ApiError> {
    caller.require(Scope::Write)?;
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    let current = tasks::get(&app, &actor, tenant, id).await?;
    let edits = u.title.is_some()
        || u.description.is_some()
        || u.due.is_some()
        || u.remind_before_minutes.is_some()
        || u.assignee_id.is_some()
        || u.ticket_id.is_some()
        || u.contact_id.is_some();
    let mut t = current.clone();
    if edits {
        let tz = tasks::zone(app.db.reader(), tenant).await?;
        let link = |given: Option<i64>, now: Option<i64>| match given {
            Some(0) => None,
            Some(id) => Some(id),
            None => now,
        };
        let input = TaskInput {
            title: u.title.unwrap_or(current.title),
            description: u.description.unwrap_or(current.description),
            due: u.due.unwrap_or_else(|| format_due(tz, current.due_at)),
            remind_before_minutes: u.remind_before_minutes.unwrap_or(current.remind_before_minutes),
            assignee_id: Some(u.assignee_id.unwrap_or(current.assignee_id)),
            ticket_id: link(u.ticket_id, current.ticket_id),
            contact_id: link(u.contact_id, current.contact_id),
        };
        t = tasks::update(&app, &actor, tenant, id, input).await?;
    }
    if let Some(status) = u.status.as_deref() {
        t = tasks::set_status(&app, &actor, tenant, id, status).await?;
    }
    Ok(Json(out(&app, &caller, t).await?))
}

/// Deletes a task and its comments.
#[utoipa::path(delete, path = "/tasks/{id}", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn delete_task(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    tasks::delete(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A task's comments, oldest first.
#[utoipa::path(get, path = "/tasks/{id}/comments", tag = "tasks", params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = CommentPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_comments(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<CommentPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("tc", q.cursor.as_deref())?;
    let rows = tasks::comments(&app, &caller.actor(), caller.token.tenant_id, id, after, limit + 1).await?;
    let (rows, next_cursor) = paged(rows, limit, "tc", |c| c.id);
    Ok(Json(CommentPage { data: rows.into_iter().map(CommentOut::from).collect(), next_cursor }))
}

/// Comments on a task.
#[utoipa::path(post, path = "/tasks/{id}/comments", tag = "tasks", params(("id" = i64, Path)),
    request_body = CommentCreate,
    responses((status = 201, body = CommentOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_body`, `invalid_comment`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn create_comment(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(c): ApiJson<CommentCreate>,
) -> Result<(StatusCode, Json<CommentOut>), ApiError> {
    caller.require(Scope::Write)?;
    let comment = tasks::add_comment(&app, &caller.actor(), caller.token.tenant_id, id, &c.body).await?;
    Ok((StatusCode::CREATED, Json(comment.into())))
}
