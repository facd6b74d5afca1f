//! Users (people who log in). Every query is scoped by tenant, except the login look-up by e-mail
//! which returns each match with its tenant.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};

use crate::domain::{Role, TenantId, UserId};

#[derive(Clone, Debug, serde::Serialize)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub locale: Option<String>,
    pub active: bool,
    pub created_at: i64,
    /// Outgoing text starts with `*Name:*` (whatever the department says).
    pub signature_enabled: bool,
    /// Chose "Ausente" in the user menu: keeps their tickets, gets no new ones by distribution.
    pub away: bool,
}

const COLUMNS: &str =
    "u.id, u.tenant_id, u.email, u.name, u.role, u.locale, u.active, u.created_at, u.signature_enabled, u.away";

pub(crate) fn from_row(r: &AnyRow) -> Result<User, sqlx::Error> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: UserId(r.try_get("id")?),
        tenant_id: TenantId(r.try_get("tenant_id")?),
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))?,
        locale: r.try_get("locale")?,
        active: super::flag(r.try_get("active")?),
        created_at: r.try_get("created_at")?,
        signature_enabled: super::flag(r.try_get("signature_enabled")?),
        away: super::flag(r.try_get("away")?),
    })
}

pub struct NewUser<'a> {
    pub tenant_id: TenantId,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    u: NewUser<'_>,
    now: i64,
) -> Result<UserId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO users (tenant_id, email, name, role, password_hash, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING id",
    )
    .bind(u.tenant_id.0)
    .bind(u.email)
    .bind(u.name)
    .bind(u.role.as_str())
    .bind(u.password_hash)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(UserId(row.try_get(0)?))
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: UserId,
) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id.0).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

pub async fn find_by_email<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    email: &str,
) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.email = $2");
    sqlx::query(&sql).bind(tenant.0).bind(email).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

/// A login candidate: the user, the stored hash, and whether the tenant is active.
pub struct LoginCandidate {
    pub user: User,
    pub password_hash: String,
    pub tenant_slug: String,
    pub tenant_active: bool,
}

/// Every user with this e-mail across tenants (optionally of one tenant slug), for login.
pub async fn login_candidates<'e>(
    ex: impl Executor<'e, Database = Any>,
    email: &str,
    tenant_slug: Option<&str>,
) -> Result<Vec<LoginCandidate>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS}, u.password_hash, t.slug AS tenant_slug, t.active AS tenant_active
         FROM users u JOIN tenants t ON t.id = u.tenant_id
         WHERE u.email = $1 AND ($2 = '' OR t.slug = $2) ORDER BY u.id LIMIT 10"
    );
    let rows = sqlx::query(&sql).bind(email).bind(tenant_slug.unwrap_or("")).fetch_all(ex).await?;
    rows.iter()
        .map(|r| {
            Ok(LoginCandidate {
                user: from_row(r)?,
                password_hash: r.try_get("password_hash")?,
                tenant_slug: r.try_get("tenant_slug")?,
                tenant_active: super::flag(r.try_get("tenant_active")?),
            })
        })
        .collect()
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<User>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.tenant_id = $1 ORDER BY u.name, u.id");
    sqlx::query(&sql).bind(tenant.0).fetch_all(ex).await?.iter().map(from_row).collect()
}

pub async fn password_hash<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: UserId,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(ex)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Updates name, role and active flag; returns false when no such user in this tenant.
pub async fn update<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: UserId,
    name: &str,
    role: Role,
    active: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET name = $1, role = $2, active = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(active as i64)
    .bind(now)
    .bind(tenant.0)
    .bind(id.0)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_password<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: UserId,
    hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(hash)
        .bind(now)
        .bind(tenant.0)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_locale<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: UserId,
    locale: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET locale = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(locale)
        .bind(now)
        .bind(tenant.0)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_signature<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: UserId,
    enabled: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET signature_enabled = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(enabled as i64)
        .bind(now)
        .bind(tenant.0)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a person's chosen status (away or online); false when no such person in `tenant`.
pub async fn set_away<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: UserId,
    away: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET away = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(away as i64)
        .bind(now)
        .bind(tenant.0)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a sign of life (a page load, an SSE heartbeat): distribution counts a person online
/// for five minutes after it. Written at most every 30 s per person to spare the writer. The gap
/// since the previous sign of life is credited as time online (reports) when it is shorter
/// than the online window and the person is not away; a longer gap was time away from the app.
/// Run both statements in one transaction (`conn`).
pub async fn touch_presence(
    conn: &mut AnyConnection,
    tenant: TenantId,
    id: UserId,
    now: i64,
) -> Result<(), sqlx::Error> {
    let hour = now - now.rem_euclid(3_600_000);
    sqlx::query(
        "INSERT INTO agent_online (tenant_id, user_id, hour, seconds)
         SELECT tenant_id, id, $4, ($1 - last_seen_at) / 1000 FROM users
         WHERE tenant_id = $2 AND id = $3 AND away = 0 AND last_seen_at >= $5 AND last_seen_at < $6
         ON CONFLICT (tenant_id, user_id, hour) DO UPDATE SET seconds = agent_online.seconds + excluded.seconds",
    )
    .bind(now)
    .bind(tenant.0)
    .bind(id.0)
    .bind(hour)
    .bind(now - crate::domain::inbox::ONLINE_WINDOW_MS)
    .bind(now - PRESENCE_EVERY_MS)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE users SET last_seen_at = $1 WHERE tenant_id = $2 AND id = $3 AND (last_seen_at IS NULL OR last_seen_at < $4)",
    )
    .bind(now)
    .bind(tenant.0)
    .bind(id.0)
    .bind(now - PRESENCE_EVERY_MS)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How often a person's sign of life is written at most.
pub const PRESENCE_EVERY_MS: i64 = 30_000;

/// Marks a person offline at once (logout): distribution skips them.
pub async fn clear_presence<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_seen_at = NULL WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(())
}
