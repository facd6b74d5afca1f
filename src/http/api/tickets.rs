//! `/api/v1/tickets`: list and filter with cursor pagination, get one (tags and history),
//! assign, transfer, close, reopen, and tags. The inbox actions decide who may do what.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::actions::inbox::{self as inbox_actions, Farewell, Transfer};
use crate::app::App;
use crate::domain::inbox::TicketStatus;
use crate::domain::{Scope, UserId};
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson, OptionalApiJson};
use crate::store::inbox::{Cursor, Filter, TicketView};
use crate::store::ticket_events::TicketEvent;

use super::sla::{ComplexityName, UrgencyName};
use super::tags::TagOut;
use super::{
    decode_cursor, encode_cursor, page_limit, parse_timestamp, timestamp, timestamp_opt, ApiPath, ApiQuery, ErrorBody,
};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/tickets", get(list_tickets))
        .route("/tickets/{id}", get(get_ticket).patch(update_ticket))
        .route("/tickets/{id}/assign", post(assign_ticket))
        .route("/tickets/{id}/transfer", post(transfer_ticket))
        .route("/tickets/{id}/close", post(close_ticket))
        .route("/tickets/{id}/reopen", post(reopen_ticket))
        .route("/tickets/{id}/tags", post(add_tag))
        .route("/tickets/{id}/tags/{tag_id}", delete(remove_tag))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_tickets,
        get_ticket,
        update_ticket,
        assign_ticket,
        transfer_ticket,
        close_ticket,
        reopen_ticket,
        add_tag,
        remove_tag
    ),
    components(schemas(
        Ticket,
        TicketPage,
        TicketDetail,
        TicketSla,
        TicketUpdate,
        TicketHistoryEntry,
        AssignInput,
        TransferInput,
        CloseInput,
        ClosedTicket,
        TagInput
    ))
)]
pub struct TicketsApi;

/// A ticket (conversation).
#[derive(Serialize, ToSchema)]
pub struct Ticket {
    pub id: i64,
    /// Protocol number shown to the customer, e.g. `20261123-000042`.
    pub protocol: Option<String>,
    /// `bot`, `waiting`, `open` or `closed`.
    pub status: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    pub contact_id: i64,
    pub contact_name: String,
    /// E.164 digits without `+`; empty for a WhatsApp customer who shows a username instead of
    /// a number (reached by their user id).
    pub contact_phone: String,
    /// The customer's WhatsApp username, when they show one.
    pub contact_username: Option<String>,
    pub connection_id: i64,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub unread_count: i64,
    pub last_message_preview: Option<String>,
    #[schema(format = DateTime)]
    pub last_message_at: String,
    #[schema(format = DateTime)]
    pub last_inbound_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub csat_rating: Option<i64>,
    pub reopened_count: i64,
}

