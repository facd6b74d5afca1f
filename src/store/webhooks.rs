//! Outgoing webhooks: subscriptions, deliveries (one per subscription and event), their attempts,
//! the fan-out bookmark over the events table, and the per-tenant SSRF setting.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Subscription {
    pub id: i64,
    pub tenant_id: TenantId,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    #[serde(skip)]
    pub secret_sealed: String,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Subscription {
    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

const SUBSCRIPTION_COLUMNS: &str =
    "id, tenant_id, url, description, events, secret_sealed, active, created_at, updated_at";

fn subscription(r: &AnyRow) -> Result<Subscription, sqlx::Error> {
    let events: String = r.try_get("events")?;
    Ok(Subscription {
        id: r.try_get("id")?,
        tenant_id: TenantId(r.try_get("tenant_id")?),
        url: r.try_get("url")?,
        description: r.try_get("description")?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        secret_sealed: r.try_get("secret_sealed")?,
        active: super::flag(r.try_get("active")?),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub struct NewSubscription<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a [String],
    pub secret_sealed: &'a str,
    pub active: bool,
}

pub async fn insert_subscription<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    s: NewSubscription<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let events = serde_json::to_string(s.events).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO webhook_subscriptions (tenant_id, url, description, events, secret_sealed, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(tenant.0)
    .bind(s.url)
    .bind(s.description)
    .bind(events)
    .bind(s.secret_sealed)
    .bind(s.active as i64)
    .bind(now)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// Subscriptions of a tenant in id order after `after_id` (keyset pagination).
pub async fn list_subscriptions<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Subscription>, sqlx::Error> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions
         WHERE tenant_id = $1 AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $3"
    );
    let rows = sqlx::query(&sql).bind(tenant.0).bind(after_id).bind(limit).fetch_all(ex).await?;
    rows.iter().map(subscription).collect()
}

pub async fn get_subscription<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Subscription>, sqlx::Error> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"
    );
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(subscription).transpose()
}

/// Every active subscription of every tenant (the fan-out's routing table; a small table).
pub async fn active_subscriptions<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<Subscription>, sqlx::Error> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE active = 1 AND deleted_at IS NULL ORDER BY id"
    );
    let rows = sqlx::query(&sql).fetch_all(ex).await?;
    rows.iter().map(subscription).collect()
}

pub async fn update_subscription<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    s: &Subscription,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let events = serde_json::to_string(&s.events).unwrap_or_else(|_| "[]".into());
    let done = sqlx::query(
        "UPDATE webhook_subscriptions SET url = $1, description = $2, events = $3, active = $4, updated_at = $5
         WHERE tenant_id = $6 AND id = $7 AND deleted_at IS NULL",
    )
    .bind(&s.url)
    .bind(&s.description)
    .bind(events)
    .bind(s.active as i64)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletion keeps the row (its deliveries and attempts stay readable in the audit trail) but
/// hides it everywhere and stops its deliveries.
pub async fn delete_subscription<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_subscriptions SET deleted_at = $1, active = 0, updated_at = $1
         WHERE tenant_id = $2 AND id = $3 AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------- deliveries ----------

#[derive(Clone, Debug, serde::Serialize)]
pub struct Delivery {
    pub id: i64,
    pub tenant_id: TenantId,
    pub subscription_id: i64,
    pub event_id: Option<i64>,
    pub event: String,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub window_attempts: i64,
    pub window_started_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub replays: i64,
    pub job_id: Option<i64>,
    pub created_at: i64,
}

impl Delivery {
    /// Failed for good, or still failing between retries: a person may send it again now.
    pub fn replayable(&self) -> bool {
        matches!(self.state.as_str(), "dead" | "retrying" | "cancelled")
    }
}

const DELIVERY_COLUMNS: &str =
    "id, tenant_id, subscription_id, event_id, event, body, state, attempts, window_attempts, \
    window_started_at, next_attempt_at, last_attempt_at, last_status_code, last_latency_ms, last_error, delivered_at, \
    replays, job_id, created_at";

