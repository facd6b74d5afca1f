//! Timed rules: a department closes tickets the customer left idle (with a message), moves
//! tickets nobody took to another department, and reminds an agent of a ticket whose customer
//! waits for an answer, after some minutes each. The rules are the company's; a pass
//! ([`run_pass`]) applies them through the same close and transfer as an agent's, a few tickets
//! at a time, from the `automation.timed` job.

use crate::actions::inbox::{self, Farewell, Transfer};
use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::access::Audience;
use crate::domain::{TenantId, UserId};
use crate::store;
use crate::store::ticket_events::TicketEvent;
pub use crate::store::timed_rules::TimedRule;
use crate::store::timed_rules::Unanswered;

/// The live event (and outgoing webhook) of a reminder; its audience is the assignee.
pub const REMINDER_EVENT: &str = "ticket.reminder";

/// The longest a rule may wait: thirty days.
pub const MAX_MINUTES: i64 = 30 * 24 * 60;
/// Tickets one pass handles at most; a pass that reaches it asks for another.
pub const PASS_BUDGET: usize = 50;
/// The pause after each ticket a pass handles: a backlog drains as a trickle (at most about 33
/// tickets a second with the job's one-second pause between passes), not as a burst that
/// makes the inbox's requests wait for the CPU and the writer.
const TICKET_PACE: std::time::Duration = std::time::Duration::from_millis(10);
const MINUTE_MS: i64 = 60_000;

pub async fn list(app: &App, actor: &Actor, tenant: TenantId) -> ActionResult<Vec<TimedRule>> {
    actor.require_admin_of(tenant)?;
    Ok(store::timed_rules::list(app.db.reader(), tenant).await?)
}

/// Replaces the company's rules (one per department; 0 for tickets without one).
pub async fn save(app: &App, actor: &Actor, tenant: TenantId, rules: Vec<TimedRule>) -> ActionResult<()> {
    actor.require_admin_of(tenant)?;
    let departments: Vec<i64> =
        store::departments::list(app.db.reader(), tenant).await?.into_iter().map(|d| d.id).collect();
    let mut seen = Vec::new();
    for r in &rules {
        if r.department_id != 0 && !departments.contains(&r.department_id) {
            return Err(ActionError::invalid("unknown_department", "no such department in this company"));
        }
        if seen.contains(&r.department_id) {
            return Err(ActionError::invalid("invalid_rule", "one rule per department"));
        }
        seen.push(r.department_id);
        for m in [r.close_idle_minutes, r.transfer_after_minutes, r.remind_after_minutes] {
            if !(0..=MAX_MINUTES).contains(&m) {
                return Err(ActionError::invalid("invalid_minutes", "give 0 to 43200 minutes (30 days)"));
            }
        }
        if r.close_message.chars().count() > 4096 {
            return Err(ActionError::invalid("invalid_message", "a message has at most 4096 characters"));
        }
        match r.transfer_to {
            Some(to) if to == r.department_id || !departments.contains(&to) => {
                return Err(ActionError::invalid("invalid_transfer", "transfer to another department of this company"));
            }
            None if r.transfer_after_minutes > 0 => {
                return Err(ActionError::invalid("invalid_transfer", "choose the department to transfer to"));
            }
            _ => {}
        }
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    store::timed_rules::replace(&mut tx, tenant, &rules, now).await?;
    let details = serde_json::json!({ "rules": rules.iter().filter(|r| !r.is_off()).count() });
    store::audit::record(&mut *tx, tenant, &actor.label(), "timed_rules.updated", "automation", &details, now).await?;
    tx.commit().await?;
    Ok(())
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub closed: usize,
    pub transferred: usize,
    pub reminded: usize,
    /// The pass stopped at its budget: more tickets may be due.
    pub more: bool,
}

/// Applies every company's due rules to at most [`PASS_BUDGET`] tickets. A ticket that moved
/// meanwhile (an agent took it, the customer wrote) is refused by the close or transfer and
/// simply skipped.
pub async fn run_pass(app: &App) -> anyhow::Result<PassReport> {
    let now = app.clock.now_ms();
    let mut report = PassReport::default();
    let mut budget = PASS_BUDGET;
    let mut after = 0;
    loop {
        let tenants = store::timed_rules::tenants_with_rules(app.db.reader(), after, 100).await?;
        let Some(last) = tenants.last() else { break };
        after = last.0;
        for tenant in tenants {
            for rule in store::timed_rules::list(app.db.reader(), tenant).await? {
                if budget == 0 {
                    report.more = true;
                    return Ok(report);
                }
                let done = apply(app, tenant, &rule, now, budget).await?;
                budget = budget.saturating_sub(done.closed + done.transferred + done.reminded);
                report.closed += done.closed;
                report.transferred += done.transferred;
                report.reminded += done.reminded;
            }
        }
    }
    Ok(report)
}

async fn apply(app: &App, tenant: TenantId, rule: &TimedRule, now: i64, budget: usize) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    let limit = budget as i64;
    if rule.close_idle_minutes > 0 {
        let before = now - rule.close_idle_minutes * MINUTE_MS;
        for id in store::timed_rules::idle_tickets(app.db.reader(), tenant, rule.department_id, before, limit).await? {
            let message = rule.close_message.trim();
            let farewell = if message.is_empty() { Farewell::None } else { Farewell::Text(message.to_string()) };
            match inbox::close(app, &Actor::Operator, tenant, id, farewell).await {
                Ok(_) => report.closed += 1,
                Err(e) => skip(id, "close", e)?,
            }
            tokio::time::sleep(TICKET_PACE).await;
        }
    }
    if let (Some(to), true) = (rule.transfer_to, rule.transfer_after_minutes > 0) {
        let before = now - rule.transfer_after_minutes * MINUTE_MS;
        let left = limit - report.closed as i64;
        for id in store::timed_rules::waiting_tickets(app.db.reader(), tenant, rule.department_id, before, left).await?
        {
            let note = format!("Transferido automaticamente: {} min sem atendimento.", rule.transfer_after_minutes);
            let to = Transfer { department_id: Some(to), user_id: None, note: Some(note) };
            match inbox::transfer(app, &Actor::Operator, tenant, id, to).await {
                Ok(_) => report.transferred += 1,
                Err(e) => skip(id, "transfer", e)?,
            }
            tokio::time::sleep(TICKET_PACE).await;
        }
    }
    if rule.remind_after_minutes > 0 {
        let before = now - rule.remind_after_minutes * MINUTE_MS;
        let left = limit - (report.closed + report.transferred) as i64;
        if left > 0 {
            for due in store::timed_rules::unanswered_tickets(app.db.reader(), tenant, rule.department_id, before, left)
                .await?
            {
                if remind(app, tenant, &due, rule.remind_after_minutes, now).await? {
                    report.reminded += 1;
                }
                tokio::time::sleep(TICKET_PACE).await;
            }
        }
    }
    Ok(report)
}

