//! `/api/v1/schedules`: scheduled messages ("agendamentos") — a text to a contact, once or
//! repeating, in the company's time zone; pause, resume and cancel.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::actions::schedules::{self, Schedule, ScheduleInput};
use crate::app::App;
use crate::domain::schedules::weekday_keys;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};

use super::tags::PageQuery;
use super::{decode_id_cursor, page_by_id, page_limit, ApiPath, ApiQuery, ErrorBody};
use crate::actions::composer::MediaLink;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/schedules", get(list_schedules).post(create_schedule))
        .route("/schedules/{id}", get(get_schedule).patch(update_schedule).delete(cancel_schedule))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_schedules, create_schedule, get_schedule, update_schedule, cancel_schedule),
    components(schemas(ScheduleOut, SchedulePage, ScheduleCreate, ScheduleUpdate))
)]
pub struct SchedulesApi;

#[derive(Serialize, ToSchema)]
pub struct ScheduleOut {
    pub id: i64,
    pub contact_id: i64,
    /// `null`: the contact's latest connection, else the company's first active one.
    pub connection_id: Option<i64>,
    pub body: String,
    /// The approved template sent when the customer's 24-hour window is closed.
    pub template_id: Option<i64>,
    /// A file sent with the text as its caption.
    pub media: Option<MediaLink>,
    /// `once`, `daily`, `weekly` or `monthly`.
    pub recurrence: String,
    /// Weekly: `mon` … `sun`.
    pub weekdays: Vec<String>,
    /// Monthly: the day of month (the last day in shorter months).
    pub month_day: Option<i64>,
    /// Local date and time of the first occurrence in the company's time zone.
    pub start: String,
    pub until: Option<String>,
    pub count: Option<i64>,
    pub business_hours: bool,
    pub marketing: bool,
    /// `active`, `paused`, `cancelled` or `finished`.
    pub status: String,
    /// When the next message goes (RFC 3339, UTC); `null` when none.
    pub next_run_at: Option<String>,
    /// Occurrences handled so far.
    pub sent_count: i64,
    /// The last occurrence's outcome: `queued`, `refused` or `expired`.
    pub last_result: Option<String>,
    /// Why the last one was not sent (a send error code, e.g. `outside_window`).
    pub last_error: Option<String>,
}

