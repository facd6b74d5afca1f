//! Automation for customers' messages: the greeting on a new ticket, the away message outside
//! business hours, the chatbot that greets with a menu and hands the ticket to the department
//! chosen (sending the department's greeting), and the company's settings for all of it. Runs as
//! the `automation.inbound` job per customer message, never for the business's own messages;
//! what it says goes out through the same queue as any send (`origin = 'bot'`).
//!
//! Loop safety: at most [`MAX_AUTOMATIC_PER_10_MIN`] automatic messages per ticket in ten
//! minutes (past it, people take over); the flow engine stops within its step budget; a
//! greeting or away message goes once per ticket.

use crate::actions::inbox::{distribute_in_tx, publish};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::flow::{self, BotState, Change, Effect, Flow, Say};
use crate::domain::hours::{self, Calendar, WeekSchedule};
use crate::domain::inbox::{Priority, TicketStatus};
use crate::domain::keyword_rules::{self, KeywordRule};
use crate::domain::TenantId;
use crate::store::automation::{Automation, TicketBot};
use crate::store::tickets::Ticket;
use crate::store::{self, Tx};

mod say;
mod settings;
use say::say_it;
pub use settings::{get, save, save_dates, save_department_hours, set_time_zone, set_up_demo, AutomationInput};

/// The cap on automatic messages per ticket in ten minutes.
pub const MAX_AUTOMATIC_PER_10_MIN: i64 = 10;

/// Whether the company is open now by its hours — or, given a department's own week
/// (`departments.hours`; empty: it follows the company), the department by its own — with the
/// company's holidays and dates either way; always open when neither set any hours.
pub fn open_now(a: &Automation, department_hours: Option<&str>, now_ms: i64) -> bool {
    let company = serde_json::from_str::<WeekSchedule>(&a.hours).ok();
    let department =
        department_hours.and_then(|h| serde_json::from_str::<WeekSchedule>(h).ok()).filter(|d| !d.is_empty());
    if company.is_none() && department.is_none() {
        return true;
    }
    let calendar: Calendar =
        serde_json::from_str(&a.calendar).unwrap_or(Calendar { national: true, ..Calendar::default() });
    let tz = hours::parse_tz(&a.time_zone).unwrap_or(chrono_tz::America::Sao_Paulo);
    hours::is_open(&company.unwrap_or_default(), department.as_ref(), &calendar, tz, now_ms)
}

/// [`open_now`] for a ticket's department (the company's hours when it has none).
mod effects;
use effects::apply_step;

async fn open_for(
    tx: &mut Tx,
    a: &Automation,
    tenant: TenantId,
    department: Option<i64>,
    now: i64,
) -> anyhow::Result<bool> {
    let own = match department {
        Some(d) => store::departments::hours(&mut **tx, tenant, d).await?,
        None => None,
    };
    Ok(open_now(a, own.as_deref(), now))
}

/// What moves a ticket's chatbot on.
enum Trigger {
    /// A customer message (its id).
    Message(i64),
    /// A timed wait is over; the state the ticket waited in.
    Wake(String),
}

/// Handles one customer message (the `automation.inbound` job). A flow's HTTP request is made
/// outside the transaction: what came before it is committed (the ticket waits at the request),
/// the call is made, and a new transaction resumes the flow if the ticket still waits there.
///
/// Returns the messages it queued to send, so the job can send them at once (see
/// `jobs::automation`); their send jobs are in the queue either way.
pub async fn on_inbound(app: &App, tenant: TenantId, ticket_id: i64, message_id: i64) -> anyhow::Result<Vec<i64>> {
    let mut queued = Vec::new();
    advance(app, tenant, ticket_id, Trigger::Message(message_id), &mut queued).await?;
    Ok(queued)
}

/// A flow's timed wait is over (the `automation.wake` job): the flow goes on if the ticket
/// still waits there with the chatbot.
pub async fn on_wake(app: &App, tenant: TenantId, ticket_id: i64, state: &str) -> anyhow::Result<()> {
    advance(app, tenant, ticket_id, Trigger::Wake(state.to_string()), &mut Vec::new()).await
}

/// The most times one message may move a ticket into another flow (`goto`); past it, people.
pub const MAX_GOTO_PER_MESSAGE: usize = 3;

