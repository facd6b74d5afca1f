//! `/api/v1/campaigns`: marketing campaigns — create and edit drafts, start, pause, resume,
//! cancel, resend the unknown ones, and read progress and recipients.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::actions::campaigns::{self, Campaign, CampaignInput, Recipient};
use crate::app::App;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};

use super::{decode_id_cursor, page_limit, ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/campaigns", get(list_campaigns).post(create_campaign))
        .route("/campaigns/{id}", get(get_campaign).patch(update_campaign))
        .route("/campaigns/{id}/{command}", post(command_campaign))
        .route("/campaigns/{id}/recipients", get(list_recipients))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_campaigns, create_campaign, get_campaign, update_campaign, command_campaign, list_recipients),
    components(schemas(CampaignOut, CampaignList, CampaignInput, RecipientOut, RecipientPage, CommandOut))
)]
pub struct CampaignsApi;

fn rfc3339(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

#[derive(Serialize, ToSchema)]
pub struct CampaignOut {
    pub id: i64,
    pub name: String,
    pub connection_id: i64,
    /// `draft`, `running`, `paused`, `finished` or `cancelled`.
    pub status: String,
    pub variations: Vec<String>,
    pub template_id: Option<i64>,
    /// A file sent with the text (its caption) inside the window; `link` is `null` for a file
    /// uploaded on the web page.
    pub media: Option<crate::actions::composer::MediaLink>,
    pub all_contacts: bool,
    pub tag_ids: Vec<i64>,
    /// Numbers of a list audience (digits, international form).
    pub phones: Vec<String>,
    pub reply_tag_id: Option<i64>,
    /// Not before this instant (RFC 3339, UTC).
    pub start_at: Option<String>,
    pub business_hours: bool,
    pub rate_per_minute: i64,
    pub spacing_pct: i64,
    pub daily_cap: Option<i64>,
    /// Recipients frozen in when it started.
    pub total: i64,
    /// Contacts of the audience left out for want of marketing consent.
    pub excluded: i64,
    /// Recipients per state (`queued`, `sending`, `sent`, `delivered`, `read`, `replied`,
    /// `failed`, `opted_out`, `skipped`, `unknown`).
    #[schema(value_type = Object)]
    pub counts: serde_json::Map<String, serde_json::Value>,
    pub last_error: Option<String>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

fn out(c: Campaign, counts: Vec<(&'static str, i64)>) -> CampaignOut {
    CampaignOut {
        id: c.id,
        name: c.name,
        connection_id: c.connection_id,
        status: c.status,
        variations: c.variations,
        template_id: c.template_id,
        media: c.media.as_ref().map(crate::actions::composer::MediaLink::of),
        all_contacts: c.audience.all,
        tag_ids: c.audience.tags,
        phones: c.audience.phones,
        reply_tag_id: c.tag_id,
        start_at: rfc3339(c.start_at),
        business_hours: c.business_hours,
        rate_per_minute: c.rate_per_minute,
        spacing_pct: c.spacing_pct,
        daily_cap: c.daily_cap,
        total: c.total,
        excluded: c.excluded,
        counts: counts.into_iter().map(|(k, n)| (k.to_string(), serde_json::Value::from(n))).collect(),
        last_error: c.last_error,
        created_at: rfc3339(c.created_at),
        started_at: c.started_at.and_then(rfc3339),
        finished_at: c.finished_at.and_then(rfc3339),
    }
}

async fn with_counts(app: &App, caller: &ApiCaller, c: Campaign) -> Result<CampaignOut, ApiError> {
    let counts = campaigns::counts(app, &caller.actor(), caller.token.tenant_id, c.id).await?;
    Ok(out(c, counts))
}

#[derive(Serialize, ToSchema)]
pub struct CampaignList {
    pub data: Vec<CampaignOut>,
}

const ERRORS_422: &str = "`invalid_name`, `message_required`, `too_many_variations`, `invalid_message`, \
    `invalid_rate`, `invalid_spacing`, `invalid_daily_cap`, `unknown_connection`, `no_connection`, \
    `unknown_template`, `template_not_approved`, `unknown_tag`, `invalid_phone`, `too_many_phones`, \
    `audience_required`, `invalid_start`";

/// The company's campaigns, newest first (at most 500).
#[utoipa::path(get, path = "/campaigns", tag = "campaigns",
    responses((status = 200, body = CampaignList), (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`, `feature_disabled`", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_campaigns(caller: ApiCaller, State(app): State<Arc<App>>) -> Result<Json<CampaignList>, ApiError> {
    caller.require(Scope::Read)?;
    let all = campaigns::list(&app, &caller.actor(), caller.token.tenant_id).await?;
    let mut data = Vec::with_capacity(all.len());
    for c in all {
        data.push(with_counts(&app, &caller, c).await?);
    }
    Ok(Json(CampaignList { data }))
}

/// Creates a draft.
#[utoipa::path(post, path = "/campaigns", tag = "campaigns", request_body = CampaignInput,
    responses((status = 201, body = CampaignOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`, `feature_disabled`", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = ERRORS_422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_campaign(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<CampaignInput>,
) -> Result<(StatusCode, Json<CampaignOut>), ApiError> {
    caller.require(Scope::Write)?;
    let c = campaigns::create(&app, &caller.actor(), caller.token.tenant_id, input).await?;
    Ok((StatusCode::CREATED, Json(with_counts(&app, &caller, c).await?)))
}

/// One campaign with its counts per recipient state.
#[utoipa::path(get, path = "/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_campaign(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CampaignOut>, ApiError> {
    caller.require(Scope::Read)?;
    let c = campaigns::get(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(Json(with_counts(&app, &caller, c).await?))
}

/// Rewrites a draft (every field, as on create).
#[utoipa::path(patch, path = "/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    request_body = CampaignInput,
    responses((status = 200, body = CampaignOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`campaign_not_draft`", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = ERRORS_422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn update_campaign(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CampaignInput>,
) -> Result<Json<CampaignOut>, ApiError> {
    caller.require(Scope::Write)?;
    let c = campaigns::update(&app, &caller.actor(), caller.token.tenant_id, id, input).await?;
    Ok(Json(with_counts(&app, &caller, c).await?))
}

#[derive(Serialize, ToSchema)]
pub struct CommandOut {
    pub campaign: CampaignOut,
    /// `resend`: how many unknown recipients were queued again.
    pub requeued: Option<u64>,
}

/// `start` (freezes the audience), `pause`, `resume`, `cancel`, or `resend` (queues the
/// `unknown` recipients again: a person's decision, as some may have received it).
#[utoipa::path(post, path = "/campaigns/{id}/{command}", tag = "campaigns",
    params(("id" = i64, Path), ("command" = String, Path, description = "start, pause, resume, cancel or resend")),
    responses((status = 200, body = CommandOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_campaign_state`", body = ErrorBody),
        (status = 422, description = "`invalid_command`, `empty_audience`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn command_campaign(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath((id, command)): ApiPath<(i64, String)>,
) -> Result<Json<CommandOut>, ApiError> {
    caller.require(Scope::Write)?;
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    let requeued = if command == "resend" {
        Some(campaigns::resend_unknown(&app, &actor, tenant, id).await?)
    } else {
        campaigns::command(&app, &actor, tenant, id, &command).await?;
        None
    };
    let c = campaigns::get(&app, &actor, tenant, id).await?;
    Ok(Json(CommandOut { campaign: with_counts(&app, &caller, c).await?, requeued }))
}

#[derive(Serialize, ToSchema)]
pub struct RecipientOut {
    pub id: i64,
    pub contact_id: i64,
    pub contact_name: String,
    pub contact_phone: String,
    pub state: String,
    /// Which text variation it got (1–5); `null` for a template.
    pub variation: Option<i64>,
    /// What it got (the text, or the template's text with its values).
    pub body: Option<String>,
    /// The provider's message id.
    pub provider_id: Option<String>,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
    pub attempts: i64,
    pub sent_at: Option<String>,
    pub delivered_at: Option<String>,
    pub read_at: Option<String>,
    pub replied_at: Option<String>,
    /// The ticket a reply opened.
    pub ticket_id: Option<i64>,
}

impl From<Recipient> for RecipientOut {
    fn from(r: Recipient) -> Self {
        RecipientOut {
            id: r.id,
            contact_id: r.contact_id,
            contact_name: r.contact_name,
            contact_phone: r.contact_phone,
            state: r.state,
            variation: r.variation.map(|v| v + 1),
            body: r.body,
            provider_id: r.provider_id,
            error_code: r.error_code,
            error_title: r.error_title,
            attempts: r.attempts,
            sent_at: r.sent_at.and_then(rfc3339),
            delivered_at: r.delivered_at.and_then(rfc3339),
            read_at: r.read_at.and_then(rfc3339),
            replied_at: r.replied_at.and_then(rfc3339),
            ticket_id: r.ticket_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RecipientPage {
    pub data: Vec<RecipientOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecipientQuery {
    /// Only recipients in this state.
    pub state: Option<String>,
    /// 1–100 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A campaign's recipients in id order, optionally in one state.
#[utoipa::path(get, path = "/campaigns/{id}/recipients", tag = "campaigns", params(("id" = i64, Path), RecipientQuery),
    responses((status = 200, body = RecipientPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "`invalid_state`", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_recipients(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RecipientQuery>,
) -> Result<Json<RecipientPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("cr", q.cursor.as_deref())?.unwrap_or(0);
    let rows =
        campaigns::recipients(&app, &caller.actor(), caller.token.tenant_id, id, q.state.as_deref(), after, limit + 1)
            .await?;
    let more = rows.len() as i64 > limit;
    let data: Vec<RecipientOut> = rows.into_iter().take(limit as usize).map(RecipientOut::from).collect();
    let next_cursor = if more { data.last().map(|r| super::encode_cursor("cr", &r.id.to_string())) } else { None };
    Ok(Json(RecipientPage { data, next_cursor }))
}
