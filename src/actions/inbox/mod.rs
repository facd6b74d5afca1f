//! The agent inbox: listing and opening tickets, and their lifecycle — capture, assign,
//! transfer, close (farewell, CSAT question), reopen, mark as read, private notes, priority,
//! tags — plus automatic distribution of waiting tickets among a department's online members.
//!
//! Every action checks the caller's tenant and role, reads the ticket under the visibility rule
//! (`domain::inbox::can_see`: a ticket one may not see answers "not found"), applies the
//! lifecycle rule, writes the ticket and its history (`ticket_events`) in one transaction, and
//! publishes `ticket.updated` (`{ticket_id, change, status, department_id, assignee_id}`) to the
//! whole tenant: the inbox pages re-read the ticket under the viewer's rule, so an agent who may
//! not see it shows nothing.

use crate::actions::send::{queue_on_ticket, QueueMessage};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::inbox::{self, Priority, RuleError, TicketState, TicketStatus, Viewer};
use crate::domain::message::DeliveryStatus;
use crate::domain::outbound::OutboundContent;
use crate::domain::{TenantId, UserId};
use crate::store::events::StoredEvent;
use crate::store::inbox::{Cursor, Filter, Page, Tab, TicketView};
use crate::store::jobs::NewJob;
use crate::store::messages::{NewMessage, StoredMessage};
use crate::store::tags::{Tag, Target};
use crate::store::ticket_events::TicketEvent;
use crate::store::tickets::Ticket;
use crate::store::{self, Backend, Tx};

/// The built-in rating question when the tenant wrote none.
pub const DEFAULT_CSAT_QUESTION: &str =
    "Como você avalia o nosso atendimento? Responda com uma nota de 1 (ruim) a 5 (excelente).";
const NOTE_MAX: usize = 4096;

/// Who is looking, for the visibility rule. Another tenant answers "not found".
pub fn viewer(actor: &Actor, tenant: TenantId) -> ActionResult<Viewer> {
    let role = actor.role_of(tenant)?;
    Ok(Viewer { tenant, user: actor.user_id(), role })
}

mod distribution;
mod work;
pub(crate) use distribution::distribute_in_tx;
pub use work::*;

fn rule(e: RuleError) -> ActionError {
    ActionError::Conflict { code: e.code(), message: e.message().into() }
}

fn state(t: &Ticket) -> TicketState {
    TicketState {
        status: TicketStatus::parse(&t.status).unwrap_or(TicketStatus::Waiting),
        assignee: t.assignee_id.map(UserId),
    }
}

fn apply(t: &mut Ticket, s: TicketState) {
    t.status = s.status.as_str().to_string();
    t.assignee_id = s.assignee.map(|u| u.0);
}

/// Reads a ticket for a write, locked until commit on PostgreSQL, if the viewer may see it.
pub(crate) async fn load(app: &App, tx: &mut Tx, viewer: &Viewer, id: i64) -> ActionResult<Ticket> {
    let t =
        store::tickets::get_for_update(tx, app.db.backend, viewer.tenant, id).await?.ok_or(ActionError::NotFound)?;
    let member_of = match viewer.user {
        Some(u) if !viewer.sees_whole_tenant() => store::departments::of_user(&mut **tx, viewer.tenant, u.0).await?,
        _ => Vec::new(),
    };
    let s = state(&t);
    if !inbox::can_see(viewer, s.status, t.department_id, s.assignee, &member_of) {
        return Err(ActionError::NotFound);
    }
    Ok(t)
}

pub(crate) async fn publish(
    app: &App,
    tx: &mut Tx,
    t: &Ticket,
    change: &str,
    now: i64,
    events: &mut Vec<StoredEvent>,
) -> ActionResult<()> {
    let data = serde_json::json!({ "ticket_id": t.id, "change": change, "status": t.status,
        "department_id": t.department_id, "assignee_id": t.assignee_id });
    events.push(app.bus.record(tx, t.tenant_id, "ticket.updated", Audience::Tenant, data, now).await?);
    Ok(())
}

