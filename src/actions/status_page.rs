//! The status page ("Status do serviço"): supervisors and admins keep the company's components
//! and incidents (opening, updating, resolving, linking tickets), every change audited; the
//! public page and feed read it without login; the chatbot tells a customer about an open
//! incident once per ticket; resolving can tell the customers of linked tickets.

use crate::actions::send::{queue_on_ticket, QueueMessage};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::outbound::OutboundContent;
use crate::domain::status_page::{self as rules, ComponentState, IncidentState, Invalid};
use crate::domain::TenantId;
use crate::store::status_page::{self as db, Component, Incident, LinkedTicket, StatusSettings, Update};
use crate::store::{self, Tx};

mod public;
pub use public::{chatbot_notice, feed, public_page, public_url, PublicFeed, PublicIncident, PublicPage};

fn refused(e: Invalid) -> ActionError {
    ActionError::Invalid { code: e.code, message: e.message }
}

/// How an update's author is shown to staff (never on the public page).
fn author(actor: &Actor) -> String {
    match actor {
        Actor::User(u) => u.name.clone(),
        Actor::Token(t) => format!("API ({})", t.name),
        Actor::Operator => "operator".into(),
    }
}

async fn audit(
    tx: &mut Tx,
    tenant: TenantId,
    actor: &Actor,
    action: &str,
    subject: String,
    details: serde_json::Value,
    now: i64,
) -> ActionResult<()> {
    store::audit::record(&mut **tx, tenant, &actor.label(), action, &subject, &details, now).await?;
    Ok(())
}

// ---------------------------------------------------------------- settings

