//! Scheduled messages and their occurrences. Every query names the tenant, but
//! [`due_tenants`], the scan's walk over companies with something due.

use sqlx::{Any, Executor, Row};

use crate::domain::outbound::Attached;
use crate::domain::TenantId;

/// One schedule as stored (see migration 0023).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Schedule {
    pub id: i64,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub contact_id: i64,
    pub connection_id: Option<i64>,
    pub body: String,
    /// `once`, `daily`, `weekly` or `monthly`.
    pub kind: String,
    /// Weekday bits, Monday = 1 … Sunday = 64.
    pub weekdays: i64,
    pub month_day: i64,
    /// Local date and time of the first occurrence, "2026-12-24T09:30".
    pub start_local: String,
    pub until_date: Option<String>,
    pub max_count: Option<i64>,
    pub business_hours: bool,
    pub marketing: bool,
    /// The approved template sent when the customer's window is closed (or always, with no text).
    pub template_id: Option<i64>,
    /// A file sent with the text as its caption.
    pub media: Option<Attached>,
    /// `active`, `paused`, `cancelled` or `finished`.
    pub status: String,
    /// The next occurrence by the rule (Unix ms).
    pub slot_at: Option<i64>,
    /// When that occurrence goes (Unix ms).
    pub run_at: Option<i64>,
    pub done_count: i64,
    pub last_state: Option<String>,
    pub last_error: Option<String>,
    pub last_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a create or an edit writes.
#[derive(Clone, Debug)]
pub struct ScheduleFields<'a> {
    pub contact_id: i64,
    pub connection_id: Option<i64>,
    pub body: &'a str,
    pub kind: &'a str,
    pub weekdays: i64,
    pub month_day: i64,
    pub start_local: &'a str,
    pub until_date: Option<&'a str>,
    pub max_count: Option<i64>,
    pub business_hours: bool,
    pub marketing: bool,
    pub template_id: Option<i64>,
    pub media: Option<&'a Attached>,
}

const COLUMNS: &str = "id, tenant_id, contact_id, connection_id, body, kind, weekdays, month_day, start_local,
    until_date, max_count, business_hours, marketing, status, slot_at, run_at, done_count, last_state, last_error,
    last_at, created_by, created_at, updated_at, template_id, media";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Schedule, sqlx::Error> {
    Ok(Schedule {
        id: r.try_get(0)?,
        tenant_id: TenantId(r.try_get(1)?),
        contact_id: r.try_get(2)?,
        connection_id: r.try_get(3)?,
        body: r.try_get(4)?,
        kind: r.try_get(5)?,
        weekdays: r.try_get(6)?,
        month_day: r.try_get(7)?,
        start_local: r.try_get(8)?,
        until_date: r.try_get(9)?,
        max_count: r.try_get(10)?,
        business_hours: r.try_get::<i64, _>(11)? != 0,
        marketing: r.try_get::<i64, _>(12)? != 0,
        status: r.try_get(13)?,
        slot_at: r.try_get(14)?,
        run_at: r.try_get(15)?,
        done_count: r.try_get(16)?,
        last_state: r.try_get(17)?,
        last_error: r.try_get(18)?,
        last_at: r.try_get(19)?,
        created_by: r.try_get(20)?,
        created_at: r.try_get(21)?,
        updated_at: r.try_get(22)?,
        template_id: r.try_get(23)?,
        media: r.try_get::<Option<String>, _>(24)?.as_deref().and_then(Attached::parse),
    })
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    f: &ScheduleFields<'_>,
    slot: (Option<i64>, Option<i64>),
    created_by: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO schedules (tenant_id, contact_id, connection_id, body, kind, weekdays, month_day, start_local,
             until_date, max_count, business_hours, marketing, status, slot_at, run_at, created_by, created_at, updated_at,
             template_id, media)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active', $13, $14, $15, $16, $16, $17, $18)
         RETURNING id",
    )
    .bind(tenant.0)
    .bind(f.contact_id)
    .bind(f.connection_id)
    .bind(f.body)
    .bind(f.kind)
    .bind(f.weekdays)
    .bind(f.month_day)
    .bind(f.start_local)
    .bind(f.until_date)
    .bind(f.max_count)
    .bind(i64::from(f.business_hours))
    .bind(i64::from(f.marketing))
    .bind(slot.0)
    .bind(slot.1)
    .bind(created_by)
    .bind(now)
    .bind(f.template_id)
    .bind(f.media.map(Attached::to_json))
    .fetch_one(ex)
    .await
}

