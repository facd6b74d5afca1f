//! Quick replies (`/atalho`): tenant-wide (no department) or for one department.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

#[derive(Clone, Debug, serde::Serialize)]
pub struct QuickReply {
    pub id: i64,
    pub department_id: Option<i64>,
    pub shortcut: String,
    pub body: String,
}

fn from_row(r: &AnyRow) -> Result<QuickReply, sqlx::Error> {
    Ok(QuickReply {
        id: r.try_get("id")?,
        department_id: r.try_get("department_id")?,
        shortcut: r.try_get("shortcut")?,
        body: r.try_get("body")?,
    })
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department_id: Option<i64>,
    shortcut: &str,
    body: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO quick_replies (tenant_id, department_id, shortcut, body, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(tenant.0)
    .bind(department_id)
    .bind(shortcut)
    .bind(body)
    .bind(now)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

pub async fn update<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    department_id: Option<i64>,
    shortcut: &str,
    body: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE quick_replies SET department_id = $1, shortcut = $2, body = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6",
    )
    .bind(department_id)
    .bind(shortcut)
    .bind(body)
    .bind(now)
    .bind(tenant.0)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM quick_replies WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<QuickReply>, sqlx::Error> {
    sqlx::query("SELECT id, department_id, shortcut, body FROM quick_replies WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Quick replies of a tenant: all of them (`departments: None`), or the tenant-wide ones plus
/// those of the given departments. By shortcut.
pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    departments: Option<&[i64]>,
) -> Result<Vec<QuickReply>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, department_id, shortcut, body FROM quick_replies WHERE tenant_id = $1 ORDER BY shortcut, department_id, id",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    let all: Vec<QuickReply> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok(match departments {
        None => all,
        Some(ds) => all.into_iter().filter(|q| q.department_id.is_none_or(|d| ds.contains(&d))).collect(),
    })
}

/// The reply a shortcut means on a ticket of `department`: that department's own, else the
/// tenant-wide one.
pub async fn find<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department: Option<i64>,
    shortcut: &str,
) -> Result<Option<QuickReply>, sqlx::Error> {
    sqlx::query(
        "SELECT id, department_id, shortcut, body FROM quick_replies
         WHERE tenant_id = $1 AND shortcut = $2 AND (department_id IS NULL OR department_id = $3)
         ORDER BY CASE WHEN department_id IS NULL THEN 1 ELSE 0 END LIMIT 1",
    )
    .bind(tenant.0)
    .bind(shortcut)
    .bind(department.unwrap_or(0))
    .fetch_optional(ex)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}
