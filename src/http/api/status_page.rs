//! `/api/v1/status/…`: the status page's components and incidents (open, post updates, resolve,
//! link tickets). Supervisors' rights: tokens with `read` list, with `write` change.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::actions::status_page::{self as status, ComponentInput, IncidentDetail, IncidentInput, Posted};
use crate::app::App;
use crate::domain::Scope;
use crate::http::auth::ApiCaller;
use crate::http::error::{ApiError, ApiJson};
use crate::store::status_page::{Component, Incident, LinkedTicket, Update};

use super::tags::PageQuery;
use super::{decode_id_cursor, page_by_id, page_limit, timestamp, timestamp_opt, ApiPath, ApiQuery, ErrorBody};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/status/components", get(list_components).post(create_component))
        .route("/status/components/{id}", axum::routing::patch(update_component).delete(delete_component))
        .route("/status/incidents", get(list_incidents).post(create_incident))
        .route("/status/incidents/{id}", get(get_incident))
        .route("/status/incidents/{id}/updates", post(post_update))
        .route("/status/incidents/{id}/tickets", post(link_ticket))
        .route("/status/incidents/{id}/tickets/{ticket_id}", delete(unlink_ticket))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_components, create_component, update_component, delete_component, list_incidents, create_incident,
        get_incident, post_update, link_ticket, unlink_ticket
    ),
    components(schemas(
        ComponentOut, ComponentPage, ComponentCreate, ComponentUpdate, ComponentStateIn, IncidentOut, IncidentPage,
        IncidentCreate, IncidentStateIn, ImpactIn, IncidentDetailOut, UpdateOut, UpdateCreate, PostedOut,
        TicketLink, LinkedTicketOut
    )),
    tags((name = "status", description = "The public status page: components, incidents, their updates and linked tickets"))
)]
pub struct StatusPageApi;

/// A component's state.
#[derive(Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStateIn {
    Operational,
    Degraded,
    PartialOutage,
    MajorOutage,
    Maintenance,
}

/// An incident's impact: the state it puts its components in.
#[derive(Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImpactIn {
    Degraded,
    PartialOutage,
    MajorOutage,
    Maintenance,
}

/// An incident's state; `resolved` closes it.
#[derive(Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStateIn {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