fn rfc3339(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

impl From<Schedule> for ScheduleOut {
    fn from(s: Schedule) -> Self {
        ScheduleOut {
            id: s.id,
            contact_id: s.contact_id,
            connection_id: s.connection_id,
            body: s.body,
            template_id: s.template_id,
            media: s.media.as_ref().map(MediaLink::of),
            weekdays: weekday_keys(s.weekdays as u8).into_iter().map(String::from).collect(),
            month_day: (s.kind == "monthly").then_some(s.month_day),
            recurrence: s.kind,
            start: s.start_local,
            until: s.until_date,
            count: s.max_count,
            business_hours: s.business_hours,
            marketing: s.marketing,
            status: s.status,
            next_run_at: s.run_at.and_then(rfc3339),
            sent_count: s.done_count,
            last_result: s.last_state,
            last_error: s.last_error,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SchedulePage {
    pub data: Vec<ScheduleOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleCreate {
    /// The contact, by id…
    pub contact_id: Option<i64>,
    /// …or by phone in international form (created if new).
    pub phone: Option<String>,
    pub connection_id: Option<i64>,
    /// Up to 4096 characters (1024 with a file); may be left out with a template or a file.
    #[serde(default)]
    #[schema(max_length = 4096)]
    pub body: String,
    /// An approved template (`GET /templates`), sent when the customer's 24-hour window is
    /// closed, or always when there is no text nor file.
    pub template_id: Option<i64>,
    /// A file by link; the text goes as its caption.
    pub media: Option<MediaLink>,
    /// `once` (default), `daily`, `weekly`, `monthly`.
    pub recurrence: Option<String>,
    /// Weekly: `mon` … `sun`.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// Monthly: 1–31 (default: the start's day).
    pub month_day: Option<i64>,
    /// Local date and time in the company's time zone, `2026-12-24T09:30`; must be in the future.
    pub start: String,
    /// Last local date, `2027-06-30`.
    pub until: Option<String>,
    /// At most this many messages (1–10000).
    pub count: Option<i64>,
    /// Only within business hours (a slot outside goes at the next opening).
    #[serde(default)]
    pub business_hours: bool,
    /// A marketing message (needs the contact's marketing opt-in).
    #[serde(default)]
    pub marketing: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleUpdate {
    /// `paused`, `active` (resume) or `cancelled`; applied after the other fields.
    pub status: Option<String>,
    pub contact_id: Option<i64>,
    pub connection_id: Option<i64>,
    #[schema(max_length = 4096)]
    pub body: Option<String>,
    /// A template to send outside the window; `0` removes it.
    pub template_id: Option<i64>,
    /// A file by link (replaces the one there).
    pub media: Option<MediaLink>,
    pub recurrence: Option<String>,
    pub weekdays: Option<Vec<String>>,
    pub month_day: Option<i64>,
    pub start: Option<String>,
    pub until: Option<String>,
    pub count: Option<i64>,
    pub business_hours: Option<bool>,
    pub marketing: Option<bool>,
}

const ERRORS_422: &str = "`invalid_body`, `invalid_media`, `invalid_media_kind`, `invalid_caption`, \
    `unknown_template`, `template_not_approved`, `invalid_start`, `past_date`, `invalid_recurrence`, `invalid_weekdays`, \
    `invalid_month_day`, `invalid_until`, `invalid_count`, `missing_contact`, `unknown_contact`, `invalid_phone`, \
    `unknown_connection`, `no_occurrence`, `invalid_status`";

/// Lists the company's schedules (active and paused first, by next run).
#[utoipa::path(get, path = "/schedules", tag = "schedules", params(PageQuery),
    responses((status = 200, body = SchedulePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_schedules(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<SchedulePage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("sc", q.cursor.as_deref())?;
    let mut all = schedules::list(&app, &caller.actor(), caller.token.tenant_id, None).await?;
    all.sort_by_key(|s| s.id);
    let (rows, next_cursor) = page_by_id(all, |s| s.id, "sc", after, limit);
    Ok(Json(SchedulePage { data: rows.into_iter().map(ScheduleOut::from).collect(), next_cursor }))
}

/// Schedules a message.
#[utoipa::path(post, path = "/schedules", tag = "schedules", request_body = ScheduleCreate,
    responses((status = 201, body = ScheduleOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = ERRORS_422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_schedule(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(i): ApiJson<ScheduleCreate>,
) -> Result<(StatusCode, Json<ScheduleOut>), ApiError> {
    caller.require(Scope::Write)?;
    let input = ScheduleInput {
        contact_id: i.contact_id,
        phone: i.phone,
        connection_id: i.connection_id,
        body: i.body,
        template_id: i.template_id,
        media: i.media.as_ref().map(MediaLink::attached).transpose()?,
        recurrence: i.recurrence,
        weekdays: i.weekdays,
        month_day: i.month_day,
        start: i.start,
        until: i.until,
        count: i.count,
        business_hours: i.business_hours,
        marketing: i.marketing,
    };
    let s = schedules::create(&app, &caller.actor(), caller.token.tenant_id, input).await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}

/// One schedule.
#[utoipa::path(get, path = "/schedules/{id}", tag = "schedules", params(("id" = i64, Path)),
    responses((status = 200, body = ScheduleOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_schedule(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ScheduleOut>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(schedules::get(&app, &caller.actor(), caller.token.tenant_id, id).await?.into()))
}

/// Changes a schedule (fields left out keep their value), or pauses, resumes or cancels it.
#[utoipa::path(patch, path = "/schedules/{id}", tag = "schedules", params(("id" = i64, Path)),
    request_body = ScheduleUpdate,
    responses((status = 200, body = ScheduleOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_transition`, `schedule_closed`", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, description = ERRORS_422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn update_schedule(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<ScheduleUpdate>,
) -> Result<Json<ScheduleOut>, ApiError> {
    caller.require(Scope::Write)?;
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    let s = schedules::get(&app, &actor, tenant, id).await?;
    let edits = u.contact_id.is_some()
        || u.connection_id.is_some()
        || u.body.is_some()
        || u.template_id.is_some()
        || u.media.is_some()
        || u.recurrence.is_some()
        || u.weekdays.is_some()
        || u.month_day.is_some()
        || u.start.is_some()
        || u.until.is_some()
        || u.count.is_some()
        || u.business_hours.is_some()
        || u.marketing.is_some();
    let mut out = s.clone();
    if edits {
        let input = ScheduleInput {
            contact_id: Some(u.contact_id.unwrap_or(s.contact_id)),
            phone: None,
            connection_id: u.connection_id.or(s.connection_id),
            body: u.body.unwrap_or(s.body),
            template_id: match u.template_id {
                Some(0) => None,
                Some(t) => Some(t),
                None => s.template_id,
            },
            media: match &u.media {
                Some(m) => Some(m.attached()?),
                None => s.media.clone(),
            },
            recurrence: Some(u.recurrence.unwrap_or(s.kind)),
            weekdays: u
                .weekdays
                .unwrap_or_else(|| weekday_keys(s.weekdays as u8).into_iter().map(String::from).collect()),
            month_day: u.month_day.or((s.month_day > 0).then_some(s.month_day)),
            start: u.start.unwrap_or(s.start_local),
            until: u.until.or(s.until_date),
            count: u.count.or(s.max_count),
            business_hours: u.business_hours.unwrap_or(s.business_hours),
            marketing: u.marketing.unwrap_or(s.marketing),
        };
        out = schedules::update(&app, &actor, tenant, id, input).await?;
    }
    if let Some(status) = u.status.as_deref().filter(|st| *st != out.status) {
        out = schedules::set_state(&app, &actor, tenant, id, status).await?;
    }
    Ok(Json(out.into()))
}

/// Cancels a schedule (it stays listed, `cancelled`; nothing more is sent).
#[utoipa::path(delete, path = "/schedules/{id}", tag = "schedules", params(("id" = i64, Path)),
    responses((status = 200, body = ScheduleOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_transition`", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn cancel_schedule(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ScheduleOut>, ApiError> {
    caller.require(Scope::Write)?;
    let s = schedules::set_state(&app, &caller.actor(), caller.token.tenant_id, id, "cancelled").await?;
    Ok(Json(s.into()))
}