fn delivery(r: &AnyRow) -> Result<Delivery, sqlx::Error> {
    Ok(Delivery {
        id: r.try_get("id")?,
        tenant_id: TenantId(r.try_get("tenant_id")?),
        subscription_id: r.try_get("subscription_id")?,
        event_id: r.try_get("event_id")?,
        event: r.try_get("event")?,
        body: r.try_get("body")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        window_attempts: r.try_get("window_attempts")?,
        window_started_at: r.try_get("window_started_at")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_attempt_at: r.try_get("last_attempt_at")?,
        last_status_code: r.try_get("last_status_code")?,
        last_latency_ms: r.try_get("last_latency_ms")?,
        last_error: r.try_get("last_error")?,
        delivered_at: r.try_get("delivered_at")?,
        replays: r.try_get("replays")?,
        job_id: r.try_get("job_id")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Creates the delivery of `event_id` to a subscription; `None` when it already exists (the
/// unique key is what makes a repeated fan-out harmless).
pub async fn insert_delivery<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    subscription_id: i64,
    event_id: Option<i64>,
    event: &str,
    body: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO webhook_deliveries (tenant_id, subscription_id, event_id, event, body, state, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $6)
         ON CONFLICT (subscription_id, event_id, event) DO NOTHING RETURNING id",
    )
    .bind(tenant.0)
    .bind(subscription_id)
    .bind(event_id)
    .bind(event)
    .bind(body)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Replaces the body of a freshly inserted delivery (its id is part of the body).
pub async fn set_delivery_body<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    body: &str,
    job_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE webhook_deliveries SET body = $1, job_id = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(body)
        .bind(job_id)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn get_delivery<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Delivery>, sqlx::Error> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(delivery).transpose()
}

/// Deliveries of a subscription, newest first, older than `before_id` (keyset pagination).
pub async fn list_deliveries<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    subscription_id: i64,
    before_id: i64,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
         WHERE tenant_id = $1 AND subscription_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4"
    );
    let rows = sqlx::query(&sql).bind(tenant.0).bind(subscription_id).bind(before_id).bind(limit).fetch_all(ex).await?;
    rows.iter().map(delivery).collect()
}

/// What one try of a delivery produced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Attempt {
    pub attempt: i64,
    pub started_at: i64,
    pub outcome: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

/// Records a try and the delivery's new state in the caller's transaction; `false` (nothing
/// written) when job `job_id` no longer carries the delivery (a replay handed it to a new job).
/// The try's number is the delivery's counter after the database incremented it, not
/// `a.attempt`: a number computed from an earlier read repeats when two runs overlap.
#[allow(clippy::too_many_arguments)]
pub async fn record_attempt(
    tx: &mut super::Tx,
    tenant: TenantId,
    delivery_id: i64,
    job_id: i64,
    a: &Attempt,
    state: &str,
    window_started_at: i64,
    next_attempt_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let delivered_at = (state == "delivered").then_some(now);
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, window_attempts = window_attempts + 1,
             window_started_at = $2, next_attempt_at = $3, last_attempt_at = $4, last_status_code = $5,
             last_latency_ms = $6, last_error = $7, delivered_at = COALESCE($8, delivered_at), updated_at = $9
         WHERE tenant_id = $10 AND id = $11 AND job_id = $12
         RETURNING attempts",
    )
    .bind(state)
    .bind(window_started_at)
    .bind(next_attempt_at)
    .bind(a.started_at)
    .bind(a.status_code)
    .bind(a.latency_ms)
    .bind(a.error.as_deref())
    .bind(delivered_at)
    .bind(now)
    .bind(tenant.0)
    .bind(delivery_id)
    .bind(job_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = done else {
        return Ok(false);
    };
    let number: i64 = row.try_get(0)?;
    sqlx::query(
        "INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, started_at, outcome, status_code, latency_ms, error, response_excerpt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tenant.0)
    .bind(delivery_id)
    .bind(number)
    .bind(a.started_at)
    .bind(&a.outcome)
    .bind(a.status_code)
    .bind(a.latency_ms)
    .bind(a.error.as_deref())
    .bind(a.response_excerpt.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// Stops a delivery whose subscription went away or was paused (a replay can restart it).
pub async fn cancel_delivery<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    reason: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_deliveries SET state = 'cancelled', next_attempt_at = NULL, last_error = $1, updated_at = $2
         WHERE tenant_id = $3 AND id = $4",
    )
    .bind(reason)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

/// A replay: a new retry window starting now, carried by job `job_id`; `false` when the
/// delivery is not (or no longer) in a state that can be replayed.
pub async fn restart_delivery<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    job_id: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', window_attempts = 0, window_started_at = NULL,
             next_attempt_at = $1, replays = replays + 1, job_id = COALESCE($2, job_id), updated_at = $1
         WHERE tenant_id = $3 AND id = $4 AND state IN ('dead', 'retrying', 'cancelled')",
    )
    .bind(now)
    .bind(job_id)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn attempts<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    delivery_id: i64,
) -> Result<Vec<Attempt>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT attempt, started_at, outcome, status_code, latency_ms, error, response_excerpt FROM webhook_attempts
         WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY id",
    )
    .bind(tenant.0)
    .bind(delivery_id)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attempt {
                attempt: r.try_get("attempt")?,
                started_at: r.try_get("started_at")?,
                outcome: r.try_get("outcome")?,
                status_code: r.try_get("status_code")?,
                latency_ms: r.try_get("latency_ms")?,
                error: r.try_get("error")?,
                response_excerpt: r.try_get("response_excerpt")?,
            })
        })
        .collect()
}

