//! Scheduled messages ("agendamentos"): people schedule a text, a file or a template to a
//! contact, once or repeating, in the company's time zone (`domain::schedules`); the
//! `schedules.due` job sends each due occurrence through the same queue and rules as any send
//! (`actions::send`: consent, the 24-hour window, the connection's state).
//!
//! Never twice: handling an occurrence moves the schedule to its next slot with a
//! compare-and-set on the slot it was at, queues the message (its idempotency key names the
//! schedule and slot) and records the occurrence under the unique (schedule, due_at) key, all in
//! one transaction. A second scan, another instance or a run after a crash finds the schedule
//! already moved on and does nothing; a crash before the commit leaves it due, so nothing is
//! lost. A refused send is recorded on the occurrence with its error code and not retried.

use chrono::NaiveDate;

use crate::actions::send::{queue_on_ticket, ticket_for_phone, QueueMessage};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::hours::{self, Calendar, WeekSchedule};
use crate::domain::jobs::JobKind;
use crate::domain::outbound::{Attached, OutboundContent};
use crate::domain::schedules::{self as rules, Recurrence, Rule};
use crate::domain::TenantId;
use crate::store::jobs::NewJob;
use crate::store::schedules::ScheduleFields;
pub use crate::store::schedules::{Occurrence, Schedule};
use crate::store::{self, Tx};

/// The longest text (WhatsApp's limit for a text message).
pub const MAX_BODY: usize = 4096;
/// An occurrence found later than this after its time is not sent (recorded `expired`): after
/// an outage, customers do not get yesterday's message in a burst.
pub const STALE_MS: i64 = 12 * 3_600_000;
/// Schedules one pass of a company handles at most.
const PASS_BUDGET: i64 = 50;
const MINUTE_MS: i64 = 60_000;

/// What people fill in to create or edit a schedule.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ScheduleInput {
    /// The contact, by id…
    pub contact_id: Option<i64>,
    /// …or by phone (international form; the contact is created if new).
    pub phone: Option<String>,
    /// The connection to send through (default: the contact's latest, else the first active).
    pub connection_id: Option<i64>,
    /// The text (with a file: its caption). May be empty when a template or a file is given.
    #[serde(default)]
    pub body: String,
    /// An approved template, sent when the customer's 24-hour window is closed (always, when
    /// there is no text nor file). Without a connection chosen, the template's number sends it.
    pub template_id: Option<i64>,
    /// A file already checked and stored (`composer::store_upload`) or a public link; never
    /// taken from a request as it is, so nobody names another company's file.
    #[serde(skip)]
    pub media: Option<Attached>,
    /// `once` (default), `daily`, `weekly` or `monthly`.
    pub recurrence: Option<String>,
    /// Weekly: the weekdays ("mon".."sun", "seg".."dom" or 1..7).
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// Monthly: the day of month (1–31; the last day in shorter months). Default: the start's.
    pub month_day: Option<i64>,
    /// First occurrence, local date and time in the company's time zone: "2026-12-24T09:30".
    pub start: String,
    /// Last local date an occurrence may fall on, "2027-06-30".
    pub until: Option<String>,
    /// At most this many occurrences.
    pub count: Option<i64>,
    /// Send only within business hours: a slot outside them goes at the next opening.
    #[serde(default)]
    pub business_hours: bool,
    /// A marketing message: needs the contact's marketing opt-in.
    #[serde(default)]
    pub marketing: bool,
}

/// A checked input: the stored fields' owned parts and the rule.
struct Checked {
    contact_id: i64,
    connection_id: Option<i64>,
    kind: &'static str,
    weekdays: i64,
    month_day: i64,
    start: String,
    until: Option<String>,
    rule: Rule,
}

fn invalid(code: &'static str, message: &str) -> ActionError {
    ActionError::invalid(code, message)
}

