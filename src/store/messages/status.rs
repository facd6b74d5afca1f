//! A message's delivery status: provider reports moved forward (never back), statuses kept
//! until their message appears, and our own sends marked sent or failed.

use sqlx::{Any, Executor, Row};

use crate::domain::message::DeliveryStatus;
use crate::domain::TenantId;

/// What happened to a status update.
#[derive(Debug, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The message moved forward: (message id, ticket id).
    Applied(i64, i64),
    /// The message already had this status or a later one.
    Stale,
    /// No message with this provider id (yet).
    Unknown,
}

/// A provider's report that a message changed status.
#[derive(Clone, Copy)]
pub struct StatusChange<'a> {
    pub connection_id: i64,
    pub provider_id: &'a str,
    pub status: DeliveryStatus,
    pub error_code: Option<i64>,
    pub error_title: Option<&'a str>,
}

/// Moves a message's status forward (never back; `failed` is final).
pub async fn apply_status(
    tx: &mut crate::store::Tx,
    tenant: TenantId,
    c: &StatusChange<'_>,
    now: i64,
) -> Result<StatusOutcome, sqlx::Error> {
    let StatusChange { connection_id, provider_id, status, error_code, error_title } = *c;
    let row = sqlx::query(
        "UPDATE messages SET status = $1, status_rank = $2, error_code = COALESCE($3, error_code),
             error_title = COALESCE($4, error_title), updated_at = $5
         WHERE tenant_id = $6 AND connection_id = $7 AND provider_id = $8 AND status_rank < $2
         RETURNING id, ticket_id",
    )
    .bind(status.as_str())
    .bind(status.rank())
    .bind(error_code)
    .bind(error_title)
    .bind(now)
    .bind(tenant.0)
    .bind(connection_id)
    .bind(provider_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(r) = row {
        return Ok(StatusOutcome::Applied(r.try_get("id")?, r.try_get("ticket_id")?));
    }
    let exists = sqlx::query("SELECT 1 FROM messages WHERE tenant_id = $1 AND connection_id = $2 AND provider_id = $3")
        .bind(tenant.0)
        .bind(connection_id)
        .bind(provider_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(if exists.is_some() { StatusOutcome::Stale } else { StatusOutcome::Unknown })
}

/// Keeps a status whose message is not stored yet; applied when the message appears.
pub async fn keep_pending_status<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    c: &StatusChange<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let StatusChange { connection_id, provider_id, status, error_code, error_title } = *c;
    sqlx::query(
        "INSERT INTO pending_statuses (tenant_id, connection_id, provider_id, status, status_rank, error_code, error_title, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant.0)
    .bind(connection_id)
    .bind(provider_id)
    .bind(status.as_str())
    .bind(status.rank())
    .bind(error_code)
    .bind(error_title)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

pub struct PendingStatus {
    pub status: DeliveryStatus,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
}

/// Removes and returns the kept statuses of a message, highest rank first.
pub async fn take_pending_statuses(
    tx: &mut crate::store::Tx,
    tenant: TenantId,
    connection_id: i64,
    provider_id: &str,
) -> Result<Vec<PendingStatus>, sqlx::Error> {
    let rows = sqlx::query(
        "DELETE FROM pending_statuses WHERE tenant_id = $1 AND connection_id = $2 AND provider_id = $3
         RETURNING status, error_code, error_title, status_rank",
    )
    .bind(tenant.0)
    .bind(connection_id)
    .bind(provider_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut out: Vec<(i64, PendingStatus)> = rows
        .iter()
        .filter_map(|r| {
            let status: String = r.try_get("status").ok()?;
            Some((
                r.try_get("status_rank").ok()?,
                PendingStatus {
                    status: DeliveryStatus::parse(&status)?,
                    error_code: r.try_get("error_code").ok()?,
                    error_title: r.try_get("error_title").ok()?,
                },
            ))
        })
        .collect();
    out.sort_by_key(|(rank, _)| -rank);
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

/// Records the provider's id for a sent message, that it was accepted, and when (`sent_at`:
/// until then it holds the time the message was queued).
pub async fn mark_sent(
    tx: &mut crate::store::Tx,
    tenant: TenantId,
    id: i64,
    provider_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET provider_id = $1, status = 'sent', status_rank = 1, sent_at = $2, updated_at = $2
         WHERE tenant_id = $3 AND id = $4 AND provider_id IS NULL",
    )
    .bind(provider_id)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the `wamid` a status webhook reports for our outbound message `id` (named by its
/// callback data) when the send's own answer has not been recorded: Meta accepted it, so it is
/// `sent`, and a send job that lost Graph's answer sees the id and never sends it again.
pub async fn adopt_provider_id(
    tx: &mut crate::store::Tx,
    tenant: TenantId,
    connection_id: i64,
    id: i64,
    provider_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET provider_id = $1, status = 'sent', status_rank = 1, sent_at = $2, updated_at = $2
         WHERE tenant_id = $3 AND connection_id = $4 AND id = $5 AND direction = 'out' AND provider_id IS NULL",
    )
    .bind(provider_id)
    .bind(now)
    .bind(tenant.0)
    .bind(connection_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks an outbound message failed with a reason people can read.
pub async fn mark_failed<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    code: Option<i64>,
    title: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages SET status = 'failed', status_rank = 4, error_code = $1, error_title = $2, updated_at = $3
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(code)
    .bind(title)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}
