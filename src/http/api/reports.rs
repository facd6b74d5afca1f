//! `/api/v1/reports/…`: the Painel's figures for integrations (supervisor rights: any token
//! with `read`). Definitions in docs/REPORTS.md; times in seconds, each in wall-clock and in
//! business hours; periods in the company's time zone.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::actions::reports::export::{self, FilterInput};
use crate::actions::reports::{self, RangeQuery};
use crate::app::App;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::ApiError;

use super::{ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/reports/summary", get(summary))
        .route("/reports/now", get(now))
        .route("/reports/agents", get(agents))
        .route("/reports/tickets.csv", get(tickets_csv))
        .route("/reports/tickets/{id}/transcript", get(transcript))
}

#[derive(OpenApi)]
#[openapi(
    paths(summary, now, agents, tickets_csv, transcript),
    components(schemas(SummaryOut, NowOut, AgentsOut, TranscriptOut))
)]
pub struct ReportsApi;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// `today` (default), `7d`, `30d` or `custom` (with `from` and `to`).
    pub period: Option<String>,
    /// First local date of a custom period, `aaaa-mm-dd`.
    pub from: Option<String>,
    /// Last local date (inclusive) of a custom period, `aaaa-mm-dd`; at most 366 days.
    pub to: Option<String>,
    /// Only this department.
    pub department: Option<i64>,
    /// Only this agent.
    pub agent: Option<i64>,
}

impl RangeParams {
    fn query(&self) -> Result<RangeQuery, crate::actions::ActionError> {
        RangeQuery::parse(self.period.as_deref(), self.from.as_deref(), self.to.as_deref(), self.department, self.agent)
    }
}

/// A period's figures.
#[derive(Serialize, ToSchema)]
pub struct SummaryOut {
    /// `today`, `7d`, `30d` or `custom`.
    pub period: String,
    /// Start of the period (Unix ms, inclusive).
    pub from: i64,
    /// End of the period (Unix ms, exclusive).
    pub to: i64,
    /// new_tickets, reopened, closed, resolved_by_people, resolved_by_bot, closed_unanswered,
    /// reopen_rate, bot_share, wait / first_response / resolution (each `{wall, business}` of
    /// `{count, avg_s, p90_max_s}`), ratings [1..5], rating_avg, rating_response_rate,
    /// messages_in, messages_out_people, messages_out_bot.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    /// Messages in and out per local hour of day: `[{label, start, values: [in, out]}]`.
    #[schema(value_type = Vec<Object>)]
    pub messages_by_hour: serde_json::Value,
    /// New tickets and closed episodes per day (per hour for one day).
    #[schema(value_type = Vec<Object>)]
    pub volume: serde_json::Value,
}

const RANGE_ERRORS: &str = "`invalid_period`, `invalid_date`, `invalid_range`";

