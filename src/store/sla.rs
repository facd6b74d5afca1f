//! SLA rows: a company's policies (the matrix per company or department), each ticket's
//! classification and clock (`ticket_sla`), and the scan's cursor over new tickets.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

// ---------------------------------------------------------------- policies

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// 0: the company's; else the department's own.
    pub department_id: i64,
    /// `domain::sla::Matrix` as JSON.
    pub matrix: String,
    pub updated_at: i64,
}

pub async fn policies<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<Policy>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT department_id, matrix, updated_at FROM sla_policies WHERE tenant_id = $1 ORDER BY department_id",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| Ok(Policy { department_id: r.try_get(0)?, matrix: r.try_get(1)?, updated_at: r.try_get(2)? }))
        .collect()
}

pub async fn put_policy<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department_id: i64,
    matrix: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sla_policies (tenant_id, department_id, matrix, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, department_id) DO UPDATE SET matrix = excluded.matrix, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(department_id)
    .bind(matrix)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn delete_policy<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sla_policies WHERE tenant_id = $1 AND department_id = $2")
        .bind(tenant.0)
        .bind(department_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Every open ticket of the company is timed again by the next scan (a policy changed): rows
/// are made for those without one, and every row is marked stale.
pub async fn mark_company_stale(tx: &mut super::Tx, tenant: TenantId, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ticket_sla (ticket_id, tenant_id, started_at, stale, updated_at)
         SELECT id, tenant_id, created_at, 1, $1 FROM tickets WHERE tenant_id = $2 AND status <> 'closed'
         ON CONFLICT (ticket_id) DO NOTHING",
    )
    .bind(now)
    .bind(tenant.0)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE ticket_sla SET stale = 1 WHERE tenant_id = $1
           AND ticket_id IN (SELECT id FROM tickets WHERE tenant_id = $1 AND status <> 'closed')",
    )
    .bind(tenant.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- a ticket's clock

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TicketSla {
    pub ticket_id: i64,
    pub tenant_id: i64,
    pub urgency: Option<String>,
    pub complexity: Option<String>,
    /// "Abrir chamado" made it a support ticket.
    pub support: bool,
    pub started_at: i64,
    pub response_warn_at: Option<i64>,
    pub response_due_at: Option<i64>,
    pub resolution_warn_at: Option<i64>,
    pub resolution_due_at: Option<i64>,
    /// Waiting on the customer since (the resolution clock is stopped).
    pub paused_at: Option<i64>,
    /// Open time spent paused so far.
    pub paused_ms: i64,
    pub alerts: i64,
    pub next_alert_at: Option<i64>,
    pub breached_at: Option<i64>,
    pub stale: bool,
}

const COLUMNS: &str = "ticket_id, tenant_id, urgency, complexity, support, started_at, response_warn_at, \
    response_due_at, resolution_warn_at, resolution_due_at, paused_at, paused_ms, alerts, next_alert_at, breached_at, stale";

fn from_row(r: &sqlx::any::AnyRow) -> Result<TicketSla, sqlx::Error> {
    Ok(TicketSla {
        ticket_id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        urgency: r.try_get(2)?,
        complexity: r.try_get(3)?,
        support: super::flag(r.try_get(4)?),
        started_at: r.try_get(5)?,
        response_warn_at: r.try_get(6)?,
        response_due_at: r.try_get(7)?,
        resolution_warn_at: r.try_get(8)?,
        resolution_due_at: r.try_get(9)?,
        paused_at: r.try_get(10)?,
        paused_ms: r.try_get(11)?,
        alerts: r.try_get(12)?,
        next_alert_at: r.try_get(13)?,
        breached_at: r.try_get(14)?,
        stale: super::flag(r.try_get(15)?),
    })
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
) -> Result<Option<TicketSla>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM ticket_sla WHERE tenant_id = $1 AND ticket_id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(ticket_id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

/// The rows of these tickets (an inbox page's), in no order.
pub async fn of_tickets<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ids: &[i64],
) -> Result<Vec<TicketSla>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers we hold, so they go into the text; the tenant is bound.
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = format!("SELECT {COLUMNS} FROM ticket_sla WHERE tenant_id = $1 AND ticket_id IN ({list})");
    sqlx::query(&sql).bind(tenant.0).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// Writes the whole row (insert or replace), clearing `stale`.
pub async fn save<'e>(ex: impl Executor<'e, Database = Any>, s: &TicketSla, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ticket_sla (ticket_id, tenant_id, urgency, complexity, support, started_at, response_warn_at,
             response_due_at, resolution_warn_at, resolution_due_at, paused_at, paused_ms, alerts, next_alert_at,
             breached_at, stale, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16)
         ON CONFLICT (ticket_id) DO UPDATE SET urgency = excluded.urgency, complexity = excluded.complexity,
             support = excluded.support, started_at = excluded.started_at,
             response_warn_at = excluded.response_warn_at, response_due_at = excluded.response_due_at,
             resolution_warn_at = excluded.resolution_warn_at, resolution_due_at = excluded.resolution_due_at,
             paused_at = excluded.paused_at, paused_ms = excluded.paused_ms, alerts = excluded.alerts,
             next_alert_at = excluded.next_alert_at, breached_at = excluded.breached_at, stale = 0,
             updated_at = excluded.updated_at",
    )
    .bind(s.ticket_id)
    .bind(s.tenant_id)
    .bind(&s.urgency)
    .bind(&s.complexity)
    .bind(i64::from(s.support))
    .bind(s.started_at)
    .bind(s.response_warn_at)
    .bind(s.response_due_at)
    .bind(s.resolution_warn_at)
    .bind(s.resolution_due_at)
    .bind(s.paused_at)
    .bind(s.paused_ms)
    .bind(s.alerts)
    .bind(s.next_alert_at)
    .bind(s.breached_at)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// A chatbot's pre-analysis: sets urgency and/or complexity (None keeps the value) and leaves