/// Rewrites a schedule's fields and its next occurrence (an edit); the count starts over.
pub async fn update<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    f: &ScheduleFields<'_>,
    slot: (Option<i64>, Option<i64>),
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE schedules SET contact_id = $3, connection_id = $4, body = $5, kind = $6, weekdays = $7, month_day = $8,
             start_local = $9, until_date = $10, max_count = $11, business_hours = $12, marketing = $13, slot_at = $14,
             run_at = $15, updated_at = $16, template_id = $17, media = $18
         WHERE tenant_id = $1 AND id = $2 AND status IN ('active', 'paused')",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(f.contact_id)
    .bind(f.connection_id)
    .bind(f.body)
    .bind(f.kind)
    .bind(f.weekdays)
    .bind(f.month_day)
    .bind(f.start_local)
    .bind(f.until_date)
    .bind(f.max_count)
    .bind(i64::from(f.business_hours))
    .bind(i64::from(f.marketing))
    .bind(slot.0)
    .bind(slot.1)
    .bind(now)
    .bind(f.template_id)
    .bind(f.media.map(Attached::to_json))
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a schedule from one of `from` to `status` (pause, resume, cancel), with a new next
/// occurrence; false when it is not in one of `from`.
pub async fn set_status<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    from: &[&str],
    status: &str,
    slot: (Option<i64>, Option<i64>),
    now: i64,
) -> Result<bool, sqlx::Error> {
    let allowed = from.iter().map(|s| format!("'{}'", s.replace('\'', ""))).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "UPDATE schedules SET status = $3, slot_at = $4, run_at = $5, updated_at = $6
         WHERE tenant_id = $1 AND id = $2 AND status IN ({allowed})"
    );
    let done =
        sqlx::query(&sql).bind(tenant.0).bind(id).bind(status).bind(slot.0).bind(slot.1).bind(now).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Schedule>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM schedules WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

/// A company's schedules (or one contact's), active and paused first by next run, then the rest
/// newest first.
pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    contact: Option<i64>,
    limit: i64,
) -> Result<Vec<Schedule>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM schedules WHERE tenant_id = $1 AND ($2 = 0 OR contact_id = $2)
         ORDER BY CASE WHEN status IN ('active', 'paused') THEN 0 ELSE 1 END, run_at, id DESC LIMIT $3"
    );
    sqlx::query(&sql)
        .bind(tenant.0)
        .bind(contact.unwrap_or(0))
        .bind(limit)
        .fetch_all(ex)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Companies with an active schedule due at `now`, after `after` in id order.
pub async fn due_tenants<'e>(
    ex: impl Executor<'e, Database = Any>,
    now: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<TenantId>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT DISTINCT tenant_id FROM schedules WHERE status = 'active' AND run_at <= $1 AND tenant_id > $2
         ORDER BY tenant_id LIMIT $3",
    )
    .bind(now)
    .bind(after)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|(t,)| TenantId(t)).collect())
}

/// A company's active schedules due at `now`, the most overdue first.
pub async fn due<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    now: i64,
    limit: i64,
) -> Result<Vec<Schedule>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM schedules WHERE tenant_id = $1 AND status = 'active' AND run_at <= $2
         ORDER BY run_at, id LIMIT $3"
    );
    sqlx::query(&sql).bind(tenant.0).bind(now).bind(limit).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// Records an occurrence; false when it was already recorded (the unique key held).
#[allow(clippy::too_many_arguments)]
pub async fn record_occurrence<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    schedule: i64,
    due_at: i64,
    state: &str,
    error_code: Option<&str>,
    message_id: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO schedule_occurrences (tenant_id, schedule_id, due_at, state, error_code, message_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (schedule_id, due_at) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(schedule)
    .bind(due_at)
    .bind(state)
    .bind(error_code)
    .bind(message_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The outcome of handling the occurrence at `slot`: the schedule moves on to `next` (or
/// finishes), compare-and-set on the slot it was at; false when another run moved it first.
#[allow(clippy::too_many_arguments)]
pub async fn advance<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    slot: i64,
    next: (Option<i64>, Option<i64>),
    state: &str,
    error: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE schedules SET slot_at = $4, run_at = $5,
             status = CASE WHEN $4 IS NULL THEN 'finished' ELSE status END,
             done_count = done_count + 1, last_state = $6, last_error = $7, last_at = $8, updated_at = $8
         WHERE tenant_id = $1 AND id = $2 AND slot_at = $3 AND status = 'active'",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(slot)
    .bind(next.0)
    .bind(next.1)
    .bind(state)
    .bind(error)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One handled occurrence, for the history.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Occurrence {
    pub due_at: i64,
    pub state: String,
    pub error_code: Option<String>,
    pub message_id: Option<i64>,
}

pub async fn occurrences<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    schedule: i64,
    limit: i64,
) -> Result<Vec<Occurrence>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT due_at, state, error_code, message_id FROM schedule_occurrences
         WHERE tenant_id = $1 AND schedule_id = $2 ORDER BY due_at DESC LIMIT $3",
    )
    .bind(tenant.0)
    .bind(schedule)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Occurrence {
                due_at: r.try_get(0)?,
                state: r.try_get(1)?,
                error_code: r.try_get(2)?,
                message_id: r.try_get(3)?,
            })
        })
        .collect()
}

/// The connection of the contact's newest ticket, else the company's first active one.
pub async fn default_connection<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    contact: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM (
             SELECT t.connection_id AS id, 0 AS rank, t.id AS ord FROM tickets t
               JOIN connections c ON c.id = t.connection_id AND c.tenant_id = t.tenant_id
              WHERE t.tenant_id = $1 AND t.contact_id = $2 AND c.active = 1 AND c.removed_at IS NULL
             UNION ALL
             SELECT id, 1 AS rank, -id AS ord FROM connections WHERE tenant_id = $1 AND active = 1 AND removed_at IS NULL
         ) x ORDER BY rank, ord DESC LIMIT 1",
    )
    .bind(tenant.0)
    .bind(contact)
    .fetch_optional(ex)
    .await
}