impl From<TicketView> for Ticket {
    fn from(t: TicketView) -> Self {
        Ticket {
            id: t.id,
            protocol: t.protocol,
            status: t.status,
            priority: t.priority,
            contact_id: t.contact_id,
            contact_name: t.contact_name,
            contact_phone: t.contact_phone,
            contact_username: t.contact_username,
            connection_id: t.connection_id,
            department_id: t.department_id,
            department_name: t.department_name,
            assignee_id: t.assignee_id,
            assignee_name: t.assignee_name,
            unread_count: t.unread_count,
            last_message_preview: t.last_message_preview,
            last_message_at: timestamp(t.last_message_at),
            last_inbound_at: timestamp_opt(t.last_inbound_at),
            created_at: timestamp(t.created_at),
            closed_at: timestamp_opt(t.closed_at),
            csat_rating: t.csat_rating,
            reopened_count: t.reopened_count,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TicketPage {
    pub data: Vec<Ticket>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A ticket with its tags and history.
#[derive(Serialize, ToSchema)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub tags: Vec<TagOut>,
    pub history: Vec<TicketHistoryEntry>,
    /// Pre-analysis and service levels; null when the ticket is not timed.
    pub sla: Option<TicketSla>,
}

/// A ticket's classification and where it stands against its SLA.
#[derive(Serialize, ToSchema)]
pub struct TicketSla {
    pub urgency: Option<UrgencyName>,
    pub complexity: Option<ComplexityName>,
    /// Opened as a support ticket ("Abrir chamado").
    pub support: bool,
    /// Waiting on the customer: the resolution clock is paused.
    pub awaiting_customer: bool,
    #[schema(format = DateTime)]
    pub first_response_due_at: Option<String>,
    /// `on_track`, `warning`, `breached`, `paused` or `met`.
    pub first_response_status: Option<String>,
    #[schema(format = DateTime)]
    pub resolution_due_at: Option<String>,
    /// `on_track`, `warning`, `breached`, `paused` or `met`.
    pub resolution_status: Option<String>,
}

impl From<crate::actions::sla::SlaView> for TicketSla {
    fn from(v: crate::actions::sla::SlaView) -> Self {
        TicketSla {
            urgency: v.urgency.map(UrgencyName::from),
            complexity: v.complexity.map(ComplexityName::from),
            support: v.support,
            awaiting_customer: v.paused,
            first_response_due_at: v.response.map(|(d, _)| timestamp(d.due_at)),
            first_response_status: v.response.map(|(_, l)| l.as_str().to_string()),
            resolution_due_at: v.resolution.map(|(d, _)| timestamp(d.due_at)),
            resolution_status: v.resolution.map(|(_, l)| l.as_str().to_string()),
        }
    }
}

/// One step of a ticket's history.
#[derive(Serialize, ToSchema)]
pub struct TicketHistoryEntry {
    pub id: i64,
    /// `created`, `captured`, `assigned`, `transferred`, `closed`, `reopened`, `priority`, `csat`…
    pub kind: String,
    pub actor_user_id: Option<i64>,
    pub from_department_id: Option<i64>,
    pub to_department_id: Option<i64>,
    pub from_user_id: Option<i64>,
    pub to_user_id: Option<i64>,
    pub note: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<TicketEvent> for TicketHistoryEntry {
    fn from(e: TicketEvent) -> Self {
        TicketHistoryEntry {
            id: e.id,
            kind: e.kind,
            actor_user_id: e.actor_user_id,
            from_department_id: e.from_department_id,
            to_department_id: e.to_department_id,
            from_user_id: e.from_user_id,
            to_user_id: e.to_user_id,
            note: e.note,
            created_at: timestamp(e.created_at),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// `bot`, `waiting`, `open` or `closed`; every status when absent.
    #[param(pattern = "^(bot|waiting|open|closed)$")]
    pub status: Option<String>,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub tag_id: Option<i64>,
    pub connection_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// Only tickets of contacts in this person's wallet (Carteira).
    pub wallet_owner_id: Option<i64>,
    /// Only tickets with a message or a change at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    pub updated_since: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists tickets, most recent activity first.
#[utoipa::path(get, path = "/tickets", tag = "tickets", params(TicketQuery),
    responses((status = 200, body = TicketPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_tickets(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<TicketQuery>,
) -> Result<Json<TicketPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(TicketStatus::parse(s).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_status", "status must be bot, waiting, open or closed")
        })?),
    };
    let updated_since = match q.updated_since.as_deref() {
        None | Some("") => None,
        Some(s) => Some(parse_timestamp("updated_since", s)?),
    };
    let after = match decode_cursor("t", q.cursor.as_deref())? {
        None => None,
        Some(p) => Some(Cursor::decode(&p).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "cursor is not one this list returned")
        })?),
    };
    let filter = Filter {
        department_id: q.department_id,
        tag_id: q.tag_id,
        connection_id: q.connection_id,
        search: None,
        status,
        assignee_id: q.assignee_id,
        contact_id: q.contact_id,
        wallet_of: q.wallet_owner_id,
        updated_since,
        no_lane: false,
    };
    let page =
        inbox_actions::list_all_tickets(&app, &caller.actor(), caller.token.tenant_id, &filter, after, limit).await?;
    Ok(Json(TicketPage {
        data: page.tickets.into_iter().map(Ticket::from).collect(),
        next_cursor: page.next.map(|c| encode_cursor("t", &c.encode())),
    }))
}

/// One ticket with its tags and history.
#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = TicketDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_ticket(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TicketDetail>, ApiError> {
    caller.require(Scope::Read)?;
    detail(&app, &caller, id).await
}

async fn detail(app: &App, caller: &ApiCaller, id: i64) -> Result<Json<TicketDetail>, ApiError> {
    let tenant = caller.token.tenant_id;
    let d = inbox_actions::get_ticket(app, &caller.actor(), tenant, id).await?;
    let sla = crate::actions::sla::view(app, tenant, &d.ticket).await?;
    Ok(Json(TicketDetail {
        ticket: d.ticket.into(),
        tags: d.tags.into_iter().map(TagOut::from).collect(),
        history: d.history.into_iter().map(TicketHistoryEntry::from).collect(),
        sla: sla.map(TicketSla::from),
    }))
}

/// What `PATCH /tickets/{id}` changes; fields left out keep their value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdate {
    /// `low`, `normal`, `high` or `urgent`.
    #[schema(pattern = "^(low|normal|high|urgent)$")]
    pub priority: Option<String>,
    pub urgency: Option<UrgencyName>,
    pub complexity: Option<ComplexityName>,
    /// true: waiting on the customer (the resolution clock pauses until they write); false: resume.
    pub awaiting_customer: Option<bool>,
    /// true: open it as a support ticket and tell the customer the protocol and deadline.
    pub support: Option<bool>,
}

