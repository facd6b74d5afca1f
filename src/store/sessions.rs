//! Web sessions: the cookie holds a random token, the table its SHA-256.

use sqlx::{Any, Executor, Row};

use crate::domain::{TenantId, UserId};

use super::tenants::Tenant;
use super::users::User;

/// Where a session was opened from, shown in the person's list of sessions.
#[derive(Clone, Copy, Default)]
pub struct Origin<'a> {
    pub user_agent: &'a str,
    pub client_ip: &'a str,
}

/// A live session's person and company; `must_enrol` when the company requires two-step
/// sign-in and the person has not set it up (their pages lead to the set-up until they do).
pub struct SessionOwner {
    pub user: User,
    pub tenant: Tenant,
    pub must_enrol: bool,
    /// When the session was last seen in use (kept within [`SEEN_EVERY_MS`]).
    pub last_seen_at: i64,
    /// A support session: the platform admin working in this account.
    pub support_by: Option<String>,
}

/// How stale a session's `last_seen_at` may get before a request writes it again: the list of
/// sessions is accurate to minutes, and page loads stay reads.
pub const SEEN_EVERY_MS: i64 = 5 * 60_000;

/// Records that the session was used now.
pub async fn touch<'e>(ex: impl Executor<'e, Database = Any>, token_hash: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    token_hash: &str,
    origin: &Origin<'_>,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (tenant_id, user_id, token_hash, created_at, expires_at, last_seen_at, user_agent, client_ip)
         VALUES ($1, $2, $3, $4, $5, $4, $6, $7)",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .bind(origin.user_agent)
    .bind(origin.client_ip)
    .execute(ex)
    .await?;
    Ok(())
}

/// Marks a session as a support session opened by `by` (a platform admin).
pub async fn mark_support<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET support_by = $1 WHERE token_hash = $2")
        .bind(by)
        .bind(token_hash)
        .execute(ex)
        .await?;
    Ok(())
}

/// The live session for this token: unexpired, its user active, its tenant active.
pub async fn find<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    now: i64,
) -> Result<Option<SessionOwner>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.tenant_id, u.email, u.name, u.role, u.locale, u.active, u.created_at, u.signature_enabled, u.away,
                t.slug AS t_slug, t.name AS t_name, t.is_platform AS t_is_platform, t.created_at AS t_created_at,
                COALESCE(a.time_zone, 'America/Sao_Paulo') AS t_time_zone,
                s.last_seen_at AS s_last_seen_at, s.support_by AS s_support_by,
                CAST(CASE WHEN t.require_two_factor = 1 AND u.totp_secret IS NULL THEN 1 ELSE 0 END AS BIGINT) AS must_enrol
         FROM sessions s
         JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
         JOIN tenants t ON t.id = s.tenant_id
         LEFT JOIN automation a ON a.tenant_id = s.tenant_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1 AND t.active = 1",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let user = super::users::from_row(&r)?;
    let tenant = Tenant {
        id: user.tenant_id,
        slug: r.try_get("t_slug")?,
        name: r.try_get("t_name")?,
        is_platform: super::flag(r.try_get("t_is_platform")?),
        active: true,
        created_at: r.try_get("t_created_at")?,
        time_zone: r.try_get("t_time_zone")?,
    };
    let must_enrol = super::flag(r.try_get("must_enrol")?);
    let last_seen_at = r.try_get("s_last_seen_at")?;
    let support_by = r.try_get("s_support_by")?;
    Ok(Some(SessionOwner { user, tenant, must_enrol, last_seen_at, support_by }))
}

/// Ends one session; returns whose it was (none when it was already gone).
pub async fn delete<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
) -> Result<Option<(TenantId, UserId)>, sqlx::Error> {
    let row = sqlx::query("DELETE FROM sessions WHERE token_hash = $1 RETURNING tenant_id, user_id")
        .bind(token_hash)
        .fetch_optional(ex)
        .await?;
    row.map(|r| Ok((TenantId(r.try_get(0)?), UserId(r.try_get(1)?)))).transpose()
}

/// Ends every session of a user (deactivation, password reset).
pub async fn delete_for_user<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

/// Ends every session of a user but one (after changing one's own password).
pub async fn delete_others<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    keep_hash: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND token_hash <> $3")
        .bind(tenant.0)
        .bind(user.0)
        .bind(keep_hash)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

pub async fn purge_expired<'e>(ex: impl Executor<'e, Database = Any>, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(ex).await?.rows_affected())
}
