//! Service levels: pre-analysis (urgency and complexity), "Abrir chamado", waiting on the
//! customer, the company's SLA policies, and the once-a-minute scan that times new tickets,
//! resumes clocks the customer restarted and raises near-breach and breach alerts.
//!
//! Deadlines are computed once and stored (`ticket_sla`); what changes them (classification,
//! department, policy, a pause ending) computes them again. The rules are `domain::sla`.

use crate::actions::inbox;
use crate::actions::send::{self, SendRequest, SendTarget};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::inbox::Priority;
use crate::domain::outbound::OutboundContent;
use crate::domain::reports::BusinessClock;
use crate::domain::sla::{self as rules, Complexity, Deadline, Hours, Level, Matrix, Urgency};
use crate::domain::TenantId;
use crate::store::sla::TicketSla;
use crate::store::ticket_events::TicketEvent;
use crate::store::tickets::Ticket;
use crate::store::{self, Tx};

pub const WARNING_EVENT: &str = "ticket.sla_warning";
pub const BREACH_EVENT: &str = "ticket.sla_breached";

/// Alert bits of `ticket_sla.alerts`.
const RESPONSE_WARNED: i64 = 1;
const RESPONSE_BREACHED: i64 = 2;
const RESOLUTION_WARNED: i64 = 4;
const RESOLUTION_BREACHED: i64 = 8;

/// The message "Solicitar arquivos" sends.
mod scan;
pub use scan::{scan, ScanReport};

pub const REQUEST_FILES_TEXT: &str = "Para seguirmos com o seu atendimento, por favor envie capturas de tela ou os \
    arquivos relacionados ao problema por aqui mesmo.";

// ---------------------------------------------------------------- policies

/// The matrix that times a ticket of `department`: the department's own, else the company's;
/// None when the company has no policy.
pub fn matrix_for(policies: &[store::sla::Policy], department: Option<i64>) -> Option<Matrix> {
    let own = department.and_then(|d| policies.iter().find(|p| p.department_id == d));
    let policy = own.or_else(|| policies.iter().find(|p| p.department_id == 0))?;
    Matrix::parse(&policy.matrix).ok()
}

/// A policy as pages and the API show it.
#[derive(Clone, Debug)]
pub struct PolicyView {
    /// None: the company's.
    pub department_id: Option<i64>,
    pub matrix: Matrix,
    pub updated_at: i64,
}