/// A period's figures (wall clock and business hours).
#[utoipa::path(get, path = "/reports/summary", tag = "reports", params(RangeParams),
    responses((status = 200, body = SummaryOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, description = RANGE_ERRORS, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn summary(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<RangeParams>,
) -> Result<Json<SummaryOut>, ApiError> {
    caller.require(Scope::Read)?;
    let r = reports::range(&app, &caller.actor(), caller.token.tenant_id, &q.query()?).await?;
    Ok(Json(SummaryOut {
        period: r.period.to_string(),
        from: r.from,
        to: r.to,
        summary: serde_json::to_value(&r.summary).unwrap_or_default(),
        messages_by_hour: serde_json::to_value(&r.messages_by_hour).unwrap_or_default(),
        volume: serde_json::to_value(&r.volume).unwrap_or_default(),
    }))
}

/// The live block.
#[derive(Serialize, ToSchema)]
pub struct NowOut {
    /// `{waiting, longest_wait_s, in_service, with_bot, closed_today, online, away, offline}`.
    #[schema(value_type = Object)]
    pub totals: serde_json::Value,
    /// The same per department (`department_id` null: no department).
    #[schema(value_type = Vec<Object>)]
    pub departments: serde_json::Value,
    /// `[{id, name, status: online|away|offline, open_tickets, departments}]`.
    #[schema(value_type = Vec<Object>)]
    pub people: serde_json::Value,
    /// `[{code: long_wait|dead_webhooks|messages_high|messages_low, value, threshold}]`.
    #[schema(value_type = Vec<Object>)]
    pub alerts: serde_json::Value,
    pub messages_per_minute: f64,
    pub messages_per_minute_mean: f64,
}

/// Waiting, in service, with the bot, closed today, people and alerts, now.
#[utoipa::path(get, path = "/reports/now", tag = "reports",
    responses((status = 200, body = NowOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn now(caller: ApiCaller, State(app): State<Arc<App>>) -> Result<Json<NowOut>, ApiError> {
    caller.require(Scope::Read)?;
    let n = reports::now(&app, &caller.actor(), caller.token.tenant_id).await?;
    Ok(Json(NowOut {
        totals: json(&n.totals),
        departments: json(&n.departments),
        people: json(&n.people),
        alerts: json(&n.alerts),
        messages_per_minute: n.messages_per_minute,
        messages_per_minute_mean: n.messages_per_minute_mean,
    }))
}

/// A report value as JSON (plain data; it always serialises).
fn json<T: Serialize>(x: &T) -> serde_json::Value {
    serde_json::to_value(x).unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
pub struct AgentsOut {
    /// `[{agent_id, name, summary, online_s}]`, `summary` as in `/reports/summary`, counting what is
    /// credited to each person (docs/REPORTS.md).
    #[schema(value_type = Vec<Object>)]
    pub data: serde_json::Value,
}

/// The agent report of a period.
#[utoipa::path(get, path = "/reports/agents", tag = "reports", params(RangeParams),
    responses((status = 200, body = AgentsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, description = RANGE_ERRORS, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn agents(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<RangeParams>,
) -> Result<Json<AgentsOut>, ApiError> {
    caller.require(Scope::Read)?;
    let lines = reports::agents(&app, &caller.actor(), caller.token.tenant_id, &q.query()?).await?;
    Ok(Json(AgentsOut { data: serde_json::to_value(&lines).unwrap_or_default() }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketParams {
    /// `30d` (default), `today`, `7d` or `custom`; on the ticket's creation time.
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub department: Option<i64>,
    pub agent: Option<i64>,
    pub connection: Option<i64>,
    pub tag: Option<i64>,
    /// `bot`, `waiting`, `open` or `closed`.
    pub status: Option<String>,
    /// `1`–`5`, or `none` for tickets not rated.
    pub rating: Option<String>,
}

/// The ticket report as CSV for Brazilian Excel (`;`, UTF-8 with BOM, dd/mm/aaaa), streamed.
#[utoipa::path(get, path = "/reports/tickets.csv", tag = "reports", params(TicketParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "`invalid_period`, `invalid_date`, `invalid_range`, `invalid_status`, `invalid_rating`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn tickets_csv(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<TicketParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let input = FilterInput {
        period: q.period,
        from: q.from,
        to: q.to,
        department: q.department,
        agent: q.agent,
        connection: q.connection,
        tag: q.tag,
        status: q.status,
        rating: q.rating,
    };
    Ok(crate::http::web::reports::csv_response(app, caller.actor(), caller.token.tenant_id, input).await?)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TranscriptParams {
    /// `json` (default) or `txt`.
    pub format: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TranscriptOut {
    /// `{ticket_id, protocol, status, contact, phone, connection, department, opened, closed,
    /// participants, lines: [{at, who: customer|agent|bot|note|event, name, text, media}]}`.
    #[schema(value_type = Object)]
    pub transcript: serde_json::Value,
}

/// A ticket's conversation: protocol, participants, messages, internal notes (marked) and
/// history, media listed.
#[utoipa::path(get, path = "/reports/tickets/{id}/transcript", tag = "reports",
    params(("id" = i64, Path), TranscriptParams),
    responses((status = 200, body = TranscriptOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn transcript(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<TranscriptParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let t = export::transcript(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    if q.format.as_deref() == Some("txt") {
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], export::transcript_text(&t)).into_response());
    }
    Ok(Json(TranscriptOut { transcript: serde_json::to_value(&t).unwrap_or_default() }).into_response())
}