/// the deadlines to the next scan.
pub async fn set_classification<'e>(
    ex: impl Executor<'e, Database = Any>,
    t: &crate::store::tickets::Ticket,
    urgency: Option<&str>,
    complexity: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ticket_sla (ticket_id, tenant_id, urgency, complexity, started_at, stale, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6)
         ON CONFLICT (ticket_id) DO UPDATE SET urgency = COALESCE(excluded.urgency, ticket_sla.urgency),
             complexity = COALESCE(excluded.complexity, ticket_sla.complexity), stale = 1, updated_at = excluded.updated_at",
    )
    .bind(t.id)
    .bind(t.tenant_id.0)
    .bind(urgency)
    .bind(complexity)
    .bind(t.created_at)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Records raised alerts only if no one else raised any since the row was read (`seen`): two
/// scans never send the same alert twice.
pub async fn save_alerts(tx: &mut super::Tx, s: &TicketSla, seen: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE ticket_sla SET alerts = $1, next_alert_at = $2, breached_at = $3, updated_at = $4
         WHERE tenant_id = $5 AND ticket_id = $6 AND alerts = $7",
    )
    .bind(s.alerts)
    .bind(s.next_alert_at)
    .bind(s.breached_at)
    .bind(now)
    .bind(s.tenant_id)
    .bind(s.ticket_id)
    .bind(seen)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A ticket moved to another department: its clock is timed again by the next scan (no-op
/// for a ticket without a row).
pub async fn mark_stale<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE ticket_sla SET stale = 1 WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(ticket_id)
        .execute(ex)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- the scan

/// A ticket the scan has not seen yet.
pub struct NewTicket {
    pub id: i64,
    pub tenant: TenantId,
    pub created_at: i64,
}

/// Tickets past the scan's cursor (every company), oldest first.
pub async fn new_tickets<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    limit: i64,
) -> Result<Vec<NewTicket>, sqlx::Error> {
    let cursor: i64 = sqlx::query("SELECT last_ticket_id FROM sla_scan WHERE id = 1")
        .fetch_optional(ex)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0);
    let rows = sqlx::query("SELECT id, tenant_id, created_at FROM tickets WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(cursor)
        .bind(limit)
        .fetch_all(ex)
        .await?;
    rows.iter()
        .map(|r| Ok(NewTicket { id: r.try_get(0)?, tenant: TenantId(r.try_get(1)?), created_at: r.try_get(2)? }))
        .collect()
}

