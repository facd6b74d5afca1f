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
}

const COLUMNS: &str = "id, slug, name, is_platform, active, created_at";

fn from_row(r: &AnyRow) -> Result<Tenant, sqlx::Error> {
    Ok(Tenant {
        id: TenantId(r.try_get("id")?),
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        is_platform: super::flag(r.try_get("is_platform")?),
        active: super::flag(r.try_get("active")?),
        created_at: r.try_get("created_at")?,
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
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE id = $1");
    sqlx::query(&sql).bind(id.0).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

pub async fn find_by_slug<'e>(
    ex: impl Executor<'e, Database = Any>,
    slug: &str,
) -> Result<Option<Tenant>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE slug = $1");
    sqlx::query(&sql).bind(slug).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<Tenant>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM tenants ORDER BY id");
    sqlx::query(&sql).fetch_all(ex).await?.iter().map(from_row).collect()
}

pub async fn count<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM tenants").fetch_one(ex).await?.try_get(0)
}