pub async fn settings(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<StatusSettings> {
    actor.require_supervisor_of(tenant)?;
    Ok(db::settings(app.db.reader(), tenant).await?)
}

/// Turns the public page and the chatbot's notice on or off.
pub async fn save_settings(app: &App, actor: &Actor, tenant: TenantId, s: StatusSettings) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    db::save_settings(&mut *tx, tenant, s, now).await?;
    let details = serde_json::json!({ "public_enabled": s.public_enabled, "chatbot_notice": s.chatbot_notice });
    audit(&mut tx, tenant, actor, "status.settings_saved", "status_settings".into(), details, now).await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- components

/// A component as typed.
#[derive(Clone, Debug)]
pub struct ComponentInput {
    pub name: String,
    pub description: String,
    pub position: i64,
    pub state: String,
}

pub async fn list_components(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<Component>> {
    actor.require_supervisor_of(tenant)?;
    Ok(db::components(app.db.reader(), tenant).await?)
}

pub async fn get_component(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Component> {
    actor.require_supervisor_of(tenant)?;
    db::component_by_id(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

pub async fn create_component(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    input: &ComponentInput,
) -> ActionResult<Component> {
    actor.require_supervisor_of(tenant)?;
    let f = rules::component(&input.name, &input.description, input.position, &input.state).map_err(refused)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if db::count_components(&mut *tx, tenant).await? >= rules::MAX_COMPONENTS as i64 {
        return Err(ActionError::Conflict {
            code: "too_many_components",
            message: format!("a status page has at most {} components", rules::MAX_COMPONENTS),
        });
    }
    let row =
        db::ComponentRow { name: &f.name, description: &f.description, position: f.position, state: f.state.as_str() };
    let id = db::insert_component(&mut *tx, tenant, &row, now).await?;
    let details = serde_json::json!({ "name": f.name, "state": f.state.as_str() });
    audit(&mut tx, tenant, actor, "status.component_created", format!("status_component:{id}"), details, now).await?;
    tx.commit().await?;
    Ok(Component {
        id,
        name: f.name,
        description: f.description,
        position: f.position,
        state: f.state.as_str().into(),
        updated_at: now,
    })
}

pub async fn update_component(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    input: &ComponentInput,
) -> ActionResult<Component> {
    actor.require_supervisor_of(tenant)?;
    let f = rules::component(&input.name, &input.description, input.position, &input.state).map_err(refused)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let Some(before) = db::component_by_id(&mut *tx, tenant, id).await? else { return Err(ActionError::NotFound) };
    let row =
        db::ComponentRow { name: &f.name, description: &f.description, position: f.position, state: f.state.as_str() };
    if !db::update_component(&mut *tx, tenant, id, &row, now).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "name": f.name, "state": f.state.as_str(), "previous_state": before.state });
    audit(&mut tx, tenant, actor, "status.component_updated", format!("status_component:{id}"), details, now).await?;
    tx.commit().await?;
    Ok(Component {
        id,
        name: f.name,
        description: f.description,
        position: f.position,
        state: f.state.as_str().into(),
        updated_at: now,
    })
}

pub async fn delete_component(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let Some(before) = db::component_by_id(&mut *tx, tenant, id).await? else { return Err(ActionError::NotFound) };
    if !db::delete_component(&mut tx, tenant, id).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "name": before.name });
    audit(&mut tx, tenant, actor, "status.component_deleted", format!("status_component:{id}"), details, now).await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- incidents

/// An incident as opened: its title, first text, state, impact and the components it affects.
#[derive(Clone, Debug, Default)]
pub struct IncidentInput {
    pub title: String,
    pub body: String,
    pub state: String,
    pub impact: String,
    pub components: Vec<i64>,
    pub notify_on_resolve: bool,
}

/// An incident with its timeline (newest first), components and linked tickets, for staff.
#[derive(Clone, Debug)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub updates: Vec<Update>,
    pub components: Vec<i64>,
    pub tickets: Vec<LinkedTicket>,
}

/// Incidents of the company, open and resolved, newest first.
pub async fn list_incidents(app: &App, actor: &Actor, tenant: TenantId, limit: i64) -> ActionResult<Vec<Incident>> {
    actor.require_supervisor_of(tenant)?;
    Ok(db::incidents_since(app.db.reader(), tenant, 0, limit.clamp(1, 500)).await?)
}

pub async fn incident(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<IncidentDetail> {
    actor.require_supervisor_of(tenant)?;
    let ex = app.db.reader();
    let incident = db::incident_by_id(ex, tenant, id).await?.ok_or(ActionError::NotFound)?;
    let updates = db::updates_of(ex, tenant, id).await?;
    let components =
        db::component_links(ex, tenant).await?.into_iter().filter(|(i, _)| *i == id).map(|(_, c)| c).collect();
    let tickets = db::linked_tickets(ex, tenant, id).await?;
    Ok(IncidentDetail { incident, updates, components, tickets })
}

pub async fn open_incident(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    input: &IncidentInput,
) -> ActionResult<Incident> {
    actor.require_supervisor_of(tenant)?;
    let title = rules::title(&input.title).map_err(refused)?;
    let body = rules::body(&input.body).map_err(refused)?;
    let state = match input.state.trim() {
        "" => IncidentState::Investigating,
        s => rules::incident_state(s).map_err(refused)?,
    };
    if !state.is_open() {
        return Err(ActionError::invalid("invalid_incident_state", "an incident opens in an open state"));
    }
    let impact = rules::impact(&input.impact).map_err(refused)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let known: Vec<i64> = db::components(&mut *tx, tenant).await?.iter().map(|c| c.id).collect();
    let mut components = input.components.clone();
    components.sort_unstable();
    components.dedup();
    if let Some(unknown) = components.iter().find(|c| !known.contains(c)) {
        return Err(ActionError::invalid(
            "invalid_incident_components",
            format!("component {unknown} is not one of this company's"),
        ));
    }
    let new = db::NewIncident {
        title: &title,
        state: state.as_str(),
        impact: impact.as_str(),
        notify_on_resolve: input.notify_on_resolve,
    };
    let id = db::insert_incident(&mut *tx, tenant, &new, now).await?;
    db::link_components(&mut tx, tenant, id, &components).await?;
    db::insert_update(&mut *tx, tenant, id, state.as_str(), &body, &author(actor), now).await?;
    let details = serde_json::json!({
        "title": title, "state": state.as_str(), "impact": impact.as_str(), "components": components,
        "notify_on_resolve": input.notify_on_resolve,
    });
    audit(&mut tx, tenant, actor, "status.incident_opened", format!("status_incident:{id}"), details, now).await?;
    tx.commit().await?;
    db::incident_by_id(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// What an update did: the update, and when it resolved the incident with notification on,
/// how many customers were told and how many could not be (outside the 24-hour window,
/// opted out, connection off).
#[derive(Clone, Debug)]
pub struct Posted {
    pub update: Update,
    pub notified: usize,
    pub not_notified: usize,
}

/// Adds an update to an open incident and moves it to the update's state; `resolved` closes
/// it (and, when the incident asks for it, queues a pt-BR message to each linked ticket's
/// customer in the same transaction, so none is lost). A resolved incident takes no more.
pub async fn post_update(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    state: &str,
    body: &str,
) -> ActionResult<Posted> {
    actor.require_supervisor_of(tenant)?;
    let state = rules::incident_state(state).map_err(refused)?;
    let body = rules::body(body).map_err(refused)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let Some(incident) = db::incident_by_id(&mut *tx, tenant, id).await? else { return Err(ActionError::NotFound) };
    let resolving = !state.is_open();
    if !db::set_incident_state(&mut *tx, tenant, id, state.as_str(), resolving, now).await? {
        return Err(ActionError::Conflict {
            code: "incident_resolved",
            message: "this incident is resolved; open a new one".into(),
        });
    }
    let who = author(actor);
    let update_id = db::insert_update(&mut *tx, tenant, id, state.as_str(), &body, &who, now).await?;
    let mut events = Vec::new();
    let (mut notified, mut not_notified) = (0, 0);
    if resolving && incident.notify_on_resolve {
        let slug = store::tenants::get(&mut *tx, tenant).await?.map(|t| t.slug).unwrap_or_default();
        let text = rules::resolved_text(&incident.title, &public_url(app, &slug));
        for linked in db::linked_tickets(&mut *tx, tenant, id).await? {
            let Some(ticket) = store::tickets::get(&mut *tx, tenant, linked.ticket_id).await? else { continue };
            // One message per incident and ticket, even if this ran twice.
            let key = format!("status-resolved:{id}:{}", ticket.id);
            let m = QueueMessage {
                marketing: false,
                content: OutboundContent::Text { body: text.clone(), preview_url: false },
                reply_to: None,
                idempotency_key: Some(&key),
                sender: None,
                sign: false,
                automatic: true,
            };
            match queue_on_ticket(app, &mut tx, &ticket, m, now, &mut events).await {
                Ok(_) => notified += 1,
                // Refused before anything was written (window, consent, connection): counted.
                Err(ActionError::Internal(e)) => return Err(ActionError::Internal(e)),
                Err(e) => {
                    tracing::info!(
                        ticket.id = ticket.id,
                        reason = e.code(),
                        "resolved incident not told to the customer"
                    );
                    not_notified += 1;
                }
            }
        }
    }
    let action = if resolving { "status.incident_resolved" } else { "status.incident_updated" };
    let details = serde_json::json!({
        "state": state.as_str(), "previous_state": incident.state, "notified": notified, "not_notified": not_notified,
    });
    audit(&mut tx, tenant, actor, action, format!("status_incident:{id}"), details, now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    app.jobs_wakeup.notify_one();
    let update =
        Update { id: update_id, incident_id: id, state: state.as_str().into(), body, author: who, created_at: now };
    Ok(Posted { update, notified, not_notified })
}

/// Links a ticket of the company (by protocol or number) to an incident; another company's
/// ticket answers "not found". Linking twice is fine.
pub async fn link_ticket(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    reference: &str,
) -> ActionResult<LinkedTicket> {
    actor.require_supervisor_of(tenant)?;
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 40 {
        return Err(ActionError::invalid("invalid_ticket_reference", "give the ticket's protocol or number"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if db::incident_by_id(&mut *tx, tenant, id).await?.is_none() {
        return Err(ActionError::NotFound);
    }
    let Some(ticket_id) = db::find_ticket(&mut tx, tenant, reference).await? else { return Err(ActionError::NotFound) };
    if db::link_ticket(&mut *tx, tenant, id, ticket_id, now).await? {
        let details = serde_json::json!({ "ticket_id": ticket_id });
        audit(&mut tx, tenant, actor, "status.ticket_linked", format!("status_incident:{id}"), details, now).await?;
    }
    let linked = db::linked_tickets(&mut *tx, tenant, id).await?.into_iter().find(|l| l.ticket_id == ticket_id);
    tx.commit().await?;
    linked.ok_or(ActionError::NotFound)
}

pub async fn unlink_ticket(app: &App, actor: &Actor, tenant: TenantId, id: i64, ticket_id: i64) -> ActionResult<()> {
    actor.require_supervisor_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !db::unlink_ticket(&mut *tx, tenant, id, ticket_id).await? {
        return Err(ActionError::NotFound);
    }
    let details = serde_json::json!({ "ticket_id": ticket_id });
    audit(&mut tx, tenant, actor, "status.ticket_unlinked", format!("status_incident:{id}"), details, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A component's state as stored (a bad stored word reads as operational).
pub fn component_state(s: &str) -> ComponentState {
    ComponentState::parse(s).unwrap_or(ComponentState::Operational)
}
