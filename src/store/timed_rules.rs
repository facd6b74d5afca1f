//! Timed rules per department and the tickets they are due for: idle tickets to close, waiting
//! tickets to move on, unanswered tickets whose agent is reminded. Department 0 stands for
//! tickets without a department.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// One department's timed rules; a minutes value of 0 switches that rule off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimedRule {
    /// 0: tickets without a department (the chatbot's among them).
    pub department_id: i64,
    pub close_idle_minutes: i64,
    pub close_message: String,
    pub transfer_after_minutes: i64,
    pub transfer_to: Option<i64>,
    /// Remind the assignee of a ticket whose customer waits this long for an answer.
    pub remind_after_minutes: i64,
}

impl TimedRule {
    pub fn is_off(&self) -> bool {
        self.close_idle_minutes == 0
            && (self.transfer_after_minutes == 0 || self.transfer_to.is_none())
            && self.remind_after_minutes == 0
    }
}

const COLUMNS: &str =
    "department_id, close_idle_minutes, close_message, transfer_after_minutes, transfer_to, remind_after_minutes";

fn from_row(r: &sqlx::any::AnyRow) -> Result<TimedRule, sqlx::Error> {
    Ok(TimedRule {
        department_id: r.try_get(0)?,
        close_idle_minutes: r.try_get(1)?,
        close_message: r.try_get(2)?,
        transfer_after_minutes: r.try_get(3)?,
        transfer_to: r.try_get(4)?,
        remind_after_minutes: r.try_get(5)?,
    })
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<TimedRule>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM timed_rules WHERE tenant_id = $1 ORDER BY department_id");
    sqlx::query(&sql).bind(tenant.0).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// Replaces a company's rules with `rules` (rules that are off are not stored).
pub async fn replace(tx: &mut super::Tx, tenant: TenantId, rules: &[TimedRule], now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM timed_rules WHERE tenant_id = $1").bind(tenant.0).execute(&mut **tx).await?;
    for r in rules.iter().filter(|r| !r.is_off()) {
        sqlx::query(
            "INSERT INTO timed_rules (tenant_id, department_id, close_idle_minutes, close_message, transfer_after_minutes,
                 transfer_to, remind_after_minutes, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant.0)
        .bind(r.department_id)
        .bind(r.close_idle_minutes)
        .bind(&r.close_message)
        .bind(r.transfer_after_minutes)
        .bind(r.transfer_to)
        .bind(r.remind_after_minutes)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Companies with at least one rule, after `after` (a pass walks them in id order).
pub async fn tenants_with_rules<'e>(
    ex: impl Executor<'e, Database = Any>,
    after: i64,
    limit: i64,
) -> Result<Vec<TenantId>, sqlx::Error> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT DISTINCT tenant_id FROM timed_rules WHERE tenant_id > $1 ORDER BY tenant_id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(ex)
            .await?;
    Ok(rows.into_iter().map(|(t,)| TenantId(t)).collect())
}

/// Tickets of a department (0: none) still open or waiting whose last message is the business's
/// and older than `before`: the customer left them idle. (The newest message's direction says who
/// wrote last; the timestamps cannot, as the customer's come from their phone.)
pub async fn idle_tickets<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let sql = format!(
        "SELECT id FROM tickets
         WHERE tenant_id = $1 AND {} AND status IN ('open', 'waiting', 'bot')
           AND last_message_at < $3
           AND (SELECT m.direction FROM messages m WHERE m.tenant_id = tickets.tenant_id AND m.ticket_id = tickets.id
                AND m.direction <> 'note' ORDER BY m.id DESC LIMIT 1) = 'out'
         ORDER BY last_message_at, id LIMIT $4",
        in_department(department)
    );
    let rows: Vec<(i64,)> =
        sqlx::query_as(&sql).bind(tenant.0).bind(department).bind(before).bind(limit).fetch_all(ex).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Tickets of a department waiting for people (nobody took them) since before `before`.
pub async fn waiting_tickets<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let sql = format!(
        "SELECT id FROM tickets
         WHERE tenant_id = $1 AND {} AND status = 'waiting' AND assignee_id IS NULL
           AND COALESCE(queued_at, created_at) < $3
         ORDER BY COALESCE(queued_at, created_at), id LIMIT $4",
        in_department(department)
    );
    let rows: Vec<(i64,)> =
        sqlx::query_as(&sql).bind(tenant.0).bind(department).bind(before).bind(limit).fetch_all(ex).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// A ticket whose assignee is due a reminder, and what about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unanswered {
    pub ticket_id: i64,
    pub assignee_id: i64,
    /// The customer's newest message, still unanswered.
    pub message_id: i64,
}

/// The business's newest word on a ticket (notes are the team's, not an answer), as a
/// correlated subquery on `tickets`.
const NEWEST_MESSAGE: &str =
    "(SELECT m.id FROM messages m WHERE m.tenant_id = tickets.tenant_id AND m.ticket_id = tickets.id
      AND m.direction <> 'note' ORDER BY m.id DESC LIMIT 1)";

/// Open tickets of a department (0: none) with an assignee whose newest message is the
/// customer's, stored before `before`, and whose assignee was not reminded since the business
/// last answered: the last reminder was about an earlier message and an answer came after it.
/// (Stored time, not the phone's: the customer's clock says nothing about our wait.)
pub async fn unanswered_tickets<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<Unanswered>, sqlx::Error> {
    let sql = format!(
        "SELECT tickets.id, tickets.assignee_id, m.id FROM tickets
         JOIN messages m ON m.tenant_id = tickets.tenant_id AND m.id = {NEWEST_MESSAGE}
         WHERE tickets.tenant_id = $1 AND {} AND tickets.status = 'open' AND tickets.assignee_id IS NOT NULL
           AND m.direction = 'in' AND m.created_at < $3
           AND (tickets.reminded_message_id IS NULL OR EXISTS (SELECT 1 FROM messages o
                WHERE o.tenant_id = tickets.tenant_id AND o.ticket_id = tickets.id AND o.direction = 'out'
                  AND o.id > tickets.reminded_message_id))
         ORDER BY m.id LIMIT $4",
        in_department(department)
    );
    let rows: Vec<(i64, i64, i64)> =
        sqlx::query_as(&sql).bind(tenant.0).bind(department).bind(before).bind(limit).fetch_all(ex).await?;
    Ok(rows
        .into_iter()
        .map(|(ticket_id, assignee_id, message_id)| Unanswered { ticket_id, assignee_id, message_id })
        .collect())
}

/// Records the reminder about `u.message_id` if the ticket still stands as it was found (open,
/// the same assignee, that message still the newest, not reminded of it yet): a compare-and-set,
/// so two passes, or an answer sent meanwhile, leave one reminder at most. False when it moved.
pub async fn mark_reminded<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    u: &Unanswered,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE tickets SET reminded_message_id = $4
         WHERE tenant_id = $1 AND id = $2 AND status = 'open' AND assignee_id = $3
           AND (reminded_message_id IS NULL OR reminded_message_id <> $4) AND {NEWEST_MESSAGE} = $4"
    );
    let done =
        sqlx::query(&sql).bind(tenant.0).bind(u.ticket_id).bind(u.assignee_id).bind(u.message_id).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

/// The department condition: `department_id = $2` (the index's), or no department for 0 (`$2`
/// is still bound, and compared, so both forms take the same parameters).
fn in_department(department: i64) -> &'static str {
    if department == 0 {
        "department_id IS NULL AND $2 = 0"
    } else {
        "department_id = $2"
    }
}