/// Pre-analysis: priority, urgency and complexity (each change is in the history and the
/// deadlines are computed again), waiting on the customer, or "Abrir chamado".
#[utoipa::path(patch, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path)),
    request_body = TicketUpdate,
    responses((status = 200, body = TicketDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`ticket_closed`, `support_ticket_open`", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_priority`, `invalid_body`, and the send errors of the confirmation",
            body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn update_ticket(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<TicketUpdate>,
) -> Result<Json<TicketDetail>, ApiError> {
    use crate::actions::sla;
    caller.require(Scope::Write)?;
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    let priority = match u.priority.as_deref() {
        None => None,
        Some(p) => Some(crate::domain::inbox::Priority::parse(p).ok_or_else(|| {
            crate::actions::ActionError::invalid("invalid_priority", "priority is low, normal, high or urgent")
        })?),
    };
    let c =
        sla::Classification { urgency: u.urgency.map(Into::into), complexity: u.complexity.map(Into::into), priority };
    if u.support == Some(true) {
        let (_, refused) = sla::open_support_ticket(&app, &actor, tenant, id, &c).await?;
        if let Some(e) = refused {
            tracing::info!(ticket.id = id, error = %e, "the support ticket's confirmation was not sent");
        }
    } else {
        sla::classify(&app, &actor, tenant, id, &c).await?;
    }
    if let Some(on) = u.awaiting_customer {
        sla::await_customer(&app, &actor, tenant, id, on).await?;
    }
    detail(&app, &caller, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// The person who attends the ticket from now on.
    pub user_id: i64,
}

/// Gives the ticket to a person: open and theirs.
#[utoipa::path(post, path = "/tickets/{id}/assign", tag = "tickets", params(("id" = i64, Path)),
    request_body = AssignInput,
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`ticket_closed`", body = ErrorBody),
        (status = 422, description = "`unknown_agent`, `not_in_department`, `invalid_body`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn assign_ticket(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AssignInput>,
) -> Result<Json<Ticket>, ApiError> {
    caller.require(Scope::Write)?;
    let t = inbox_actions::assign(&app, &caller.actor(), caller.token.tenant_id, id, UserId(input.user_id)).await?;
    Ok(Json(t.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// The department to move the ticket to.
    pub department_id: Option<i64>,
    /// The person to give it to (open, theirs); without one the ticket waits in the department.
    pub user_id: Option<i64>,
    /// Shown in the ticket's history (up to 4096 characters).
    #[schema(max_length = 4096)]
    pub note: Option<String>,
}

/// Moves the ticket to another department and/or person, with an optional note.
#[utoipa::path(post, path = "/tickets/{id}/transfer", tag = "tickets", params(("id" = i64, Path)),
    request_body = TransferInput,
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`ticket_closed`", body = ErrorBody),
        (status = 422, description = "`invalid_transfer`, `unknown_department`, `unknown_agent`, `invalid_note`",
            body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn transfer_ticket(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TransferInput>,
) -> Result<Json<Ticket>, ApiError> {
    caller.require(Scope::Write)?;
    let to = Transfer { department_id: input.department_id, user_id: input.user_id.map(UserId), note: input.note };
    let t = inbox_actions::transfer(&app, &caller.actor(), caller.token.tenant_id, id, to).await?;
    Ok(Json(t.into()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CloseInput {
    /// A farewell text sent before closing (needs the `send` scope).
    #[schema(max_length = 4096)]
    pub farewell: Option<String>,
    /// Send the company's configured farewell instead (needs the `send` scope).
    #[serde(default)]
    pub default_farewell: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ClosedTicket {
    pub ticket: Ticket,
    pub farewell_message_id: Option<i64>,
    pub csat_message_id: Option<i64>,
    /// Why the farewell or rating question was not sent: `outside_window`, `connection_inactive`.
    pub not_sent: Option<String>,
}

/// Closes the ticket, optionally with a farewell (skipped outside the 24-hour window).
#[utoipa::path(post, path = "/tickets/{id}/close", tag = "tickets", params(("id" = i64, Path)),
    request_body(content = CloseInput, description = "Optional; an empty body closes without a farewell"),
    responses((status = 200, body = ClosedTicket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`ticket_closed`", body = ErrorBody),
        (status = 422, description = "`invalid_farewell`, `invalid_body`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn close_ticket(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    OptionalApiJson(input): OptionalApiJson<CloseInput>,
) -> Result<Json<ClosedTicket>, ApiError> {
    caller.require(Scope::Write)?;
    let farewell = match (input.farewell, input.default_farewell) {
        (Some(text), _) => Farewell::Text(text),
        (None, true) => Farewell::Default,
        (None, false) => Farewell::None,
    };
    if farewell != Farewell::None {
        caller.require(Scope::Send)?;
    }
    let c = inbox_actions::close(&app, &caller.actor(), caller.token.tenant_id, id, farewell).await?;
    Ok(Json(ClosedTicket {
        ticket: c.ticket.into(),
        farewell_message_id: c.farewell_message_id,
        csat_message_id: c.csat_message_id,
        not_sent: c.not_sent.map(str::to_string),
    }))
}

/// Reopens a closed ticket: it waits in its department again.
#[utoipa::path(post, path = "/tickets/{id}/reopen", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`ticket_not_closed`, `ticket_superseded`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn reopen_ticket(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Ticket>, ApiError> {
    caller.require(Scope::Write)?;
    let t = inbox_actions::reopen(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(Json(t.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagInput {
    pub tag_id: i64,
}

/// Puts a tag on the ticket; answers the ticket's tags.
#[utoipa::path(post, path = "/tickets/{id}/tags", tag = "tickets", params(("id" = i64, Path)),
    request_body = TagInput,
    responses((status = 200, body = Vec<TagOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "`unknown_tag`, `invalid_body`", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn add_tag(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TagInput>,
) -> Result<Json<Vec<TagOut>>, ApiError> {
    caller.require(Scope::Write)?;
    set_tag(&app, &caller, id, input.tag_id, true).await
}

/// Takes a tag off the ticket; answers the ticket's tags.
#[utoipa::path(delete, path = "/tickets/{id}/tags/{tag_id}", tag = "tickets",
    params(("id" = i64, Path), ("tag_id" = i64, Path)),
    responses((status = 200, body = Vec<TagOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "`unknown_tag`", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn remove_tag(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath((id, tag_id)): ApiPath<(i64, i64)>,
) -> Result<Json<Vec<TagOut>>, ApiError> {
    caller.require(Scope::Write)?;
    set_tag(&app, &caller, id, tag_id, false).await
}

async fn set_tag(app: &App, caller: &ApiCaller, id: i64, tag_id: i64, on: bool) -> Result<Json<Vec<TagOut>>, ApiError> {
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    inbox_actions::tag_ticket(app, &actor, tenant, id, tag_id, on).await?;
    let d = inbox_actions::get_ticket(app, &actor, tenant, id).await?;
    Ok(Json(d.tags.into_iter().map(TagOut::from).collect()))
}
