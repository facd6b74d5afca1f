//! Two-step sign-in: a person's sealed TOTP secret, their recovery codes, the login challenges
//! waiting for a code, a company's requirement, and the list of a person's sessions.

use sqlx::{Any, Executor, Row};

use crate::domain::{TenantId, UserId};

/// A person's enrolment: the sealed secret (when enrolled), the one being enrolled, the last
/// step a code was accepted for.
pub struct Enrolment {
    pub secret: Option<String>,
    pub pending: Option<String>,
    pub last_step: i64,
}

pub async fn enrolment<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
) -> Result<Enrolment, sqlx::Error> {
    let r = sqlx::query("SELECT totp_secret, totp_pending, totp_last_step FROM users WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .fetch_optional(ex)
        .await?;
    Ok(match r {
        Some(r) => Enrolment { secret: r.try_get(0)?, pending: r.try_get(1)?, last_step: r.try_get(2)? },
        None => Enrolment { secret: None, pending: None, last_step: 0 },
    })
}

pub async fn set_pending<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    sealed: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET totp_pending = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .bind(sealed)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// Turns the pending secret into the enrolled one (or clears both with `None`).
pub async fn set_secret<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    sealed: Option<&str>,
    last_step: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET totp_secret = $3, totp_pending = NULL, totp_last_step = $4, updated_at = $5
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(sealed)
    .bind(last_step)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Records the step of an accepted code, only when it is later than the one recorded: of two
/// logins racing with one code, one wins.
pub async fn spend_step<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    step: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE users SET totp_last_step = $3 WHERE tenant_id = $1 AND id = $2 AND totp_last_step < $3")
            .bind(tenant.0)
            .bind(user.0)
            .bind(step)
            .execute(ex)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a person's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    tx: &mut sqlx::Transaction<'_, Any>,
    tenant: TenantId,
    user: UserId,
    hashes: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.0)
        .bind(user.0)
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (tenant_id, user_id, code_hash) VALUES ($1, $2, $3)")
            .bind(tenant.0)
            .bind(user.0)
            .bind(hash)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Marks an unused recovery code used; false when there is none with this hash.
pub async fn spend_recovery_code<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $4
         WHERE tenant_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(hash)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn recovery_codes_left<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL")
        .bind(tenant.0)
        .bind(user.0)
        .fetch_one(ex)
        .await?
        .try_get(0)
}

// ---------- login challenges ----------

pub struct Challenge {
    pub id: i64,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub attempts: i64,
    pub next_path: String,
}

pub async fn insert_challenge<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    tenant: TenantId,
    user: UserId,
    next_path: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO login_challenges (token_hash, tenant_id, user_id, created_at, expires_at, next_path)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(tenant.0)
    .bind(user.0)
    .bind(now)
    .bind(expires_at)
    .bind(next_path)
    .execute(ex)
    .await?;
    Ok(())
}

/// The unexpired challenge of this cookie, counting this attempt (the count is what stops
/// guessing: see `actions::two_factor`).
pub async fn attempt_challenge<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    now: i64,
) -> Result<Option<Challenge>, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE login_challenges SET attempts = attempts + 1 WHERE token_hash = $1 AND expires_at > $2
         RETURNING id, tenant_id, user_id, attempts, next_path",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    r.map(|r| {
        Ok(Challenge {
            id: r.try_get(0)?,
            tenant_id: TenantId(r.try_get(1)?),
            user_id: UserId(r.try_get(2)?),
            attempts: r.try_get(3)?,
            next_path: r.try_get(4)?,
        })
    })
    .transpose()
}

pub async fn delete_challenge<'e>(ex: impl Executor<'e, Database = Any>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_challenges WHERE id = $1").bind(id).execute(ex).await?;
    Ok(())
}

pub async fn purge_challenges<'e>(ex: impl Executor<'e, Database = Any>, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM login_challenges WHERE expires_at <= $1").bind(now).execute(ex).await?.rows_affected())
}

// ---------- the company's rule ----------

pub async fn required<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<bool, sqlx::Error> {
    let r =
        sqlx::query("SELECT require_two_factor FROM tenants WHERE id = $1").bind(tenant.0).fetch_optional(ex).await?;
    Ok(match r {
        Some(r) => super::flag(r.try_get(0)?),
        None => false,
    })
}

pub async fn set_required<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    required: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tenants SET require_two_factor = $2 WHERE id = $1")
        .bind(tenant.0)
        .bind(i64::from(required))
        .execute(ex)
        .await?;
    Ok(())
}

// ---------- a person's sessions ----------

pub struct SessionRow {
    pub id: i64,
    pub token_hash: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user_agent: String,
    pub client_ip: String,
}

pub async fn sessions_of<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    now: i64,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, token_hash, created_at, last_seen_at, user_agent, client_ip FROM sessions
         WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3 ORDER BY last_seen_at DESC, id DESC",
    )
    .bind(tenant.0)
    .bind(user.0)
    .bind(now)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SessionRow {
                id: r.try_get(0)?,
                token_hash: r.try_get(1)?,
                created_at: r.try_get(2)?,
                last_seen_at: r.try_get(3)?,
                user_agent: r.try_get(4)?,
                client_ip: r.try_get(5)?,
            })
        })
        .collect()
}

/// Ends one of a person's sessions by its id (only theirs); false when it was not theirs or gone.
pub async fn delete_session<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: UserId,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND id = $3")
        .bind(tenant.0)
        .bind(user.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}