fn check_rule(input: &ScheduleInput) -> ActionResult<(Rule, &'static str, i64, i64)> {
    let start = rules::parse_local(&input.start)
        .ok_or_else(|| invalid("invalid_start", "give the date and time as 2026-12-24T09:30"))?;
    let kind = input.recurrence.as_deref().map(str::trim).filter(|k| !k.is_empty()).unwrap_or("once");
    let weekdays = if kind == "weekly" {
        rules::parse_weekdays(&input.weekdays).filter(|b| *b != 0).ok_or_else(|| {
            invalid("invalid_weekdays", "choose at least one weekday (mon, tue, wed, thu, fri, sat, sun)")
        })?
    } else {
        0
    };
    let month_day = match (kind, input.month_day) {
        ("monthly", Some(d)) if (1..=31).contains(&d) => d,
        ("monthly", Some(_)) => return Err(invalid("invalid_month_day", "the day of month is 1 to 31")),
        ("monthly", None) => i64::from(chrono::Datelike::day(&start.date())),
        _ => 0,
    };
    let recurrence = Recurrence::from_parts(kind, weekdays, month_day as u8)
        .ok_or_else(|| invalid("invalid_recurrence", "repeat once, daily, weekly or monthly"))?;
    let until = match input.until.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => Some(
            NaiveDate::parse_from_str(u, "%Y-%m-%d")
                .map_err(|_| invalid("invalid_until", "give the end date as 2027-06-30"))?,
        ),
        None => None,
    };
    if until.is_some_and(|u| u < start.date()) {
        return Err(invalid("invalid_until", "the end date is before the start"));
    }
    let count = match input.count {
        Some(c) if !(1..=10_000).contains(&c) => {
            return Err(invalid("invalid_count", "the number of messages is 1 to 10000"))
        }
        c => c.map(|c| c as u32),
    };
    let recurrence_kind = recurrence.kind();
    let rule = Rule { start, recurrence, until, count: if recurrence == Recurrence::Once { None } else { count } };
    Ok((rule, recurrence_kind, i64::from(weekdays), month_day))
}

/// The message's parts: a text, a file (its caption: the text), a template, or a mix.
fn check_message(input: &ScheduleInput) -> ActionResult<()> {
    let body = input.body.trim();
    if body.is_empty() && input.media.is_none() && input.template_id.is_none() {
        return Err(invalid("invalid_body", "write the message, attach a file or choose a template"));
    }
    if body.chars().count() > MAX_BODY {
        return Err(invalid("invalid_body", "a message has at most 4096 characters"));
    }
    if let Some(m) = &input.media {
        if !body.is_empty() && !m.takes_text() {
            return Err(invalid("invalid_media", "an audio file goes without text: leave the text empty"));
        }
        if body.chars().count() > crate::actions::composer::CAPTION_MAX {
            return Err(invalid("invalid_caption", "the text of a file has at most 1024 characters"));
        }
        m.content(body).validate().map_err(|e| invalid("invalid_media", &e))?;
    }
    Ok(())
}

async fn check(
    app: &App,
    tx: &mut Tx,
    tenant: TenantId,
    input: &ScheduleInput,
    now: i64,
    events: &mut Vec<store::events::StoredEvent>,
) -> ActionResult<Checked> {
    check_message(input)?;
    let (rule, kind, weekdays, month_day) = check_rule(input)?;
    let contact_id = match (input.contact_id, input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty())) {
        (Some(id), _) => {
            store::contacts::get(&mut **tx, tenant, id)
                .await?
                .ok_or_else(|| invalid("unknown_contact", "no such contact"))?
                .id
        }
        (None, Some(p)) => crate::actions::send::contact_for_phone(app, tx, tenant, p, now, events).await?,
        (None, None) => return Err(invalid("missing_contact", "choose the contact")),
    };
    if let Some(c) = input.connection_id {
        store::connections::get(&mut **tx, tenant, c)
            .await?
            .ok_or_else(|| invalid("unknown_connection", "no such connection"))?;
    }
    let connection_id = match input.template_id {
        Some(t) => {
            Some(crate::actions::templates::approved(tx, tenant, t, input.connection_id).await?.template.connection_id)
        }
        None => input.connection_id,
    };
    let start = rules::format_local(rule.start);
    let until = rule.until.map(|u| u.format("%Y-%m-%d").to_string());
    Ok(Checked { contact_id, connection_id, kind, weekdays, month_day, start, until, rule })
}

