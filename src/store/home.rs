//! Counts for the start page: how far a company is in its first steps, and what waits for one
//! person. Each is one small `COUNT(*)` per question, read on every visit of the page.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

/// What a company has set up so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetupCounts {
    pub connections: i64,
    pub departments: i64,
    /// Active people who attend customers (agents and supervisors), besides the admins.
    pub attendants: i64,
    pub quick_replies: i64,
    pub tickets: i64,
}

async fn count<'e>(ex: impl Executor<'e, Database = Any>, sql: &str, tenant: TenantId) -> Result<i64, sqlx::Error> {
    sqlx::query(sql).bind(tenant.0).fetch_one(ex).await?.try_get(0)
}

pub async fn setup_counts<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    tenant: TenantId,
) -> Result<SetupCounts, sqlx::Error> {
    Ok(SetupCounts {
        connections: count(ex, "SELECT COUNT(*) FROM connections WHERE tenant_id = $1 AND active = 1", tenant).await?,
        departments: count(ex, "SELECT COUNT(*) FROM departments WHERE tenant_id = $1", tenant).await?,
        attendants: count(
            ex,
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND active = 1 AND role IN ('agent', 'supervisor')",
            tenant,
        )
        .await?,
        quick_replies: count(ex, "SELECT COUNT(*) FROM quick_replies WHERE tenant_id = $1", tenant).await?,
        tickets: count(ex, "SELECT COUNT(*) FROM tickets WHERE tenant_id = $1", tenant).await?,
    })
}

/// One person's work: tickets they attend now, and waiting tickets they may take (those of
/// their departments and those with no department yet, as the inbox's visibility rule has it).
pub async fn personal_counts<'e>(
    ex: impl Executor<'e, Database = Any> + Copy,
    tenant: TenantId,
    user: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let open: i64 =
        sqlx::query("SELECT COUNT(*) FROM tickets WHERE tenant_id = $1 AND status = 'open' AND assignee_id = $2")
            .bind(tenant.0)
            .bind(user)
            .fetch_one(ex)
            .await?
            .try_get(0)?;
    let waiting: i64 = sqlx::query(
        "SELECT COUNT(*) FROM tickets t WHERE t.tenant_id = $1 AND t.status = 'waiting' AND (t.department_id IS NULL
             OR t.department_id IN (SELECT dm.department_id FROM department_members dm WHERE dm.tenant_id = $1 AND dm.user_id = $2))",
    )
    .bind(tenant.0)
    .bind(user)
    .fetch_one(ex)
    .await?
    .try_get(0)?;
    Ok((open, waiting))
}