pub async fn policies(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<PolicyView>> {
    actor.require_supervisor_of(tenant)?;
    let rows = store::sla::policies(app.db.reader(), tenant).await?;
    Ok(rows
        .into_iter()
        .filter_map(|p| {
            let matrix = Matrix::parse(&p.matrix).ok()?;
            Some(PolicyView {
                department_id: (p.department_id != 0).then_some(p.department_id),
                matrix,
                updated_at: p.updated_at,
            })
        })
        .collect())
}

/// Saves the company's policy (`department_id` None) or a department's own; every open ticket
/// is timed again by the next scan.
pub async fn save_policy(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    department_id: Option<i64>,
    matrix: &Matrix,
) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    if matrix.0.is_empty() {
        return Err(ActionError::invalid("empty_policy", "give at least one target"));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if let Some(d) = department_id {
        store::departments::get(&mut *tx, tenant, d)
            .await?
            .ok_or_else(|| ActionError::invalid("unknown_department", "no such department in this company"))?;
    }
    store::sla::put_policy(&mut *tx, tenant, department_id.unwrap_or(0), &matrix.to_json(), now).await?;
    store::sla::mark_company_stale(&mut tx, tenant, now).await?;
    let subject = department_id.map_or("sla:company".to_string(), |d| format!("sla:department:{d}"));
    store::audit::record(
        &mut *tx,
        tenant,
        &actor.label(),
        "sla.policy_saved",
        &subject,
        &serde_json::json!({ "matrix": matrix.to_json() }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a policy (a department's: it follows the company's again; the company's: tickets
/// are no longer timed, unless their department has its own).
pub async fn delete_policy(app: &App, actor: &Actor, tenant: TenantId, department_id: Option<i64>) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !store::sla::delete_policy(&mut *tx, tenant, department_id.unwrap_or(0)).await? {
        return Err(ActionError::NotFound);
    }
    store::sla::mark_company_stale(&mut tx, tenant, now).await?;
    let subject = department_id.map_or("sla:company".to_string(), |d| format!("sla:department:{d}"));
    store::audit::record(&mut *tx, tenant, &actor.label(), "sla.policy_deleted", &subject, &serde_json::json!({}), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- timing

/// Computes a row's deadlines for its ticket as it stands, keeping the alerts already raised
/// that still hold, and the next alert to raise.
pub(super) fn retime(s: &mut TicketSla, t: &Ticket, matrix: Option<&Matrix>, clock: &BusinessClock, now: i64) {
    let urgency = s.urgency.as_deref().and_then(Urgency::parse);
    let complexity = s.complexity.as_deref().and_then(Complexity::parse);
    let target = matrix.map(|m| m.target(urgency, complexity)).unwrap_or_default();
    let h = Hours::of(clock, t.department_id);
    let response = target.first_response_minutes.and_then(|m| rules::deadline(&h, s.started_at, m, 0));
    let resolution = target.resolution_minutes.and_then(|m| rules::deadline(&h, s.started_at, m, s.paused_ms));
    (s.response_warn_at, s.response_due_at) = (response.map(|d| d.warn_at), response.map(|d| d.due_at));
    (s.resolution_warn_at, s.resolution_due_at) = (resolution.map(|d| d.warn_at), resolution.map(|d| d.due_at));
    // An alert stays raised only while its instant is still behind us (a lower urgency may
    // move a deadline back into the future).
    let keep = |bit: i64, at: Option<i64>| if at.is_some_and(|a| a <= now) { bit } else { 0 };
    s.alerts &= keep(RESPONSE_WARNED, s.response_warn_at)
        | keep(RESPONSE_BREACHED, s.response_due_at)
        | keep(RESOLUTION_WARNED, s.resolution_warn_at)
        | keep(RESOLUTION_BREACHED, s.resolution_due_at);
    if s.alerts & (RESPONSE_BREACHED | RESOLUTION_BREACHED) == 0 {
        s.breached_at = None;
    }
    s.next_alert_at = next_alert(s, t);
}

/// The earliest alert still to raise; None when the ticket is closed or all are raised.
pub(super) fn next_alert(s: &TicketSla, t: &Ticket) -> Option<i64> {
    if t.status == "closed" {
        return None;
    }
    let mut pending = Vec::new();
    if t.first_agent_reply_at.is_none() {
        pending.push((RESPONSE_WARNED, s.response_warn_at));
        pending.push((RESPONSE_BREACHED, s.response_due_at));
    }
    if s.paused_at.is_none() {
        pending.push((RESOLUTION_WARNED, s.resolution_warn_at));
        pending.push((RESOLUTION_BREACHED, s.resolution_due_at));
    }
    pending.into_iter().filter(|(bit, _)| s.alerts & bit == 0).filter_map(|(_, at)| at).min()
}

pub(super) async fn timing_inputs(
    app: &App,
    tenant: TenantId,
) -> ActionResult<(Vec<store::sla::Policy>, BusinessClock)> {
    let policies = store::sla::policies(app.db.reader(), tenant).await?;
    let clock = store::reports::clock(app.db.reader(), tenant).await?;
    Ok((policies, clock))
}

/// Times a ticket's row again inside the caller's transaction.
async fn retime_row(app: &App, s: &mut TicketSla, t: &Ticket, now: i64) -> ActionResult<()> {
    let (policies, clock) = timing_inputs(app, TenantId(s.tenant_id)).await?;
    let matrix = matrix_for(&policies, t.department_id);
    retime(s, t, matrix.as_ref(), &clock, now);
    Ok(())
}

fn fresh_row(t: &Ticket) -> TicketSla {
    TicketSla { ticket_id: t.id, tenant_id: t.tenant_id.0, started_at: t.created_at, ..Default::default() }
}

// ---------------------------------------------------------------- pre-analysis

/// What pre-analysis sets; None leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct Classification {
    pub urgency: Option<Urgency>,
    pub complexity: Option<Complexity>,
    pub priority: Option<Priority>,
}

async fn history(
    tx: &mut Tx,
    tenant: TenantId,
    actor: &Actor,
    ticket_id: i64,
    kind: &str,
    data: serde_json::Value,
    now: i64,
) -> ActionResult<()> {
    let e = TicketEvent {
        ticket_id,
        kind: kind.into(),
        actor_user_id: actor.user_id().map(|u| u.0),
        data: data.to_string(),
        ..Default::default()
    };
    store::ticket_events::insert(&mut **tx, tenant, &e, now).await?;
    Ok(())
}

/// Sets a ticket's urgency, complexity and priority (pre-analysis, a chatbot node, the API):
/// each change goes into the ticket's history and the deadlines are computed again.
pub async fn classify(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    c: &Classification,
) -> ActionResult<TicketSla> {
    actor.require_agent_in(tenant)?;
    if let Some(p) = c.priority {
        inbox::set_priority(app, actor, tenant, ticket_id, p).await?;
    }
    let viewer = inbox::viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let t = inbox::load(app, &mut tx, &viewer, ticket_id).await?;
    let mut s = store::sla::get(&mut *tx, tenant, ticket_id).await?.unwrap_or_else(|| fresh_row(&t));
    let mut changed = false;
    if let Some(u) = c.urgency.map(Urgency::as_str).filter(|u| s.urgency.as_deref() != Some(*u)) {
        let data = serde_json::json!({ "from": s.urgency, "to": u });
        history(&mut tx, tenant, actor, ticket_id, "urgency", data, now).await?;
        s.urgency = Some(u.into());
        changed = true;
    }
    if let Some(x) = c.complexity.map(Complexity::as_str).filter(|x| s.complexity.as_deref() != Some(*x)) {
        let data = serde_json::json!({ "from": s.complexity, "to": x });
        history(&mut tx, tenant, actor, ticket_id, "complexity", data, now).await?;
        s.complexity = Some(x.into());
        changed = true;
    }
    if changed {
        retime_row(app, &mut s, &t, now).await?;
        store::sla::save(&mut *tx, &s, now).await?;
        let mut events = Vec::new();
        inbox::publish(app, &mut tx, &t, "sla", now, &mut events).await?;
        tx.commit().await?;
        app.bus.deliver(events);
    }
    Ok(s)
}

/// "Abrir chamado": the conversation becomes a support ticket (same history and protocol) with
/// its urgency and complexity, and the customer is told the protocol and the resolution
/// deadline. The message goes through the usual send rules; when they refuse it (the 24-hour
/// window closed), the ticket is opened all the same and the refusal is returned beside it.
pub async fn open_support_ticket(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    c: &Classification,
) -> ActionResult<(TicketSla, Option<ActionError>)> {
    let mut s = classify(app, actor, tenant, ticket_id, c).await?;
    let viewer = inbox::viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let t = inbox::load(app, &mut tx, &viewer, ticket_id).await?;
    if let Some(current) = store::sla::get(&mut *tx, tenant, ticket_id).await? {
        s = current;
    }
    if s.support {
        return Err(ActionError::Conflict {
            code: "support_ticket_open",
            message: "this is already a support ticket".into(),
        });
    }
    s.support = true;
    if s.resolution_due_at.is_none() {
        retime_row(app, &mut s, &t, now).await?;
    }
    store::sla::save(&mut *tx, &s, now).await?;
    let data = serde_json::json!({ "urgency": s.urgency, "complexity": s.complexity, "resolution_due_at": s.resolution_due_at });
    history(&mut tx, tenant, actor, ticket_id, "support_opened", data, now).await?;
    let mut events = Vec::new();
    inbox::publish(app, &mut tx, &t, "sla", now, &mut events).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    let zone = store::tenants::get(app.db.reader(), tenant).await?.map(|c| c.time_zone).unwrap_or_default();
    let body = confirmation_text(t.protocol.as_deref(), s.resolution_due_at, &zone);
    let refused = say(app, actor, tenant, ticket_id, body).await.err();
    Ok((s, refused))
}

/// The customer's confirmation of a support ticket, in Portuguese.
pub fn confirmation_text(protocol: Option<&str>, due_at: Option<i64>, zone: &str) -> String {
    let mut text = match protocol {
        Some(p) => format!("Abrimos o chamado nº {p} para a sua solicitação."),
        None => "Abrimos um chamado para a sua solicitação.".to_string(),
    };
    let tz = crate::domain::hours::parse_tz(zone).unwrap_or(chrono_tz::America::Sao_Paulo);
    if let Some(local) = due_at.and_then(|at| crate::domain::hours::wall_clock(tz, at)) {
        text.push_str(&format!(" O prazo de solução é até {}.", local.format("%d/%m/%Y às %H:%M")));
    }
    text.push_str(" Responderemos por aqui.");
    text
}

async fn say(app: &App, actor: &Actor, tenant: TenantId, ticket_id: i64, body: String) -> ActionResult<()> {
    let req = SendRequest {
        tenant,
        target: SendTarget::Ticket(ticket_id),
        content: OutboundContent::Text { body, preview_url: false },
        reply_to: None,
        idempotency_key: None,
        marketing: false,
    };
    send::send_message(app, actor, req).await.map(|_| ())
}

/// "Aguardando cliente" (on) stops the resolution clock until the customer writes (the scan
/// resumes it at their message) or a person resumes it (off).
pub async fn await_customer(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    ticket_id: i64,
    on: bool,
) -> ActionResult<TicketSla> {
    actor.require_agent_in(tenant)?;
    let viewer = inbox::viewer(actor, tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let t = inbox::load(app, &mut tx, &viewer, ticket_id).await?;
    if t.status == "closed" {
        return Err(ActionError::Conflict { code: "ticket_closed", message: "the ticket is closed".into() });
    }
    let mut s = store::sla::get(&mut *tx, tenant, ticket_id).await?.unwrap_or_else(|| fresh_row(&t));
    if s.paused_at.is_some() == on {
        return Ok(s);
    }
    if on {
        s.paused_at = Some(now);
        history(&mut tx, tenant, actor, ticket_id, "awaiting_customer", serde_json::json!({}), now).await?;
    } else {
        resume(app, &mut s, &t, now).await?;
        history(&mut tx, tenant, actor, ticket_id, "sla_resumed", serde_json::json!({}), now).await?;
    }
    if s.resolution_due_at.is_none() || s.stale {
        retime_row(app, &mut s, &t, now).await?;
    }
    s.next_alert_at = next_alert(&s, &t);
    store::sla::save(&mut *tx, &s, now).await?;
    let mut events = Vec::new();
    inbox::publish(app, &mut tx, &t, "sla", now, &mut events).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    Ok(s)
}

/// Ends a pause at `at`: the open time it lasted is added to the paused total and the
/// deadlines move by it.
pub(super) async fn resume(app: &App, s: &mut TicketSla, t: &Ticket, at: i64) -> ActionResult<()> {
    let Some(since) = s.paused_at.take() else { return Ok(()) };
    let (policies, clock) = timing_inputs(app, TenantId(s.tenant_id)).await?;
    s.paused_ms += Hours::of(&clock, t.department_id).open_between(since, at.max(since));
    let matrix = matrix_for(&policies, t.department_id);
    retime(s, t, matrix.as_ref(), &clock, at);
    Ok(())
}

/// "Solicitar arquivos": asks the customer for screenshots or files (what they send lands in
/// the ticket as any message does) and waits on them.
pub async fn request_files(app: &App, actor: &Actor, tenant: TenantId, ticket_id: i64) -> ActionResult<TicketSla> {
    say(app, actor, tenant, ticket_id, REQUEST_FILES_TEXT.to_string()).await?;
    await_customer(app, actor, tenant, ticket_id, true).await
}

// ---------------------------------------------------------------- reading

/// Where a ticket stands against its targets, for the inbox and the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaView {
    pub urgency: Option<Urgency>,
    pub complexity: Option<Complexity>,
    pub support: bool,
    pub paused: bool,
    pub response: Option<(Deadline, Level)>,
    pub resolution: Option<(Deadline, Level)>,
}

impl SlaView {
    /// The level that matters most (breached first), for a row's badge.
    pub fn worst(&self) -> Option<Level> {
        let rank = |l: &Level| match l {
            Level::Breached => 4,
            Level::Warning => 3,
            Level::OnTrack => 2,
            Level::Paused => 1,
            Level::Met => 0,
        };
        [self.response, self.resolution].into_iter().flatten().map(|(_, l)| l).max_by_key(rank)
    }

    /// The deadline still running that comes first (for a countdown).
    pub fn next_due(&self) -> Option<i64> {
        [self.response, self.resolution]
            .into_iter()
            .flatten()
            .filter(|(_, l)| matches!(l, Level::OnTrack | Level::Warning | Level::Breached))
            .map(|(d, _)| d.due_at)
            .min()
    }
}

/// Where a ticket the caller already sees stands (None: not timed).
pub async fn view(app: &App, tenant: TenantId, t: &crate::store::inbox::TicketView) -> ActionResult<Option<SlaView>> {
    let s = store::sla::get(app.db.reader(), tenant, t.id).await?;
    Ok(s.map(|s| view_of(&s, t, app.clock.now_ms())))
}

/// [`view`] for a page of tickets the caller sees, by ticket id.
pub async fn views(
    app: &App,
    tenant: TenantId,
    tickets: &[crate::store::inbox::TicketView],
) -> ActionResult<std::collections::HashMap<i64, SlaView>> {
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let now = app.clock.now_ms();
    let rows = store::sla::of_tickets(app.db.reader(), tenant, &ids).await?;
    Ok(rows
        .iter()
        .filter_map(|s| tickets.iter().find(|t| t.id == s.ticket_id).map(|t| (t.id, view_of(s, t, now))))
        .collect())
}

/// Open tickets past a deadline that the caller sees, most overdue first (a supervisor's list
/// starts with them).
pub async fn breached_first(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    limit: i64,
) -> ActionResult<Vec<crate::store::inbox::TicketView>> {
    let viewer = inbox::viewer(actor, tenant)?;
    if !viewer.sees_whole_tenant() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for id in store::sla::breached_open(app.db.reader(), tenant, limit).await? {
        if let Some(t) = store::inbox::get(app.db.reader(), &viewer, id).await? {
            out.push(t);
        }
    }
    Ok(out)
}

/// The view of a row for its ticket at `now`. A pause the customer already ended (they wrote)
/// shows as running, though the scan has yet to move the deadlines.
pub fn view_of(s: &TicketSla, t: &crate::store::inbox::TicketView, now: i64) -> SlaView {
    let paused = s.paused_at.is_some_and(|p| t.last_inbound_at.is_none_or(|i| i <= p));
    let pair = |warn: Option<i64>, due: Option<i64>| Some(Deadline { warn_at: warn?, due_at: due? });
    let response =
        pair(s.response_warn_at, s.response_due_at).map(|d| (d, rules::level(d, now, t.first_agent_reply_at, false)));
    let closed = (t.status == "closed").then_some(t.closed_at).flatten();
    let resolution = pair(s.resolution_warn_at, s.resolution_due_at).map(|d| (d, rules::level(d, now, closed, paused)));
    SlaView {
        urgency: s.urgency.as_deref().and_then(Urgency::parse),
        complexity: s.complexity.as_deref().and_then(Complexity::parse),
        support: s.support,
        paused,
        response,
        resolution,
    }
}

/// SLA compliance of the tickets closed in [from, to), for the Painel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compliance {
    pub responses: i64,
    pub responses_met: i64,
    pub resolutions: i64,
    pub resolutions_met: i64,
}

pub async fn compliance(app: &App, actor: &Actor, tenant: TenantId, from: i64, to: i64) -> ActionResult<Compliance> {
    actor.require_supervisor_of(tenant)?;
    let [responses, responses_met, resolutions, resolutions_met] =
        store::sla::compliance(app.db.reader(), tenant, from, to).await?;
    Ok(Compliance { responses, responses_met, resolutions, resolutions_met })
}