async fn advance(
    app: &App,
    tenant: TenantId,
    ticket_id: i64,
    trigger: Trigger,
    queued: &mut Vec<i64>,
) -> anyhow::Result<()> {
    let a = store::automation::get(app.db.reader(), tenant).await?;
    if !a.enabled {
        return Ok(());
    }
    let message = match &trigger {
        Trigger::Message(id) => {
            let Some(m) = store::messages::get(app.db.reader(), tenant, *id).await? else { return Ok(()) };
            if m.direction != "in" {
                return Ok(()); // never an answer to the business's own words
            }
            Some(m)
        }
        Trigger::Wake(_) => None,
    };
    let body = message.as_ref().and_then(|m| m.body.as_deref()).unwrap_or_default();
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let Some(mut t) = store::tickets::get(&mut *tx, tenant, ticket_id).await? else { return Ok(()) };
    let Some(bot) = store::automation::ticket_bot(&mut *tx, tenant, ticket_id).await? else { return Ok(()) };
    let status = TicketStatus::parse(&t.status);
    let mut plan = Plan::default();
    let mut next = TicketBot { greeted: true, ..bot.clone() };
    // Keyword rules (the company's urgent words among them) on every customer message of an
    // open ticket, before the chatbot's step: a hand-off ends the chatbot at once; priority, tags
    // and replies apply with people too (each rule replies once per ticket).
    let hit = match (&message, status) {
        (Some(_), Some(TicketStatus::Bot | TicketStatus::Waiting | TicketStatus::Open)) => {
            let mut rules: Vec<KeywordRule> = keyword_rules::urgent_words_rule(&a.urgent_words).into_iter().collect();
            rules.extend(store::keyword_rules::list(&mut *tx, tenant).await?);
            keyword_rules::evaluate(&rules, body)
        }
        _ => keyword_rules::Outcome::default(),
    };
    if let Some(p) = hit.priority {
        if Priority::parse(&t.priority).is_none_or(|current| p > current) {
            plan.changes.push(Change::Priority(p));
        }
    }
    plan.changes.extend(hit.tags.iter().cloned().map(Change::Tag));
    for (rule, reply) in &hit.replies {
        if *rule == 0 || store::keyword_rules::note_reply(&mut *tx, tenant, ticket_id, *rule, now).await? {
            plan.says.push(Say::Text(reply.clone()));
        }
    }
    let keyword_reply = !plan.says.is_empty();
    // A known incident (the status page), told once per ticket before anything else.
    let notice = match (&message, status) {
        (Some(_), Some(TicketStatus::Bot | TicketStatus::Waiting)) => {
            crate::actions::status_page::chatbot_notice(app, &mut tx, tenant, ticket_id, now).await?
        }
        _ => None,
    };
    // A customer still in the chatbot after the configured number of messages goes to people.
    let too_long = message.is_some()
        && status == Some(TicketStatus::Bot)
        && a.handoff_after > 0
        && store::automation::inbound_count(&mut *tx, tenant, ticket_id).await? >= a.handoff_after;
    // Open by the hours of the ticket's department (its own week, or the company's).
    let open = open_for(&mut tx, &a, tenant, t.department_id, now).await?;
    let mut ctx = None;
    match (&trigger, status, &bot.state) {
        (Trigger::Message(_), ..) if hit.handoff.is_some() || too_long => {
            if status == Some(TicketStatus::Bot) {
                plan.effect = Some(Effect::Handoff { department: hit.handoff.flatten() });
            } else if plan.changes.is_empty() && plan.says.is_empty() && notice.is_none() {
                return Ok(());
            }
        }
        // A new ticket in the chatbot: away outside hours (people answer later), else greeting
        // and the first step of the connection's chatbot (or the company's).
        (Trigger::Message(_), Some(TicketStatus::Bot), None) if !bot.greeted => {
            if !open {
                plan.says.extend(text(&a.away_message));
                plan.away = true;
                plan.effect = Some(Effect::Handoff { department: None });
            } else {
                plan.says.extend(text(&a.greeting));
                // A plan without the chatbot feature: greeted, then straight to people.
                let bots_off = store::plans::of_tenant(&mut *tx, tenant).await?.is_some_and(|p| !p.feature_chatbot);
                let chatbot = match store::chatbots::of_connection(&mut *tx, tenant, t.connection_id).await? {
                    _ if bots_off => None,
                    Some(0) => None,
                    Some(c) => Some(c),
                    None => a.chatbot_id,
                };
                match current_flow(&mut tx, tenant, chatbot).await? {
                    Some((id, f)) => {
                        let c = context(&mut tx, &t, body, open).await?;
                        next.flow_id = Some(id);
                        let (step, f) = follow(&mut tx, tenant, flow::start(&f, &c), f, &c, &mut next).await?;
                        take_step(step, &f, &mut plan, &mut next)?;
                        ctx = Some(c);
                    }
                    None => plan.effect = Some(Effect::Handoff { department: None }),
                }
            }
        }
        // The customer answers the menu or question the ticket waits on, or a wait is over.
        // A keyword rule answered the message: the flow keeps waiting where it was.
        (Trigger::Message(_), Some(TicketStatus::Bot), Some(_)) if keyword_reply => {}
        (trigger, Some(TicketStatus::Bot), Some(state)) => {
            if let Trigger::Wake(expected) = trigger {
                if expected != state {
                    return Ok(()); // the ticket moved on since the wait began
                }
            }
            let parsed: Option<BotState> = serde_json::from_str(state).ok();
            match (parsed, load_flow(&mut tx, tenant, bot.flow_id).await?) {
                (Some(state), Some((_, f))) => {
                    let c = context(&mut tx, &t, body, open).await?;
                    let step = match trigger {
                        Trigger::Message(_) => flow::answer(&f, &state, &c),
                        Trigger::Wake(_) => flow::wake(&f, &state, &c),
                    };
                    let (step, f) = follow(&mut tx, tenant, step, f, &c, &mut next).await?;
                    take_step(step, &f, &mut plan, &mut next)?;
                    ctx = Some(c);
                }
                _ => {
                    plan.effect = Some(Effect::Handoff { department: None });
                    next.state = None;
                }
            }
        }
        // No chatbot: a new ticket waiting for people gets the greeting (or the away message).
        (Trigger::Message(_), Some(TicketStatus::Waiting), None)
            if !bot.greeted && message.as_ref().is_some_and(|m| t.created_at >= m.created_at - 1000) =>
        {
            plan.away = !open;
            plan.says.extend(text(if !open { &a.away_message } else { &a.greeting }));
        }
        // Nothing but what the keyword rules asked (a ticket with people).
        _ if !plan.changes.is_empty() || !plan.says.is_empty() || notice.is_some() => {}
        _ => return Ok(()),
    }
    plan.says.splice(0..0, notice.map(Say::Text));
    let mut events = Vec::new();
    let mut request = plan.request.take();
    if !apply_step(app, &mut tx, &mut t, &bot, &next, plan, now, &mut events).await? {
        request = None;
    }
    tx.commit().await?;
    queued.extend(queued_messages(&events));
    app.bus.deliver(events);
    app.jobs_wakeup.notify_one();
    // The flow's HTTP requests, each outside any transaction; a few per message at most.
    let mut calls = 0;
    let mut at = next;
    while let (Some((f, state, call)), Some(c)) = (request.take(), ctx.as_ref()) {
        calls += 1;
        let step = if calls > flow::MAX_HTTP_PER_MESSAGE {
            tracing::warn!(
                ticket.id = ticket_id,
                "too many HTTP requests for one message; handing the ticket to people"
            );
            flow::Step { effect: Some(Effect::Handoff { department: state.department }), ..flow::Step::default() }
        } else {
            let outcome = super::flow_http::perform(app, tenant, &call).await;
            flow::resume(&f, &state, c, outcome)
        };
        let now = app.clock.now_ms();
        let mut tx = app.db.begin().await?;
        let Some(mut t) = store::tickets::get(&mut *tx, tenant, ticket_id).await? else { return Ok(()) };
        let current = store::automation::ticket_bot(&mut *tx, tenant, ticket_id).await?;
        // People took the ticket meanwhile, or a message handled meanwhile moved it on: this
        // answer is stale.
        if t.status != TicketStatus::Bot.as_str() || current.as_ref() != Some(&at) {
            return Ok(());
        }
        let mut plan = Plan::default();
        let mut next = at.clone();
        let (step, f) = follow(&mut tx, tenant, step, f, c, &mut next).await?;
        take_step(step, &f, &mut plan, &mut next)?;
        request = plan.request.take();
        // Compare-and-set from the state written before the call.
        let mut events = Vec::new();
        if !apply_step(app, &mut tx, &mut t, &at, &next, plan, now, &mut events).await? {
            request = None;
        }
        tx.commit().await?;
        queued.extend(queued_messages(&events));
        app.bus.deliver(events);
        app.jobs_wakeup.notify_one();
        at = next;
    }
    Ok(())
}

