//! Tenants (companies). The platform tenant holds the platform admins.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub is_platform: bool,
    pub active: bool,
    pub created_at: i64,
    /// The company's time zone (IANA name): dates and times on its pages, business hours,
    /// protocol days. Kept with its automation settings; Brasília until one is chosen.
    pub time_zone: String,
}

/// The zone of a company that never chose one.
pub const DEFAULT_TIME_ZONE: &str = "America/Sao_Paulo";

/// Columns of `tenants t LEFT JOIN automation a` (the zone lives with the automation settings,
/// one row per company once saved).
const COLUMNS: &str = "t.id, t.slug, t.name, t.is_platform, t.active, t.created_at,
    COALESCE(a.time_zone, 'America/Sao_Paulo') AS time_zone";
const FROM: &str = "tenants t LEFT JOIN automation a ON a.tenant_id = t.id";

fn from_row(r: &AnyRow) -> Result<Tenant, sqlx::Error> {
    Ok(Tenant {
        id: TenantId(r.try_get("id")?),
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        is_platform: super::flag(r.try_get("is_platform")?),
        active: super::flag(r.try_get("active")?),
        created_at: r.try_get("created_at")?,
        time_zone: r.try_get("time_zone")?,
    })
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    slug: &str,
    name: &str,
    is_platform: bool,
    now: i64,
) -> Result<TenantId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO tenants (slug, name, is_platform, active, created_at) VALUES ($1, $2, $3, 1, $4) RETURNING id",
    )
    .bind(slug)
    .bind(name)
    .bind(is_platform as i64)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(TenantId(row.try_get(0)?))
}

pub async fn get<'e>(ex: impl Executor<'e, Database = Any>, id: TenantId) -> Result<Option<Tenant>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE t.id = $1");
    sqlx::query(&sql).bind(id.0).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

pub async fn find_by_slug<'e>(
    ex: impl Executor<'e, Database = Any>,
    slug: &str,
) -> Result<Option<Tenant>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE t.slug = $1");
    sqlx::query(&sql).bind(slug).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<Tenant>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} ORDER BY t.id");
    sqlx::query(&sql).fetch_all(ex).await?.iter().map(from_row).collect()
}

pub async fn count<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM tenants").fetch_one(ex).await?.try_get(0)
}

/// Suspends (`false`) or reactivates a company; the platform tenant is never suspended.
pub async fn set_active<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: TenantId,
    active: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE tenants SET active = $1 WHERE id = $2 AND is_platform = 0")
        .bind(i64::from(active))
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}
