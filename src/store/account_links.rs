//! One-time links sent by e-mail (password resets, invitations): only their token's hash.

use sqlx::{Any, Executor, Row};

use crate::domain::{TenantId, UserId};

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    tenant: TenantId,
    user: UserId,
    purpose: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO account_links (token_hash, tenant_id, user_id, purpose, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(tenant.0)
    .bind(user.0)
    .bind(purpose)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The person an unused, unexpired link names, with its purpose.
pub async fn find<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    now: i64,
) -> Result<Option<(TenantId, UserId, String)>, sqlx::Error> {
    let r = sqlx::query(
        "SELECT tenant_id, user_id, purpose FROM account_links
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    r.map(|r| Ok((TenantId(r.try_get(0)?), UserId(r.try_get(1)?), r.try_get(2)?))).transpose()
}

/// Spends a link (false when it was spent or expired meanwhile: of two racing uses, one wins).
pub async fn spend<'e>(ex: impl Executor<'e, Database = Any>, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE account_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every other open link of the person ends once one is used (an old reset e-mail stops working).
pub async fn spend_all_of<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE account_links SET used_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL")
        .bind(tenant.0)
        .bind(user.0)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}