/// Commits, delivers the events, and returns the ticket as the viewer now sees it (a ticket
/// transferred away from an agent is no longer visible to them: then it is returned as the
/// tenant sees it, which the caller already knew).
pub(crate) async fn finish(
    app: &App,
    tx: Tx,
    viewer: &Viewer,
    id: i64,
    events: Vec<StoredEvent>,
) -> ActionResult<TicketView> {
    tx.commit().await?;
    app.bus.deliver(events);
    let whole = Viewer { tenant: viewer.tenant, user: None, role: crate::domain::Role::Admin };
    store::inbox::get(app.db.reader(), &whole, id).await?.ok_or(ActionError::NotFound)
}

fn person(actor: &Actor) -> ActionResult<&crate::store::users::User> {
    match actor {
        Actor::User(u) => Ok(u),
        _ => Err(ActionError::invalid("person_required", "only a person can do this")),
    }
}

// ---------------------------------------------------------------- reads

/// One page of the inbox for the caller. Agents see their own tickets and the waiting tickets
/// of their departments (and those with no department); supervisors and admins, the tenant.
pub async fn list_tickets(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    tab: Tab,
    filter: &Filter,
    after: Option<Cursor>,
    limit: i64,
) -> ActionResult<Page> {
    let viewer = viewer(actor, tenant)?;
    if let Some(text) = filter.search.as_deref() {
        crate::domain::validate::search(text).map_err(|m| ActionError::invalid("invalid_search", m))?;
    }
    Ok(store::inbox::list(app.db.reader(), &viewer, tab, filter, after, limit).await?)
}

/// One page of every ticket the caller may see, in any status (the REST API's list).
pub async fn list_all_tickets(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    filter: &Filter,
    after: Option<Cursor>,
    limit: i64,
) -> ActionResult<Page> {
    let viewer = viewer(actor, tenant)?;
    Ok(store::inbox::list_all(app.db.reader(), &viewer, filter, after, limit).await?)
}

/// A ticket's messages in id order, newest first or (`ascending`) oldest first, the `limit`
/// after message `after` in that order; and whether more follow.
pub async fn message_page(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    after: Option<i64>,
    ascending: bool,
    limit: i64,
) -> ActionResult<(Vec<StoredMessage>, bool)> {
    let viewer = viewer(actor, tenant)?;
    store::inbox::get(app.db.reader(), &viewer, ticket_id).await?.ok_or(ActionError::NotFound)?;
    Ok(store::messages::page(app.db.reader(), tenant, ticket_id, after, ascending, limit).await?)
}

/// One message, if the caller may see its ticket.
pub async fn get_message(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<StoredMessage> {
    let viewer = viewer(actor, tenant)?;
    let message = store::messages::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)?;
    store::inbox::get(app.db.reader(), &viewer, message.ticket_id).await?.ok_or(ActionError::NotFound)?;
    Ok(message)
}

/// A ticket with its tags and history.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TicketDetail {
    pub ticket: TicketView,
    pub tags: Vec<Tag>,
    pub history: Vec<TicketEvent>,
}