/// The stored word of an enum (its serde name).
fn word<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
pub struct ComponentOut {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Order on the page (smaller first).
    pub position: i64,
    /// `operational`, `degraded`, `partial_outage`, `major_outage` or `maintenance`.
    pub state: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

impl From<Component> for ComponentOut {
    fn from(c: Component) -> Self {
        ComponentOut {
            id: c.id,
            name: c.name,
            description: c.description,
            position: c.position,
            state: c.state,
            updated_at: timestamp(c.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ComponentPage {
    pub data: Vec<ComponentOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentCreate {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// 0–10000 (default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub position: i64,
    /// Default `operational`.
    pub state: Option<ComponentStateIn>,
}

/// Fields left out keep their value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentUpdate {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(minimum = 0, maximum = 10000)]
    pub position: Option<i64>,
    pub state: Option<ComponentStateIn>,
}

#[derive(Serialize, ToSchema)]
pub struct IncidentOut {
    pub id: i64,
    pub title: String,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub state: String,
    /// `degraded`, `partial_outage`, `major_outage` or `maintenance`.
    pub impact: String,
    /// The customers of linked tickets are told when it is resolved.
    pub notify_on_resolve: bool,
    pub created_at: String,
    pub updated_at: String,
    /// `null` while open.
    pub resolved_at: Option<String>,
}

impl From<Incident> for IncidentOut {
    fn from(i: Incident) -> Self {
        IncidentOut {
            id: i.id,
            title: i.title,
            state: i.state,
            impact: i.impact,
            notify_on_resolve: i.notify_on_resolve,
            created_at: timestamp(i.created_at),
            updated_at: timestamp(i.updated_at),
            resolved_at: timestamp_opt(i.resolved_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IncidentPage {
    pub data: Vec<IncidentOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentCreate {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    /// The first update's text.
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    pub body: String,
    /// Default `investigating`; `resolved` is refused.
    pub state: Option<IncidentStateIn>,
    pub impact: ImpactIn,
    /// Ids of the company's components it affects.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub components: Vec<i64>,
    #[serde(default)]
    pub notify_on_resolve: bool,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateOut {
    pub id: i64,
    pub incident_id: i64,
    pub state: String,
    pub body: String,
    /// Who posted it (shown to staff only).
    pub author: String,
    pub created_at: String,
}

impl From<Update> for UpdateOut {
    fn from(u: Update) -> Self {
        UpdateOut {
            id: u.id,
            incident_id: u.incident_id,
            state: u.state,
            body: u.body,
            author: u.author,
            created_at: timestamp(u.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LinkedTicketOut {
    pub ticket_id: i64,
    pub protocol: Option<String>,
    /// The ticket's status (`bot`, `waiting`, `open`, `closed`).
    pub status: String,
}

impl From<LinkedTicket> for LinkedTicketOut {
    fn from(t: LinkedTicket) -> Self {
        LinkedTicketOut { ticket_id: t.ticket_id, protocol: t.protocol, status: t.status }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IncidentDetailOut {
    pub incident: IncidentOut,
    /// Newest first.
    pub updates: Vec<UpdateOut>,
    /// Ids of the components it affects.
    pub components: Vec<i64>,
    pub tickets: Vec<LinkedTicketOut>,
}

impl From<IncidentDetail> for IncidentDetailOut {
    fn from(d: IncidentDetail) -> Self {
        IncidentDetailOut {
            incident: d.incident.into(),
            updates: d.updates.into_iter().map(UpdateOut::from).collect(),
            components: d.components,
            tickets: d.tickets.into_iter().map(LinkedTicketOut::from).collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCreate {
    /// The incident's new state; `resolved` closes it.
    pub state: IncidentStateIn,
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    pub body: String,
}

#[derive(Serialize, ToSchema)]
pub struct PostedOut {
    pub update: UpdateOut,
    /// On resolving with `notify_on_resolve`: customers whose message was queued…
    pub notified: i64,
    /// …and those who could not be told (outside the 24-hour window, opted out, connection off).
    pub not_notified: i64,
}

impl From<Posted> for PostedOut {
    fn from(p: Posted) -> Self {
        PostedOut { update: p.update.into(), notified: p.notified as i64, not_notified: p.not_notified as i64 }
    }
}

/// A ticket of the company, by number or by protocol (give one).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketLink {
    pub ticket_id: Option<i64>,
    #[schema(max_length = 40)]
    pub protocol: Option<String>,
}

/// Lists the components in page order.
#[utoipa::path(get, path = "/status/components", tag = "status", params(PageQuery),
    responses((status = 200, body = ComponentPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_components(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ComponentPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("status_component", q.cursor.as_deref())?;
    let all = status::list_components(&app, &caller.actor(), caller.token.tenant_id).await?;
    let (rows, next_cursor) = page_by_id(all, |c| c.id, "status_component", after, limit);
    Ok(Json(ComponentPage { data: rows.into_iter().map(ComponentOut::from).collect(), next_cursor }))
}

/// Adds a component.
#[utoipa::path(post, path = "/status/components", tag = "status", request_body = ComponentCreate,
    responses((status = 201, body = ComponentOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "`too_many_components`", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_component_name`, `invalid_component_description`, `invalid_component_position`, `invalid_body`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn create_component(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<ComponentCreate>,
) -> Result<(StatusCode, Json<ComponentOut>), ApiError> {
    caller.require(Scope::Write)?;
    let input = ComponentInput {
        name: input.name,
        description: input.description,
        position: input.position,
        state: word(&input.state.unwrap_or(ComponentStateIn::Operational)),
    };
    let c = status::create_component(&app, &caller.actor(), caller.token.tenant_id, &input).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

/// Changes a component (its state, to say how it is doing).
#[utoipa::path(patch, path = "/status/components/{id}", tag = "status", params(("id" = i64, Path)),
    request_body = ComponentUpdate,
    responses((status = 200, body = ComponentOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_component_name`, `invalid_component_description`, `invalid_component_position`, `invalid_body`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn update_component(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ComponentUpdate>,
) -> Result<Json<ComponentOut>, ApiError> {
    caller.require(Scope::Write)?;
    let (actor, tenant) = (caller.actor(), caller.token.tenant_id);
    let current = status::get_component(&app, &actor, tenant, id).await?;
    let input = ComponentInput {
        name: input.name.unwrap_or(current.name),
        description: input.description.unwrap_or(current.description),
        position: input.position.unwrap_or(current.position),
        state: input.state.map(|s| word(&s)).unwrap_or(current.state),
    };
    Ok(Json(status::update_component(&app, &actor, tenant, id, &input).await?.into()))
}

/// Removes a component from the page (incidents stay).
#[utoipa::path(delete, path = "/status/components/{id}", tag = "status", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn delete_component(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    status::delete_component(&app, &caller.actor(), caller.token.tenant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists incidents, open and resolved, by id.
#[utoipa::path(get, path = "/status/incidents", tag = "status", params(PageQuery),
    responses((status = 200, body = IncidentPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn list_incidents(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<IncidentPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(q.limit)?;
    let after = decode_id_cursor("status_incident", q.cursor.as_deref())?;
    let all = status::list_incidents(&app, &caller.actor(), caller.token.tenant_id, 500).await?;
    let (rows, next_cursor) = page_by_id(all, |i| i.id, "status_incident", after, limit);
    Ok(Json(IncidentPage { data: rows.into_iter().map(IncidentOut::from).collect(), next_cursor }))
}

/// Opens an incident with its first update.
#[utoipa::path(post, path = "/status/incidents", tag = "status", request_body = IncidentCreate,
    responses((status = 201, body = IncidentOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_incident_title`, `invalid_update_body`, `invalid_incident_state`, `invalid_incident_components`, `invalid_body`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn create_incident(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<IncidentCreate>,
) -> Result<(StatusCode, Json<IncidentOut>), ApiError> {
    caller.require(Scope::Write)?;
    let input = IncidentInput {
        title: input.title,
        body: input.body,
        state: input.state.map(|s| word(&s)).unwrap_or_default(),
        impact: word(&input.impact),
        components: input.components,
        notify_on_resolve: input.notify_on_resolve,
    };
    let i = status::open_incident(&app, &caller.actor(), caller.token.tenant_id, &input).await?;
    Ok((StatusCode::CREATED, Json(i.into())))
}

/// One incident with its updates, components and linked tickets.
#[utoipa::path(get, path = "/status/incidents/{id}", tag = "status", params(("id" = i64, Path)),
    responses((status = 200, body = IncidentDetailOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn get_incident(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<IncidentDetailOut>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(status::incident(&app, &caller.actor(), caller.token.tenant_id, id).await?.into()))
}

/// Posts an update (and moves the incident to its state); `resolved` closes the incident and,
/// with `notify_on_resolve`, queues a message to each linked ticket's customer.
#[utoipa::path(post, path = "/status/incidents/{id}/updates", tag = "status", params(("id" = i64, Path)),
    request_body = UpdateCreate,
    responses((status = 201, body = PostedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`incident_resolved`", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_update_body`, `invalid_body`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn post_update(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<UpdateCreate>,
) -> Result<(StatusCode, Json<PostedOut>), ApiError> {
    caller.require(Scope::Write)?;
    let posted =
        status::post_update(&app, &caller.actor(), caller.token.tenant_id, id, &word(&input.state), &input.body)
            .await?;
    Ok((StatusCode::CREATED, Json(posted.into())))
}

/// Links a ticket of the company to the incident (another company's ticket: 404).
#[utoipa::path(post, path = "/status/incidents/{id}/tickets", tag = "status", params(("id" = i64, Path)),
    request_body = TicketLink,
    responses((status = 200, body = LinkedTicketOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "No such incident or ticket in this company", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_ticket_reference`, `invalid_body`", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn link_ticket(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TicketLink>,
) -> Result<Json<LinkedTicketOut>, ApiError> {
    caller.require(Scope::Write)?;
    let reference = match (input.ticket_id, input.protocol) {
        (Some(t), None) => format!("#{t}"),
        (None, Some(p)) => p,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_ticket_reference",
                "give ticket_id or protocol (one of them)",
            ))
        }
    };
    Ok(Json(status::link_ticket(&app, &caller.actor(), caller.token.tenant_id, id, &reference).await?.into()))
}

/// Unlinks a ticket from the incident.
#[utoipa::path(delete, path = "/status/incidents/{id}/tickets/{ticket_id}", tag = "status",
    params(("id" = i64, Path), ("ticket_id" = i64, Path)),
    responses((status = 204, description = "Unlinked"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn unlink_ticket(
    caller: ApiCaller,
    State(app): State<Arc<App>>,
    ApiPath((id, ticket_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    status::unlink_ticket(&app, &caller.actor(), caller.token.tenant_id, id, ticket_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