/// The company's time zone (São Paulo when unset or unknown).
async fn zone(tx: &mut Tx, tenant: TenantId) -> ActionResult<chrono_tz::Tz> {
    let name = store::automation::time_zone(&mut **tx, tenant).await?;
    Ok(hours::parse_tz(&name).unwrap_or(chrono_tz::America::Sao_Paulo))
}

/// When the occurrence at `slot` goes: the slot, or with `business_hours` the next opening
/// (the slot itself when the company set no hours or never opens).
pub(crate) async fn run_time(
    tx: &mut Tx,
    tenant: TenantId,
    business_hours: bool,
    slot: Option<i64>,
) -> ActionResult<Option<i64>> {
    let Some(slot) = slot else { return Ok(None) };
    if !business_hours {
        return Ok(Some(slot));
    }
    let a = store::automation::get(&mut **tx, tenant).await?;
    let Ok(week) = serde_json::from_str::<WeekSchedule>(&a.hours) else { return Ok(Some(slot)) };
    let calendar: Calendar =
        serde_json::from_str(&a.calendar).unwrap_or(Calendar { national: true, ..Calendar::default() });
    let tz = hours::parse_tz(&a.time_zone).unwrap_or(chrono_tz::America::Sao_Paulo);
    Ok(Some(hours::next_opening(&week, None, &calendar, tz, slot).unwrap_or(slot)))
}

fn rule_of(s: &Schedule) -> Option<Rule> {
    let recurrence = Recurrence::from_parts(&s.kind, s.weekdays as u8, s.month_day as u8)?;
    let until = s.until_date.as_deref().and_then(|u| NaiveDate::parse_from_str(u, "%Y-%m-%d").ok());
    Some(Rule { start: rules::parse_local(&s.start_local)?, recurrence, until, count: s.max_count.map(|c| c as u32) })
}

fn fields<'a>(c: &'a Checked, input: &'a ScheduleInput) -> ScheduleFields<'a> {
    ScheduleFields {
        contact_id: c.contact_id,
        connection_id: c.connection_id,
        body: input.body.trim(),
        kind: c.kind,
        weekdays: c.weekdays,
        month_day: c.month_day,
        start_local: &c.start,
        until_date: c.until.as_deref(),
        max_count: c.rule.count.map(i64::from),
        business_hours: input.business_hours,
        marketing: input.marketing,
        template_id: input.template_id,
        media: input.media.as_ref(),
    }
}

/// Enqueues the company's due scan at `run_at` (one job per instant, thanks to the key).
async fn wake_at(tx: &mut Tx, tenant: TenantId, run_at: Option<i64>, now: i64) -> ActionResult<()> {
    let Some(run_at) = run_at else { return Ok(()) };
    let key = format!("schedules.due:{}:at:{run_at}", tenant.0);
    let payload = serde_json::json!({});
    let job = NewJob {
        tenant_id: tenant,
        kind: JobKind::Schedules.as_str(),
        payload: &payload,
        run_at: run_at.max(now),
        max_attempts: 5,
        dedupe_key: Some(&key),
    };
    store::jobs::enqueue(&mut **tx, job, now).await?;
    Ok(())
}