pub async fn get_ticket(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<TicketDetail> {
    let viewer = viewer(actor, tenant)?;
    let ticket = store::inbox::get(app.db.reader(), &viewer, id).await?.ok_or(ActionError::NotFound)?;
    let tags = store::tags::of(app.db.reader(), tenant, Target::Ticket(id)).await?;
    let history = store::ticket_events::list(app.db.reader(), tenant, id).await?;
    Ok(TicketDetail { ticket, tags, history })
}

/// A ticket's messages going back in time: the `limit` before message `before` (the newest
/// when `None`), oldest first, and whether older ones exist.
pub async fn list_messages(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    before: Option<i64>,
    limit: i64,
) -> ActionResult<(Vec<StoredMessage>, bool)> {
    let viewer = viewer(actor, tenant)?;
    store::inbox::get(app.db.reader(), &viewer, ticket_id).await?.ok_or(ActionError::NotFound)?;
    Ok(store::messages::page_before(app.db.reader(), tenant, ticket_id, before, limit).await?)
}

// ---------------------------------------------------------------- lifecycle

/// An agent takes a waiting ticket: open, theirs.
pub async fn capture(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<TicketView> {
    actor.require_sender_in(tenant)?;
    let me = person(actor)?.id;
    let viewer = viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut t = load(app, &mut tx, &viewer, id).await?;
    let before = state(&t);
    let after = inbox::capture(before, me).map_err(rule)?;
    let mut events = Vec::new();
    if after != before {
        apply(&mut t, after);
        store::tickets::save_state(&mut *tx, &t).await?;
        let e = TicketEvent {
            ticket_id: id,
            kind: "captured".into(),
            actor_user_id: Some(me.0),
            from_user_id: before.assignee.map(|u| u.0),
            to_user_id: Some(me.0),
            ..Default::default()
        };
        store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
        publish(app, &mut tx, &t, "captured", now, &mut events).await?;
    }
    finish(app, tx, &viewer, id, events).await
}

/// Checks that `user` may attend tickets of `department`: an active person of the tenant and,
/// for agents, a member of the department.
async fn check_target(tx: &mut Tx, tenant: TenantId, user: UserId, department: Option<i64>) -> ActionResult<()> {
    let target = store::users::get(&mut **tx, tenant, user)
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| ActionError::invalid("unknown_agent", "no active person with this id in this company"))?;
    if let (crate::domain::Role::Agent, Some(d)) = (target.role, department) {
        if !store::departments::is_member(&mut **tx, tenant, d, user.0).await? {
            return Err(ActionError::invalid(
                "not_in_department",
                "this agent is not a member of the ticket's department",
            ));
        }
    }
    Ok(())
}

/// A supervisor or admin gives a ticket to a person (open, theirs).
pub async fn assign(app: &App, actor: &Actor, tenant: TenantId, id: i64, to: UserId) -> ActionResult<TicketView> {
    actor.require_supervisor_of(tenant)?;
    let viewer = viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut t = load(app, &mut tx, &viewer, id).await?;
    let before = state(&t);
    let after = inbox::assign(before, to).map_err(rule)?;
    check_target(&mut tx, tenant, to, t.department_id).await?;
    apply(&mut t, after);
    store::tickets::save_state(&mut *tx, &t).await?;
    let e = TicketEvent {
        ticket_id: id,
        kind: "assigned".into(),
        actor_user_id: actor.user_id().map(|u| u.0),
        from_user_id: before.assignee.map(|u| u.0),
        to_user_id: Some(to.0),
        ..Default::default()
    };
    store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
    let mut events = Vec::new();
    publish(app, &mut tx, &t, "assigned", now, &mut events).await?;
    finish(app, tx, &viewer, id, events).await
}

/// Where a transfer goes: a department, a person, or both; with an optional note.
#[derive(Clone, Debug, Default)]
pub struct Transfer {
    pub department_id: Option<i64>,
    pub user_id: Option<UserId>,
    pub note: Option<String>,
}

/// Moves a ticket to another department and/or person. To a person: open, theirs. Only to a
/// department: waiting there, then handed out if the department distributes automatically.
/// The history keeps where it came from, where it went, and the note.
pub async fn transfer(app: &App, actor: &Actor, tenant: TenantId, id: i64, to: Transfer) -> ActionResult<TicketView> {
    actor.require_agent_in(tenant)?;
    let viewer = viewer(actor, tenant)?;
    if to.department_id.is_none() && to.user_id.is_none() {
        return Err(ActionError::invalid("invalid_transfer", "choose a department or a person to transfer to"));
    }
    let note = to.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
    if note.as_ref().is_some_and(|n| n.chars().count() > NOTE_MAX) {
        return Err(ActionError::invalid("invalid_note", "the note is too long (4096 characters at most)"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut t = load(app, &mut tx, &viewer, id).await?;
    let before = state(&t);
    let after = inbox::transfer(before, to.user_id).map_err(rule)?;
    if let Some(d) = to.department_id {
        store::departments::get(&mut *tx, tenant, d)
            .await?
            .ok_or_else(|| ActionError::invalid("unknown_department", "no such department in this company"))?;
    }
    let department = to.department_id.or(t.department_id);
    if let Some(u) = to.user_id {
        check_target(&mut tx, tenant, u, department).await?;
    }
    let from_department = t.department_id;
    apply(&mut t, after);
    t.department_id = department;
    if after.status == TicketStatus::Waiting {
        t.queued_at = Some(now);
    }
    store::tickets::save_state(&mut *tx, &t).await?;
    if department != from_department {
        store::sla::mark_stale(&mut *tx, tenant, id).await?; // its deadlines follow the new department's hours
    }
    let e = TicketEvent {
        ticket_id: id,
        kind: "transferred".into(),
        actor_user_id: actor.user_id().map(|u| u.0),
        from_department_id: from_department,
        to_department_id: department,
        from_user_id: before.assignee.map(|u| u.0),
        to_user_id: to.user_id.map(|u| u.0),
        note,
        ..Default::default()
    };
    store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
    let mut events = Vec::new();
    if let (TicketStatus::Waiting, Some(d)) = (after.status, department) {
        if let Some(agent) = distribute_in_tx(&mut tx, app.db.backend, tenant, id, d, now).await? {
            t.status = TicketStatus::Open.as_str().into();
            t.assignee_id = Some(agent);
        }
    }
    publish(app, &mut tx, &t, "transferred", now, &mut events).await?;
    finish(app, tx, &viewer, id, events).await
}

/// What to say when closing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Farewell {
    /// Nothing.
    #[default]
    None,
    /// The tenant's farewell text (nothing when it has none).
    Default,
    /// This text.
    Text(String),
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Closed {
    pub ticket: TicketView,
    pub farewell_message_id: Option<i64>,
    pub csat_message_id: Option<i64>,
    /// Why the farewell or rating question was not sent (`outside_window`,
    /// `connection_inactive`), when it was not.
    pub not_sent: Option<&'static str>,
}

/// Closes a ticket. The farewell (variables filled, signed like any agent text) and, when the
/// tenant enables CSAT, the rating question are queued in the same transaction, through the same
/// path as any send; outside the 24-hour window (or on an unusable connection) they are skipped
/// and the close still happens.
pub async fn close(app: &App, actor: &Actor, tenant: TenantId, id: i64, farewell: Farewell) -> ActionResult<Closed> {
    // Closing is ticket work; saying goodbye is sending, which needs the right to send.
    if farewell == Farewell::None {
        actor.require_agent_in(tenant)?;
    } else {
        actor.require_sender_in(tenant)?;
    }
    let viewer = viewer(actor, tenant)?;
    if let Farewell::Text(text) = &farewell {
        if text.chars().count() > 4096 {
            return Err(ActionError::invalid("invalid_farewell", "the farewell is too long (4096 characters at most)"));
        }
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut t = load(app, &mut tx, &viewer, id).await?;
    let after = inbox::close(state(&t)).map_err(rule)?;
    let settings = store::settings::get(&mut *tx, tenant).await?;
    let text = match farewell {
        Farewell::None => None,
        Farewell::Default => Some(settings.farewell.clone()),
        Farewell::Text(text) => Some(text),
    }
    .map(|s| s.trim().to_string())
    .filter(|s| !s.is_empty());
    let mut events = Vec::new();
    let (mut farewell_message_id, mut csat_message_id, mut not_sent) = (None, None, None);
    if text.is_some() || settings.csat_enabled {
        let connection = store::connections::get(&mut *tx, tenant, t.connection_id).await?;
        let usable = connection.as_ref().is_some_and(|c| c.active && !c.needs_reauth);
        let in_window = connection
            .as_ref()
            .is_some_and(|c| crate::domain::channel::free_form_allowed(&c.kind, t.last_inbound_at, now));
        if !usable {
            not_sent = Some("connection_inactive");
        } else if !in_window {
            not_sent = Some("outside_window");
        } else if !crate::domain::consent::customer_started(t.last_inbound_at, now)
            && store::contacts::get(&mut *tx, t.tenant_id, t.contact_id)
                .await?
                .is_some_and(|c| c.consent() == crate::domain::contacts::Consent::OptedOut)
        {
            // An opted-out customer gets nothing outside their own conversation, not even a farewell.
            not_sent = Some("contact_opted_out");
        } else {
            let sender = match actor {
                Actor::User(u) => Some(u),
                _ => None,
            };
            if let Some(text) = text {
                let body = fill_for(&mut tx, &t, sender.map(|u| u.name.as_str()).unwrap_or(""), &text).await?;
                let m = QueueMessage {
                    marketing: false,
                    content: OutboundContent::Text { body, preview_url: false },
                    reply_to: None,
                    idempotency_key: None,
                    sender,
                    sign: true,
                    automatic: false,
                };
                farewell_message_id = queue_on_ticket(app, &mut tx, &t, m, now, &mut events).await?;
            }
            if settings.csat_enabled {
                let question = if settings.csat_question.trim().is_empty() {
                    DEFAULT_CSAT_QUESTION.to_string()
                } else {
                    settings.csat_question.clone()
                };
                let m = QueueMessage {
                    marketing: false,
                    content: OutboundContent::Text { body: question, preview_url: false },
                    reply_to: None,
                    idempotency_key: None,
                    sender: None,
                    sign: false,
                    automatic: false,
                };
                csat_message_id = queue_on_ticket(app, &mut tx, &t, m, now, &mut events).await?;
                t.csat_requested_at = Some(now);
                t.csat_rating = None;
            }
        }
    }
    apply(&mut t, after);
    t.closed_at = Some(now);
    store::tickets::save_state(&mut *tx, &t).await?;
    super::vault::destroy_on_close(&mut tx, tenant, id, &actor.label(), now).await?;
    let data = serde_json::json!({ "farewell": farewell_message_id.is_some(), "csat": csat_message_id.is_some(),
        "not_sent": not_sent });
    let e = TicketEvent {
        ticket_id: id,
        kind: "closed".into(),
        actor_user_id: actor.user_id().map(|u| u.0),
        from_user_id: t.assignee_id,
        data: data.to_string(),
        ..Default::default()
    };
    store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
    publish(app, &mut tx, &t, "closed", now, &mut events).await?;
    let queued = farewell_message_id.is_some() || csat_message_id.is_some();
    let ticket = finish(app, tx, &viewer, id, events).await?;
    if queued {
        app.jobs_wakeup.notify_one();
    }
    Ok(Closed { ticket, farewell_message_id, csat_message_id, not_sent })
}

/// Fills quick-reply variables for a ticket.
async fn fill_for(tx: &mut Tx, t: &Ticket, agent: &str, text: &str) -> ActionResult<String> {
    let contact = store::contacts::get(&mut **tx, t.tenant_id, t.contact_id).await?.ok_or(ActionError::NotFound)?;
    Ok(super::quick_replies::fill_for_person(text, &contact, t, agent))
}

/// Reopens a closed ticket: open and the caller's (a token or the operator: waiting again).
/// Refused when the contact already has a newer ticket on that connection.
pub async fn reopen(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<TicketView> {
    actor.require_agent_in(tenant)?;
    let viewer = viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut t = load(app, &mut tx, &viewer, id).await?;
    let before = state(&t);
    let after = inbox::reopen(before, actor.user_id()).map_err(rule)?;
    if store::tickets::find_current(&mut *tx, tenant, t.contact_id, t.connection_id).await?.is_some() {
        return Err(ActionError::Conflict {
            code: "ticket_superseded",
            message: "this contact already has a ticket in progress on this number".into(),
        });
    }
    apply(&mut t, after);
    t.closed_at = None;
    t.csat_requested_at = None;
    t.reopened_count += 1;
    if after.status == TicketStatus::Waiting {
        t.queued_at = Some(now);
    }
    store::tickets::save_state(&mut *tx, &t).await?;
    let e = TicketEvent {
        ticket_id: id,
        kind: "reopened".into(),
        actor_user_id: actor.user_id().map(|u| u.0),
        from_user_id: before.assignee.map(|u| u.0),
        to_user_id: t.assignee_id,
        ..Default::default()
    };
    store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
    let mut events = Vec::new();
    publish(app, &mut tx, &t, "reopened", now, &mut events).await?;
    finish(app, tx, &viewer, id, events).await
}
