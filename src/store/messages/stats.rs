//! Message counts for operators: by direction and status, and a connection's outbound outcomes
//! and failure reasons.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// Message counts by direction and status, for `atende admin stats`.
pub async fn counts<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT direction, status, COUNT(*) AS n FROM messages GROUP BY direction, status ORDER BY direction, status",
    )
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("direction")?, r.try_get("status")?, r.try_get("n")?))).collect()
}

/// Outbound messages of a connection by outcome, with the first and last send times.
#[derive(Debug, Default)]
pub struct OutboundSummary {
    /// Accepted by the provider (they have its id), whatever happened to them after.
    pub accepted: i64,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub first_sent_at: i64,
    pub last_sent_at: i64,
}

pub async fn outbound_summary<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection_id: i64,
) -> Result<OutboundSummary, sqlx::Error> {
    let r = sqlx::query(
        "SELECT
            CAST(COALESCE(SUM(CASE WHEN provider_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS accepted,
            CAST(COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0) AS BIGINT) AS queued,
            CAST(COALESCE(SUM(CASE WHEN status IN ('sent', 'delivered', 'read') THEN 1 ELSE 0 END), 0) AS BIGINT) AS sent,
            CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed,
            CAST(COALESCE(MIN(CASE WHEN provider_id IS NOT NULL THEN sent_at END), 0) AS BIGINT) AS first_sent_at,
            CAST(COALESCE(MAX(CASE WHEN provider_id IS NOT NULL THEN sent_at END), 0) AS BIGINT) AS last_sent_at
         FROM messages WHERE tenant_id = $1 AND connection_id = $2 AND direction = 'out'",
    )
    .bind(tenant.0)
    .bind(connection_id)
    .fetch_one(ex)
    .await?;
    Ok(OutboundSummary {
        accepted: r.try_get("accepted")?,
        queued: r.try_get("queued")?,
        sent: r.try_get("sent")?,
        failed: r.try_get("failed")?,
        first_sent_at: r.try_get("first_sent_at")?,
        last_sent_at: r.try_get("last_sent_at")?,
    })
}

/// Why outbound messages of a connection failed, most frequent first.
pub async fn failure_reasons<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    connection_id: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT COALESCE(error_title, '') AS reason, COUNT(*) AS n FROM messages
         WHERE tenant_id = $1 AND connection_id = $2 AND direction = 'out' AND status = 'failed'
         GROUP BY COALESCE(error_title, '') ORDER BY n DESC",
    )
    .bind(tenant.0)
    .bind(connection_id)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("reason")?, r.try_get("n")?))).collect()
}