/// Reminds the assignee of an unanswered ticket: the reminder is marked on the ticket (so it is
/// not repeated until the business answered and the customer wrote again), written into the
/// ticket's history and sent to that person alone as `ticket.reminder`, which is also the
/// outgoing webhook. False when the ticket moved since it was found (answered, passed on).
async fn remind(app: &App, tenant: TenantId, due: &Unanswered, minutes: i64, now: i64) -> anyhow::Result<bool> {
    let mut tx = app.db.begin().await?;
    if !store::timed_rules::mark_reminded(&mut *tx, tenant, due).await? {
        return Ok(false);
    }
    let details = serde_json::json!({ "minutes": minutes, "message_id": due.message_id });
    let e = TicketEvent {
        ticket_id: due.ticket_id,
        kind: "reminded".into(),
        to_user_id: Some(due.assignee_id),
        data: details.to_string(),
        ..Default::default()
    };
    store::ticket_events::insert(&mut *tx, tenant, &e, now).await?;
    let data = serde_json::json!({ "ticket_id": due.ticket_id, "assignee_id": due.assignee_id,
        "message_id": due.message_id, "minutes": minutes });
    let audience = Audience::User(UserId(due.assignee_id));
    let event = app.bus.record(&mut tx, tenant, REMINDER_EVENT, audience, data, now).await?;
    tx.commit().await?;
    app.bus.deliver([event]);
    Ok(true)
}

/// A ticket the rule no longer fits is skipped; a store failure fails the pass (the job retries).
fn skip(id: i64, what: &str, e: ActionError) -> anyhow::Result<()> {
    match e {
        ActionError::Internal(e) => Err(e),
        other => {
            tracing::info!(ticket.id = id, rule = what, error = %other, "a timed rule skipped a ticket");
            Ok(())
        }
    }
}
