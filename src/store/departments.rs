//! Departments ("filas / setores"), their members, and the state automatic distribution keeps
//! (the round-robin cursor).

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::Backend;
use crate::domain::inbox::DistributionMode;
use crate::domain::TenantId;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Department {
    pub id: i64,
    pub tenant_id: TenantId,
    pub name: String,
    pub colour: String,
    pub greeting: String,
    pub sign_messages: bool,
    pub distribution_mode: DistributionMode,
    pub rr_cursor: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, tenant_id, name, colour, greeting, sign_messages, distribution_mode, rr_cursor, created_at";

fn from_row(r: &AnyRow) -> Result<Department, sqlx::Error> {
    let mode: String = r.try_get("distribution_mode")?;
    Ok(Department {
        id: r.try_get("id")?,
        tenant_id: TenantId(r.try_get("tenant_id")?),
        name: r.try_get("name")?,
        colour: r.try_get("colour")?,
        greeting: r.try_get("greeting")?,
        sign_messages: super::flag(r.try_get("sign_messages")?),
        distribution_mode: DistributionMode::parse(&mode).unwrap_or(DistributionMode::Off),
        rr_cursor: r.try_get("rr_cursor")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A department's editable fields.
pub struct DepartmentFields<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub greeting: &'a str,
    pub sign_messages: bool,
    pub distribution_mode: DistributionMode,
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    f: &DepartmentFields<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO departments (tenant_id, name, colour, greeting, sign_messages, distribution_mode, rr_cursor, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) RETURNING id",
    )
    .bind(tenant.0)
    .bind(f.name)
    .bind(f.colour)
    .bind(f.greeting)
    .bind(f.sign_messages as i64)
    .bind(f.distribution_mode.as_str())
    .bind(now)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

pub async fn update<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    f: &DepartmentFields<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE departments SET name = $1, colour = $2, greeting = $3, sign_messages = $4, distribution_mode = $5,
             updated_at = $6 WHERE tenant_id = $7 AND id = $8",
    )
    .bind(f.name)
    .bind(f.colour)
    .bind(f.greeting)
    .bind(f.sign_messages as i64)
    .bind(f.distribution_mode.as_str())
    .bind(now)
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
) -> Result<Option<Department>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM departments WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(ex).await?.as_ref().map(from_row).transpose()
}