/// The messages a run queued to send, read off its events: every automatic message goes through
/// `queue_on_ticket`, which records a `message.created` event with direction "out".
fn queued_messages(events: &[store::events::StoredEvent]) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e.kind == "message.created")
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.data).ok())
        .filter(|d| d["direction"] == "out")
        .filter_map(|d| d["message_id"].as_i64())
        .collect()
}

/// A flow's request to make: the flow, the state to resume from and the call.
type Pending = (Flow, BotState, flow::HttpCall);

/// What a step (or a chain of them) says, changes and does, gathered for [`apply_step`].
#[derive(Default)]
struct Plan {
    says: Vec<Say>,
    changes: Vec<Change>,
    effect: Option<Effect>,
    request: Option<Pending>,
    /// A timed wait: when the flow goes on.
    wake_in_ms: Option<i64>,
    /// The away message is among what is said (a hand-off then does not say it again).
    away: bool,
}

/// Takes what a step says and does into the plan.
fn take_step(step: flow::Step, f: &Flow, plan: &mut Plan, next: &mut TicketBot) -> anyhow::Result<()> {
    plan.says.extend(step.says);
    plan.changes.extend(step.changes);
    plan.effect = step.effect;
    plan.wake_in_ms = step.wake_in_ms;
    next.state = step.waiting.as_ref().map(serde_json::to_string).transpose()?;
    plan.request = match (step.request, step.waiting) {
        (Some(call), Some(state)) => Some((f.clone(), state, call)),
        _ => None,
    };
    Ok(())
}