/// Creates a schedule; its first occurrence must be in the future (`past_date`).
pub async fn create(app: &App, actor: &Actor, tenant: TenantId, input: ScheduleInput) -> ActionResult<Schedule> {
    actor.require_agent_in(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let mut events = Vec::new();
    let c = check(app, &mut tx, tenant, &input, now, &mut events).await?;
    let tz = zone(&mut tx, tenant).await?;
    let start = rules::resolve_local(tz, c.rule.start).ok_or_else(|| invalid("invalid_start", "no such time"))?;
    if start <= now {
        return Err(invalid("past_date", "the date and time have passed: choose a moment in the future"));
    }
    let slot = rules::first(&c.rule, tz);
    if slot.is_none() {
        return Err(invalid("no_occurrence", "this rule gives no date to send on"));
    }
    let run = run_time(&mut tx, tenant, input.business_hours, slot).await?;
    let id = store::schedules::insert(&mut *tx, tenant, &fields(&c, &input), (slot, run), &actor.label(), now).await?;
    let details = serde_json::json!({ "schedule_id": id, "contact_id": c.contact_id, "recurrence": c.kind });
    store::audit::record(&mut *tx, tenant, &actor.label(), "schedule.created", "schedule", &details, now).await?;
    wake_at(&mut tx, tenant, run, now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    app.jobs_wakeup.notify_one();
    get(app, actor, tenant, id).await
}

/// Edits a schedule (active or paused): the next occurrence is the rule's first after now.
pub async fn update(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    id: i64,
    input: ScheduleInput,
) -> ActionResult<Schedule> {
    actor.require_agent_in(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let old = store::schedules::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    let mut events = Vec::new();
    let c = check(app, &mut tx, tenant, &input, now, &mut events).await?;
    let tz = zone(&mut tx, tenant).await?;
    let slot = rules::next_after(&c.rule, tz, now, old.done_count as u32);
    if slot.is_none() {
        return Err(invalid("past_date", "this rule gives no date in the future"));
    }
    let run = run_time(&mut tx, tenant, input.business_hours, slot).await?;
    if !store::schedules::update(&mut *tx, tenant, id, &fields(&c, &input), (slot, run), now).await? {
        return Err(ActionError::Conflict { code: "schedule_closed", message: "this schedule ended".into() });
    }
    let details = serde_json::json!({ "schedule_id": id });
    store::audit::record(&mut *tx, tenant, &actor.label(), "schedule.updated", "schedule", &details, now).await?;
    wake_at(&mut tx, tenant, run, now).await?;
    tx.commit().await?;
    app.bus.deliver(events);
    app.jobs_wakeup.notify_one();
    get(app, actor, tenant, id).await
}

/// Pauses, resumes (from the next occurrence after now; those missed meanwhile are skipped)
/// or cancels a schedule.
pub async fn set_state(app: &App, actor: &Actor, tenant: TenantId, id: i64, to: &str) -> ActionResult<Schedule> {
    actor.require_agent_in(tenant)?;
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    let s = store::schedules::get(&mut *tx, tenant, id).await?.ok_or(ActionError::NotFound)?;
    let (from, slot): (&[&str], _) = match to {
        "paused" => (&["active"], (s.slot_at, s.run_at)),
        "cancelled" => (&["active", "paused"], (None, None)),
        "active" => {
            let tz = zone(&mut tx, tenant).await?;
            let slot = rule_of(&s).and_then(|r| rules::next_after(&r, tz, now, s.done_count as u32));
            (&["paused"], (slot, run_time(&mut tx, tenant, s.business_hours, slot).await?))
        }
        _ => return Err(invalid("invalid_status", "the status is active, paused or cancelled")),
    };
    let status = if to == "active" && slot.0.is_none() { "finished" } else { to };
    if !store::schedules::set_status(&mut *tx, tenant, id, from, status, slot, now).await? {
        return Err(ActionError::Conflict {
            code: "invalid_transition",
            message: format!("a {} schedule cannot become {to}", s.status),
        });
    }
    let details = serde_json::json!({ "schedule_id": id, "status": status });
    store::audit::record(&mut *tx, tenant, &actor.label(), "schedule.status", "schedule", &details, now).await?;
    if status == "active" {
        wake_at(&mut tx, tenant, slot.1, now).await?;
    }
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    get(app, actor, tenant, id).await
}

pub async fn get(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Schedule> {
    actor.role_of(tenant)?;
    store::schedules::get(app.db.reader(), tenant, id).await?.ok_or(ActionError::NotFound)
}

/// The company's schedules, or one contact's.
pub async fn list(app: &App, actor: &Actor, tenant: TenantId, contact: Option<i64>) -> ActionResult<Vec<Schedule>> {
    actor.role_of(tenant)?;
    Ok(store::schedules::list(app.db.reader(), tenant, contact, 500).await?)
}

/// The last occurrences of a schedule, newest first.
pub async fn history(app: &App, actor: &Actor, tenant: TenantId, id: i64) -> ActionResult<Vec<Occurrence>> {
    get(app, actor, tenant, id).await?;
    Ok(store::schedules::occurrences(app.db.reader(), tenant, id, 100).await?)
}

/// The scheduler's minute: enqueues a due scan for every company with something due.
pub async fn schedule_due(app: &App) -> anyhow::Result<usize> {
    let now = app.clock.now_ms();
    let tenants = store::schedules::due_tenants(app.db.reader(), now, 0, 1000).await?;
    if tenants.is_empty() {
        return Ok(0);
    }
    let mut tx = app.db.begin().await?;
    for tenant in &tenants {
        let key = format!("schedules.due:{}:{}", tenant.0, now / MINUTE_MS);
        let payload = serde_json::json!({});
        let job = NewJob {
            tenant_id: *tenant,
            kind: JobKind::Schedules.as_str(),
            payload: &payload,
            run_at: now,
            max_attempts: 5,
            dedupe_key: Some(&key),
        };
        store::jobs::enqueue(&mut *tx, job, now).await?;
    }
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(tenants.len())
}

/// One scan of a company's due schedules (the `schedules.due` job): handles each due occurrence
/// once; returns how many it handled and whether more are due.
pub async fn run_due(app: &App, tenant: TenantId) -> anyhow::Result<(usize, bool)> {
    let now = app.clock.now_ms();
    let due = store::schedules::due(app.db.reader(), tenant, now, PASS_BUDGET).await?;
    let more = due.len() as i64 >= PASS_BUDGET;
    let mut handled = 0;
    for s in due {
        if fire(app, &s, now).await? {
            handled += 1;
        }
    }
    Ok((handled, more))
}

/// Handles the occurrence a schedule is at; false when another run handled it first.
async fn fire(app: &App, s: &Schedule, now: i64) -> anyhow::Result<bool> {
    let (Some(slot), Some(run_at)) = (s.slot_at, s.run_at) else { return Ok(false) };
    let tenant = s.tenant_id;
    let mut tx = app.db.begin().await?;
    let tz = zone(&mut tx, tenant).await.map_err(internal)?;
    let next = rule_of(s).and_then(|r| rules::next_after(&r, tz, slot, s.done_count as u32 + 1));
    let next_run = run_time(&mut tx, tenant, s.business_hours, next).await.map_err(internal)?;
    // The compare-and-set first: a concurrent run waits on this row and then finds it moved.
    if !store::schedules::advance(&mut *tx, tenant, s.id, slot, (next, next_run), "queued", None, now).await? {
        return Ok(false);
    }
    let outcome = if now - run_at > STALE_MS {
        Err(("expired", "stale".to_string()))
    } else {
        match queue(app, &mut tx, s, slot, now).await {
            Ok(message_id) => Ok(message_id),
            Err(ActionError::Internal(e)) => return Err(e),
            Err(e) => Err(("refused", e.code().to_string())),
        }
    };
    let mut events = Vec::new();
    match outcome {
        Ok((message_id, ev)) => {
            events = ev;
            let recorded = store::schedules::record_occurrence(
                &mut *tx,
                tenant,
                s.id,
                slot,
                "queued",
                None,
                Some(message_id),
                now,
            )
            .await?;
            if !recorded {
                return Ok(false); // rolled back: this occurrence was handled already
            }
        }
        Err((state, code)) => {
            // What the refused attempt wrote (a new ticket) goes; only the outcome stays.
            drop(tx);
            tx = app.db.begin().await?;
            let moved =
                store::schedules::advance(&mut *tx, tenant, s.id, slot, (next, next_run), state, Some(&code), now)
                    .await?;
            let recorded = moved
                && store::schedules::record_occurrence(&mut *tx, tenant, s.id, slot, state, Some(&code), None, now)
                    .await?;
            if !recorded {
                return Ok(false);
            }
            tracing::info!(schedule.id = s.id, error = %code, "a scheduled message was not sent");
        }
    }
    wake_at(&mut tx, tenant, next_run, now).await.map_err(internal)?;
    tx.commit().await?;
    app.bus.deliver(events);
    app.jobs_wakeup.notify_one();
    Ok(true)
}

fn internal(e: ActionError) -> anyhow::Error {
    match e {
        ActionError::Internal(e) => e,
        other => anyhow::anyhow!("{other}"),
    }
}

/// What an occurrence sends: the text (or the file with it) inside the customer's 24-hour
/// window; outside it the template, its parameters filled from the contact. With no template,
/// the text goes to the send rules, which refuse it outside the window (`outside_window`).
async fn content_for(
    tx: &mut Tx,
    s: &Schedule,
    connection: &store::connections::Connection,
    ticket: &store::tickets::Ticket,
    contact: &store::contacts::Contact,
    now: i64,
) -> ActionResult<OutboundContent> {
    let free = match &s.media {
        Some(m) => Some(m.content(&s.body)),
        None if !s.body.trim().is_empty() => Some(OutboundContent::Text { body: s.body.clone(), preview_url: false }),
        None => None,
    };
    let in_window = crate::domain::channel::free_form_allowed(&connection.kind, ticket.last_inbound_at, now);
    match (free, s.template_id) {
        (Some(free), None) => Ok(free),
        (Some(free), Some(_)) if in_window => Ok(free),
        (_, Some(t)) => {
            let template = crate::actions::templates::approved(tx, s.tenant_id, t, Some(connection.id)).await?;
            crate::actions::templates::content_for(&template, contact)
        }
        (None, None) => Err(invalid("invalid_body", "the schedule has nothing to send")),
    }
}

/// Queues the occurrence's message on the contact's current ticket (opened if none) through the
/// send rules; returns the message id.
async fn queue(
    app: &App,
    tx: &mut Tx,
    s: &Schedule,
    slot: i64,
    now: i64,
) -> ActionResult<(i64, Vec<store::events::StoredEvent>)> {
    let tenant = s.tenant_id;
    let contact = store::contacts::get(&mut **tx, tenant, s.contact_id).await?.ok_or(ActionError::NotFound)?;
    if contact.phone.is_empty() {
        return Err(invalid("no_phone", "the contact has no phone number"));
    }
    let connection_id = match s.connection_id {
        Some(c) => c,
        None => store::schedules::default_connection(&mut **tx, tenant, contact.id)
            .await?
            .ok_or_else(|| invalid("no_connection", "the company has no active connection"))?,
    };
    let connection = store::connections::get(&mut **tx, tenant, connection_id).await?.ok_or(ActionError::NotFound)?;
    let mut events = Vec::new();
    let ticket_id =
        ticket_for_phone(app, &Actor::Operator, tx, tenant, &connection, &contact.phone, now, &mut events).await?;
    let ticket = store::tickets::get(&mut **tx, tenant, ticket_id).await?.ok_or(ActionError::NotFound)?;
    let key = format!("schedule:{}:{slot}", s.id);
    let m = QueueMessage {
        content: content_for(tx, s, &connection, &ticket, &contact, now).await?,
        reply_to: None,
        idempotency_key: Some(&key),
        sender: None,
        sign: false,
        automatic: false,
        marketing: s.marketing,
    };
    match queue_on_ticket(app, tx, &ticket, m, now, &mut events).await? {
        Some(id) => Ok((id, events)),
        None => Err(ActionError::Conflict { code: "duplicate_message", message: "already queued".into() }),
    }
}
