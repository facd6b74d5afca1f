//! The durable job queue table: enqueue (inside the caller's transaction), claim with a lease,
//! complete, fail with a retry time or as dead, and release leases on shutdown.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::ids::JobId;
use crate::domain::TenantId;

use super::{Backend, Db};

#[derive(Clone, Debug)]
pub struct Job {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Tries so far, this one included.
    pub attempts: i64,
    pub max_attempts: i64,
    pub lease_token: String,
}

pub struct NewJob<'a> {
    pub tenant_id: TenantId,
    pub kind: &'a str,
    pub payload: &'a serde_json::Value,
    pub run_at: i64,
    pub max_attempts: i64,
    /// At most one job per tenant and key ever exists (periodic work, idempotent sends).
    pub dedupe_key: Option<&'a str>,
}

/// Enqueues a job; `None` when a job with the same dedupe key already exists.
pub async fn enqueue<'e>(
    ex: impl Executor<'e, Database = Any>,
    job: NewJob<'_>,
    now: i64,
) -> Result<Option<JobId>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO jobs (tenant_id, kind, payload, state, run_at, attempts, max_attempts, dedupe_key, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6, $7, $7)
         ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
         RETURNING id",
    )
    .bind(job.tenant_id.0)
    .bind(job.kind)
    .bind(job.payload.to_string())
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(job.dedupe_key)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    row.map(|r| r.try_get(0).map(JobId)).transpose()
}

fn from_row(r: &AnyRow, lease_token: &str) -> Result<Job, sqlx::Error> {
    let payload: String = r.try_get("payload")?;
    Ok(Job {
        id: JobId(r.try_get("id")?),
        tenant_id: TenantId(r.try_get("tenant_id")?),
        kind: r.try_get("kind")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        lease_token: lease_token.to_string(),
    })
}

/// Claims up to `limit` due jobs, including running jobs whose lease expired (their worker died).
///
/// Two clocks: `now` (the application's clock, which tests move forward) decides which queued
/// jobs are due; `lease_now` (real time) decides which leases ran out and where the new one ends.
/// A lease measures how long a worker has been silent, so a test clock jumping an hour ahead
/// must not expire the lease of a job that is still running and being renewed.
///
/// PostgreSQL: the candidates are picked once, in a materialised CTE that locks them with
/// `SKIP LOCKED`, and the UPDATE re-checks the claim condition on the row it writes. A plain
/// `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` leaves it to the planner
/// whether the subquery runs once, and its UPDATE writes whatever id the subquery produced
/// without asking whether the row is still claimable. SQLite serialises through its single
/// writer, so the same statement without the lock clause is atomic there.
pub async fn claim(
    db: &Db,
    limit: i64,
    now: i64,
    lease_now: i64,
    lease_ms: i64,
    lease_token: &str,
) -> Result<Vec<Job>, sqlx::Error> {
    let (materialized, lock) = match db.backend {
        Backend::Postgres => ("MATERIALIZED", "FOR UPDATE SKIP LOCKED"),
        Backend::Sqlite => ("", ""),
    };
    let sql = format!(
        "WITH picked AS {materialized} (
             SELECT id FROM jobs
             WHERE (state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until < $5)
             ORDER BY run_at LIMIT $4 {lock})
         UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, lease_token = $2, updated_at = $3
         FROM picked
         WHERE jobs.id = picked.id
           AND ((jobs.state = 'queued' AND jobs.run_at <= $3) OR (jobs.state = 'running' AND jobs.lease_until < $5))
         RETURNING jobs.id, jobs.tenant_id, jobs.kind, jobs.payload, jobs.attempts, jobs.max_attempts"
    );
    let rows = sqlx::query(&sql)
        .bind(lease_now + lease_ms)
        .bind(lease_token)
        .bind(now)
        .bind(limit)
        .bind(lease_now)
        .fetch_all(db.writer())
        .await?;
    rows.iter().map(|r| from_row(r, lease_token)).collect()
}