/// Dead-lettered deliveries per subscription of a tenant (the UI's alert).
pub async fn dead_counts<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.subscription_id, COUNT(*) FROM webhook_deliveries d
         JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.tenant_id = d.tenant_id
         WHERE d.tenant_id = $1 AND d.state = 'dead' AND s.deleted_at IS NULL
         GROUP BY d.subscription_id ORDER BY d.subscription_id",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

// ---------- fan-out ----------

/// A live event as the fan-out reads it.
#[derive(Clone, Debug)]
pub struct EventRow {
    pub id: i64,
    pub tenant_id: TenantId,
    pub kind: String,
    pub data: String,
    pub created_at: i64,
}

fn event_row(r: &AnyRow) -> Result<EventRow, sqlx::Error> {
    Ok(EventRow {
        id: r.try_get("id")?,
        tenant_id: TenantId(r.try_get("tenant_id")?),
        kind: r.try_get("kind")?,
        data: r.try_get("data")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Events of every tenant after `after` (the fan-out reads all tenants' events in one pass).
pub async fn events_after<'e>(
    ex: impl Executor<'e, Database = Any>,
    after: i64,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT id, tenant_id, kind, data, created_at FROM events WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(ex)
            .await?;
    rows.iter().map(event_row).collect()
}

/// Events with these ids that exist now (ids the fan-out skipped because their transaction had
/// not committed yet).
pub async fn events_with_ids<'e>(
    ex: impl Executor<'e, Database = Any>,
    ids: &[i64],
) -> Result<Vec<EventRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    // Integers formatted by us: nothing from outside reaches this statement.
    let sql = format!("SELECT id, tenant_id, kind, data, created_at FROM events WHERE id IN ({list}) ORDER BY id");
    let rows = sqlx::query(&sql).persistent(false).fetch_all(ex).await?;
    rows.iter().map(event_row).collect()
}

pub async fn max_event_id<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT MAX(id) FROM events").fetch_one(ex).await?;
    Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
}

/// The fan-out bookmark; on PostgreSQL locked until commit, so instances take turns.
pub async fn lock_cursor(tx: &mut super::Tx, backend: super::Backend) -> Result<i64, sqlx::Error> {
    let lock = if backend == super::Backend::Postgres { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT last_event_id FROM webhook_dispatch WHERE id = 1{lock}");
    let row = sqlx::query(&sql).fetch_optional(&mut **tx).await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
}

pub async fn read_cursor<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT last_event_id FROM webhook_dispatch WHERE id = 1").fetch_optional(ex).await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
}

/// Moves the bookmark forward (never back: another instance may be ahead).
pub async fn advance_cursor<'e>(ex: impl Executor<'e, Database = Any>, to: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE webhook_dispatch SET last_event_id = $1, updated_at = $2 WHERE id = 1 AND last_event_id < $1")
        .bind(to)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

// ---------- settings ----------

pub async fn allow_private_networks<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT allow_private_networks FROM webhook_settings WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?.is_some_and(super::flag))
}

pub async fn set_allow_private_networks<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    allow: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_settings (tenant_id, allow_private_networks, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET allow_private_networks = excluded.allow_private_networks,
             updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(allow as i64)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Deletes settled deliveries (delivered or cancelled) last touched before `before`, with their
/// attempts; dead letters stay until someone replays them or the subscription is deleted.
pub async fn purge_settled(db: &super::Db, before: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN (
             SELECT id FROM webhook_deliveries WHERE state IN ('delivered', 'cancelled') AND updated_at < $1)",
    )
    .bind(before)
    .execute(&mut *tx)
    .await?;
    let done =
        sqlx::query("DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'cancelled') AND updated_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}