/// Inserts stale rows for these tickets (skipping those that have one) and moves the cursor to
/// `cursor` (the last id read, timed or not).
pub async fn take_new(tx: &mut super::Tx, tickets: &[&NewTicket], cursor: i64, now: i64) -> Result<(), sqlx::Error> {
    for NewTicket { id, tenant, created_at, .. } in tickets.iter().copied() {
        sqlx::query(
            "INSERT INTO ticket_sla (ticket_id, tenant_id, started_at, stale, updated_at) VALUES ($1, $2, $3, 1, $4)
             ON CONFLICT (ticket_id) DO NOTHING",
        )
        .bind(id)
        .bind(tenant.0)
        .bind(created_at)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE sla_scan SET last_ticket_id = $1 WHERE id = 1 AND last_ticket_id < $1")
        .bind(cursor)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Rows whose clock must be computed again.
pub async fn stale<'e>(ex: impl Executor<'e, Database = Any>, limit: i64) -> Result<Vec<TicketSla>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM ticket_sla WHERE stale = 1 ORDER BY ticket_id LIMIT $1");
    sqlx::query(&sql).bind(limit).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// Paused rows whose customer has written since the pause: (row, the customer's message time).
pub async fn answered_while_paused<'e>(
    ex: impl Executor<'e, Database = Any>,
    limit: i64,
) -> Result<Vec<(TicketSla, i64)>, sqlx::Error> {
    let columns = COLUMNS.split(", ").map(|c| format!("s.{}", c.trim())).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {columns}, t.last_inbound_at FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id
         WHERE s.paused_at IS NOT NULL AND t.last_inbound_at > s.paused_at ORDER BY s.ticket_id LIMIT $1"
    );
    let rows = sqlx::query(&sql).bind(limit).fetch_all(ex).await?;
    rows.iter().map(|r| Ok((from_row(r)?, r.try_get(16)?))).collect()
}

/// Rows with an alert due by `now`, earliest first.
pub async fn alerts_due<'e>(
    ex: impl Executor<'e, Database = Any>,
    now: i64,
    limit: i64,
) -> Result<Vec<TicketSla>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ticket_sla WHERE next_alert_at IS NOT NULL AND next_alert_at <= $1
         ORDER BY next_alert_at LIMIT $2"
    );
    sqlx::query(&sql).bind(now).bind(limit).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// Open tickets of the company past a deadline, most overdue first (the supervisor's list
/// starts with them).
pub async fn breached_open<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.ticket_id FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id
         WHERE s.tenant_id = $1 AND s.breached_at IS NOT NULL AND t.status <> 'closed'
         ORDER BY s.breached_at LIMIT $2",
    )
    .bind(tenant.0)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// Closed tickets leave the "late first" list: their `breached_at` is cleared (the compliance
/// figures compare deadlines with close times, not this). Touches only rows marked breached.
pub async fn forget_closed_breaches<'e>(ex: impl Executor<'e, Database = Any>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE ticket_sla SET breached_at = NULL
         WHERE breached_at IS NOT NULL
           AND ticket_id IN (SELECT t.id FROM tickets t JOIN ticket_sla s ON s.ticket_id = t.id
                             WHERE s.breached_at IS NOT NULL AND t.status = 'closed')",
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// SLA compliance of the tickets closed in [from, to): (timed first responses, met; timed
/// resolutions, met).
pub async fn compliance<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    from: i64,
    to: i64,
) -> Result<[i64; 4], sqlx::Error> {
    let r = sqlx::query(
        "SELECT
           COALESCE(SUM(CASE WHEN s.response_due_at IS NOT NULL AND t.first_agent_reply_at IS NOT NULL THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN t.first_agent_reply_at <= s.response_due_at THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN s.resolution_due_at IS NOT NULL THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN t.closed_at <= s.resolution_due_at THEN 1 ELSE 0 END), 0)
         FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id
         WHERE s.tenant_id = $1 AND t.tenant_id = $1 AND t.status = 'closed' AND t.closed_at >= $2 AND t.closed_at < $3",
    )
    .bind(tenant.0)
    .bind(from)
    .bind(to)
    .fetch_one(ex)
    .await?;
    Ok([r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?])
}