/// Claims one queued, due job by its dedupe key (a job just enqueued that its creator runs at
/// once); `None` when it is not queued any more (another worker took it) or not due.
pub async fn claim_key(
    db: &Db,
    tenant: TenantId,
    dedupe_key: &str,
    now: i64,
    lease_until: i64,
    lease_token: &str,
) -> Result<Option<Job>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, lease_token = $2, updated_at = $3
         WHERE tenant_id = $4 AND dedupe_key = $5 AND state = 'queued' AND run_at <= $3
         RETURNING id, tenant_id, kind, payload, attempts, max_attempts",
    )
    .bind(lease_until)
    .bind(lease_token)
    .bind(now)
    .bind(tenant.0)
    .bind(dedupe_key)
    .fetch_optional(db.writer())
    .await?;
    row.map(|r| from_row(&r, lease_token)).transpose()
}

/// Marks a claimed job done; false when the lease was lost to another worker meanwhile.
pub async fn complete<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: JobId,
    lease_token: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'done', lease_until = NULL, lease_token = NULL, last_error = NULL, updated_at = $1
         WHERE id = $2 AND lease_token = $3 AND state = 'running'",
    )
    .bind(now)
    .bind(id.0)
    .bind(lease_token)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Pushes the lease of a running job forward (to `lease_until`, real time); false when this
/// claim no longer holds it. Inside a transaction it is also the fence for a job's effects: the
/// UPDATE locks the job row until commit, so the job cannot be claimed again meanwhile, and a
/// run that lost its lease learns so before it writes anything.
pub async fn extend_lease<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: JobId,
    lease_token: &str,
    lease_until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_token = $3 AND state = 'running'")
        .bind(lease_until)
        .bind(id.0)
        .bind(lease_token)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failure: back to `queued` at `retry_at`, or `dead` when `retry_at` is `None`.
pub async fn fail<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: JobId,
    lease_token: &str,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let (state, run_at) = match retry_at {
        Some(t) => ("queued", t),
        None => ("dead", now),
    };
    let done = sqlx::query(
        "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, lease_until = NULL, lease_token = NULL, updated_at = $4
         WHERE id = $5 AND lease_token = $6 AND state = 'running'",
    )
    .bind(state)
    .bind(run_at)
    .bind(error)
    .bind(now)
    .bind(id.0)
    .bind(lease_token)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives back the jobs whose lease token starts with `prefix` (one process's, on graceful
/// shutdown) without counting the interrupted try.
pub async fn release_prefix<'e>(
    ex: impl Executor<'e, Database = Any>,
    prefix: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_until = NULL, lease_token = NULL, updated_at = $1
         WHERE state = 'running' AND substr(lease_token, 1, length($2)) = $2",
    )
    .bind(now)
    .bind(prefix)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct JobRow {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
}

pub async fn get<'e>(ex: impl Executor<'e, Database = Any>, id: JobId) -> Result<Option<JobRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, tenant_id, kind, state, attempts, max_attempts, run_at, last_error FROM jobs WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(JobRow {
            id: JobId(r.try_get("id")?),
            tenant_id: TenantId(r.try_get("tenant_id")?),
            kind: r.try_get("kind")?,
            state: r.try_get("state")?,
            attempts: r.try_get("attempts")?,
            max_attempts: r.try_get("max_attempts")?,
            run_at: r.try_get("run_at")?,
            last_error: r.try_get("last_error")?,
        })
    })
    .transpose()
}

/// Job counts by state (`queued`, `running`, `done`, `dead`).
pub async fn counts_by_state<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state ORDER BY state").fetch_all(ex).await?;
    rows.iter().map(|r| Ok((r.try_get("state")?, r.try_get("n")?))).collect()
}

/// Deletes finished jobs older than `before` (dead jobs are kept for people to inspect).
pub async fn purge_done<'e>(ex: impl Executor<'e, Database = Any>, before: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM jobs WHERE state = 'done' AND updated_at < $1")
        .bind(before)
        .execute(ex)
        .await?
        .rows_affected())
}

/// Jobs of a kind that needed more than one try (benchmarks: a paced sender should need none).
pub async fn count_retried<'e>(ex: impl Executor<'e, Database = Any>, kind: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM jobs WHERE kind = $1 AND attempts > 1").bind(kind).fetch_one(ex).await?.try_get(0)
}
