//! "Quem está vendo": who has a ticket open now (rows beaten by each open page).

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// Records that `user` sees the ticket now; true when they were not counted as viewing it
/// (no row, or one older than `since`).
pub async fn beat(
    tx: &mut super::Tx,
    tenant: TenantId,
    ticket_id: i64,
    user_id: i64,
    now: i64,
    since: i64,
) -> Result<bool, sqlx::Error> {
    let before: Option<i64> =
        sqlx::query("SELECT seen_at FROM ticket_viewers WHERE tenant_id = $1 AND ticket_id = $2 AND user_id = $3")
            .bind(tenant.0)
            .bind(ticket_id)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    sqlx::query(
        "INSERT INTO ticket_viewers (tenant_id, ticket_id, user_id, seen_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (ticket_id, user_id) DO UPDATE SET seen_at = excluded.seen_at",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(before.is_none_or(|at| at < since))
}

/// Forgets `user` on the ticket; true when they were counted as viewing it.
pub async fn leave<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    user_id: i64,
    since: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM ticket_viewers WHERE tenant_id = $1 AND ticket_id = $2 AND user_id = $3 AND seen_at >= $4",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .bind(user_id)
    .bind(since)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Drops the ticket's rows older than `since`; how many went.
pub async fn prune<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    since: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM ticket_viewers WHERE tenant_id = $1 AND ticket_id = $2 AND seen_at < $3")
        .bind(tenant.0)
        .bind(ticket_id)
        .bind(since)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

/// Who sees the ticket now (id, name), by name.
pub async fn of_ticket<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    ticket_id: i64,
    since: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.id, u.name FROM ticket_viewers v JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.user_id
         WHERE v.tenant_id = $1 AND v.ticket_id = $2 AND v.seen_at >= $3 AND u.active = 1 ORDER BY u.name, u.id",
    )
    .bind(tenant.0)
    .bind(ticket_id)
    .bind(since)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}