/// Follows a step's `goto`s into the other chatbots' current flows (each from its start, with
/// the variables so far), at most [`MAX_GOTO_PER_MESSAGE`] times; returns the last step with
/// everything said on the way, and the flow it ends in (whose version `next` now names).
async fn follow(
    tx: &mut Tx,
    tenant: TenantId,
    mut step: flow::Step,
    mut f: Flow,
    c: &flow::Context,
    next: &mut TicketBot,
) -> anyhow::Result<(flow::Step, Flow)> {
    let mut hops = 0;
    while let Some(Effect::Goto { flow: chatbot, state }) = step.effect.clone() {
        hops += 1;
        let target = if hops > MAX_GOTO_PER_MESSAGE {
            tracing::warn!("too many flow changes for one message; handing the ticket to people");
            None
        } else {
            current_flow(tx, tenant, Some(chatbot)).await?
        };
        let Some((version, other)) = target else {
            step.effect = Some(Effect::Handoff { department: state.department });
            break;
        };
        let there = flow::enter(&other, c, &state);
        step.says.extend(there.says);
        step.changes.extend(there.changes);
        step = flow::Step { says: step.says, changes: step.changes, ..there };
        next.flow_id = Some(version);
        f = other;
    }
    Ok((step, f))
}

/// What the flow engine knows of the ticket: the message, the hours, the connection's kind,
/// the contact's fields with its name, phone and e-mail.
async fn context(tx: &mut Tx, t: &Ticket, body: &str, open: bool) -> anyhow::Result<flow::Context> {
    let channel =
        store::connections::get(&mut **tx, t.tenant_id, t.connection_id).await?.map(|c| c.kind).unwrap_or_default();
    let mut contact = std::collections::BTreeMap::new();
    if let Some(c) = store::contacts::get(&mut **tx, t.tenant_id, t.contact_id).await? {
        contact = c.fields();
        contact.insert("nome".into(), c.name.clone());
        contact.insert("telefone".into(), crate::domain::phone::e164(&c.phone));
        if let Some(e) = &c.email {
            contact.insert("email".into(), e.clone());
        }
    }
    Ok(flow::Context { text: body.to_string(), open_now: open, channel, contact })
}

fn text(s: &str) -> Option<Say> {
    let s = s.trim();
    (!s.is_empty()).then(|| Say::Text(s.to_string()))
}

/// Fills `{{nome}}`, `{{telefone}}`, `{{email}}` and custom fields in what the bot says.
fn fill(says: &mut [Say], contact: &crate::store::contacts::Contact) {
    for say in says {
        match say {
            Say::Text(t) => *t = super::contacts::fill_template(t, contact),
            Say::Choices { prompt, .. } => *prompt = super::contacts::fill_template(prompt, contact),
        }
    }
}

/// A flow version (the one a ticket runs on).
async fn load_flow(tx: &mut Tx, tenant: TenantId, id: Option<i64>) -> anyhow::Result<Option<(i64, Flow)>> {
    let Some(id) = id else { return Ok(None) };
    let Some(definition) = store::chatbots::version(&mut **tx, tenant, id).await? else { return Ok(None) };
    Ok(serde_json::from_str(&definition).ok().map(|f| (id, f)))
}

/// A chatbot's current version, where it has one.
async fn current_flow(tx: &mut Tx, tenant: TenantId, chatbot: Option<i64>) -> anyhow::Result<Option<(i64, Flow)>> {
    let Some(chatbot) = chatbot else { return Ok(None) };
    let version = store::chatbots::get(&mut **tx, tenant, chatbot).await?.and_then(|c| c.flow_id);
    load_flow(tx, tenant, version).await
}