/// [`get`] holding the row until commit on PostgreSQL: distributions of one department queue
/// on it, so two of them never read the same round-robin cursor.
pub async fn get_for_update(
    tx: &mut super::Tx,
    backend: Backend,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Department>, sqlx::Error> {
    let lock = if backend == Backend::Postgres { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {COLUMNS} FROM departments WHERE tenant_id = $1 AND id = $2{lock}");
    sqlx::query(&sql).bind(tenant.0).bind(id).fetch_optional(&mut **tx).await?.as_ref().map(from_row).transpose()
}

pub async fn list<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<Department>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM departments WHERE tenant_id = $1 ORDER BY name, id");
    sqlx::query(&sql).bind(tenant.0).fetch_all(ex).await?.iter().map(from_row).collect()
}

/// A department's own week (`domain::hours::WeekSchedule` as JSON; empty: it follows the
/// company's hours); None when the company has no such department.
pub async fn hours<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT hours FROM departments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(ex)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Every department's own week (empty ones included), by department id.
pub async fn all_hours<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query("SELECT id, hours FROM departments WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant.0)
        .fetch_all(ex)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Sets a department's own week (empty: it follows the company's); false when there is no such
/// department in the company.
pub async fn set_hours<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    hours: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE departments SET hours = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(hours)
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a department: its tickets, connections and quick replies lose it first (tickets keep
/// their history in `ticket_events`).
pub async fn delete(tx: &mut super::Tx, tenant: TenantId, id: i64) -> Result<bool, sqlx::Error> {
    for sql in [
        "UPDATE tickets SET department_id = NULL WHERE tenant_id = $1 AND department_id = $2",
        "UPDATE connections SET default_department_id = NULL WHERE tenant_id = $1 AND default_department_id = $2",
        "DELETE FROM quick_replies WHERE tenant_id = $1 AND department_id = $2",
        "DELETE FROM department_members WHERE tenant_id = $1 AND department_id = $2",
        "DELETE FROM timed_rules WHERE tenant_id = $1 AND (department_id = $2 OR transfer_to = $2)",
        "UPDATE keyword_rules SET department_id = NULL WHERE tenant_id = $1 AND department_id = $2",
    ] {
        sqlx::query(sql).bind(tenant.0).bind(id).execute(&mut **tx).await?;
    }
    let done = sqlx::query("DELETE FROM departments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_cursor<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    id: i64,
    cursor: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE departments SET rr_cursor = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(cursor)
        .bind(tenant.0)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn add_member<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department_id: i64,
    user_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO department_members (tenant_id, department_id, user_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(department_id)
    .bind(user_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn remove_member<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department_id: i64,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM department_members WHERE tenant_id = $1 AND department_id = $2 AND user_id = $3")
            .bind(tenant.0)
            .bind(department_id)
            .bind(user_id)
            .execute(ex)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn is_member<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department_id: i64,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("SELECT 1 FROM department_members WHERE tenant_id = $1 AND department_id = $2 AND user_id = $3")
        .bind(tenant.0)
        .bind(department_id)
        .bind(user_id)
        .fetch_optional(ex)
        .await?
        .is_some())
}

/// Departments a user belongs to.
pub async fn of_user<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT department_id FROM department_members WHERE tenant_id = $1 AND user_id = $2 ORDER BY department_id",
    )
    .bind(tenant.0)
    .bind(user_id)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// A member as distribution and the admin page see them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub last_seen_at: Option<i64>,
    /// Chose "Ausente": distribution skips them.
    pub away: bool,
    /// Open tickets they attend now.
    pub open_tickets: i64,
}

/// Active members of a department seen since `seen_since` and not marked away (the online
/// ones): whom automatic distribution may hand a ticket to. Runs inside the ingest transaction, so it counts nothing.
pub async fn online_members<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department_id: i64,
    seen_since: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.id FROM department_members dm JOIN users u ON u.tenant_id = dm.tenant_id AND u.id = dm.user_id
         WHERE dm.tenant_id = $1 AND dm.department_id = $2 AND u.active = 1 AND u.away = 0 AND u.last_seen_at >= $3 ORDER BY u.id",
    )
    .bind(tenant.0)
    .bind(department_id)
    .bind(seen_since)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// How many open tickets `user` attends, counted up to `cap`: least-busy distribution only
/// needs to compare small numbers, and an uncapped count would walk every open ticket of a
/// busy agent inside the ingest transaction.
pub async fn open_tickets_capped<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    user: i64,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT COUNT(*) FROM (SELECT 1 FROM tickets
             WHERE tenant_id = $1 AND assignee_id = $2 AND status = 'open' LIMIT $3) AS open_tickets",
    )
    .bind(tenant.0)
    .bind(user)
    .bind(cap)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// Active people who belong to at least one department of the tenant, by name: whom a
/// supervisor may transfer to. No per-person ticket counts (unlike [`members`]), so it stays
/// cheap on a large ticket table.
pub async fn transfer_targets<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
) -> Result<Vec<TransferTarget>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.id, u.name, u.last_seen_at, u.away FROM users u
         WHERE u.tenant_id = $1 AND u.active = 1
           AND EXISTS (SELECT 1 FROM department_members dm WHERE dm.tenant_id = u.tenant_id AND dm.user_id = u.id)
         ORDER BY u.name, u.id",
    )
    .bind(tenant.0)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TransferTarget {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                last_seen_at: r.try_get("last_seen_at")?,
                away: r.try_get::<i64, _>("away")? != 0,
            })
        })
        .collect()
}

/// A person a ticket can be transferred to, with what their presence needs.
#[derive(Clone, Debug)]
pub struct TransferTarget {
    pub id: i64,
    pub name: String,
    pub last_seen_at: Option<i64>,
    pub away: bool,
}

pub async fn members<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    department_id: i64,
) -> Result<Vec<Member>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.id, u.name, u.role, u.active, u.last_seen_at, u.away,
             (SELECT COUNT(*) FROM tickets t WHERE t.tenant_id = u.tenant_id AND t.assignee_id = u.id AND t.status = 'open') AS open_tickets
         FROM department_members dm JOIN users u ON u.tenant_id = dm.tenant_id AND u.id = dm.user_id
         WHERE dm.tenant_id = $1 AND dm.department_id = $2 ORDER BY u.id",
    )
    .bind(tenant.0)
    .bind(department_id)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Member {
                user_id: r.try_get("id")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
                active: super::flag(r.try_get("active")?),
                last_seen_at: r.try_get("last_seen_at")?,
                away: super::flag(r.try_get("away")?),
                open_tickets: r.try_get("open_tickets")?,
            })
        })
        .collect()
}
