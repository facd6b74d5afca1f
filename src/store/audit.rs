//! The audit log of admin actions: who did what to what, when; its filtered pages and its
//! retention per company.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;

pub async fn record<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    actor: &str,
    action: &str,
    subject: &str,
    details: &serde_json::Value,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, subject, details, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant.0)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(details.to_string())
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

#[derive(Debug, serde::Serialize)]
pub struct AuditEntry {
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: String,
    pub created_at: i64,
}

pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    action: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT actor, action, subject, details, created_at FROM audit_log
         WHERE tenant_id = $1 AND ($2 = '' OR action = $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(tenant.0)
    .bind(action.unwrap_or(""))
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                subject: r.try_get("subject")?,
                details: r.try_get("details")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// What the audit page and `GET /api/v1/audit` filter by; empty fields match everything.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Exactly this actor (`user:7`, `token:3`, `operator`, `customer`).
    pub actor: String,
    /// Exactly this action (`credential.revealed`).
    pub action: String,
    /// This subject (`credential:12`), or every subject under a prefix (`credential`).
    pub subject: String,
    /// From this time (Unix ms, inclusive).
    pub from: Option<i64>,
    /// Until this time (Unix ms, exclusive).
    pub until: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: String,
    pub created_at: i64,
}

/// Escapes LIKE's wildcards so a typed subject matches literally.
fn like_literal(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// One page of a company's audit log, newest first: the `limit` entries older than entry
/// `before` (the newest when `None`) that match `f`.
pub async fn search<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    f: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    let subject = f.subject.trim();
    let prefix = format!("{}:%", like_literal(subject.trim_end_matches(':')));
    let rows = sqlx::query(
        "SELECT id, actor, action, subject, details, created_at FROM audit_log
         WHERE tenant_id = $1 AND ($2 = '' OR actor = $2) AND ($3 = '' OR action = $3)
           AND ($4 = '' OR subject = $4 OR subject LIKE $5 ESCAPE '\\')
           AND created_at >= $6 AND created_at < $7 AND id < $8
         ORDER BY id DESC LIMIT $9",
    )
    .bind(tenant.0)
    .bind(f.actor.trim())
    .bind(f.action.trim())
    .bind(subject)
    .bind(prefix)
    .bind(f.from.unwrap_or(i64::MIN))
    .bind(f.until.unwrap_or(i64::MAX))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditRow {
                id: r.try_get("id")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                subject: r.try_get("subject")?,
                details: r.try_get("details")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// The actions a company's log holds, for the page's filter.
pub async fn actions<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT DISTINCT action FROM audit_log WHERE tenant_id = $1 ORDER BY action")
        .bind(tenant.0)
        .fetch_all(ex)
        .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// How many days a company keeps its audit log when it chose nothing.
pub const DEFAULT_RETENTION_DAYS: i64 = 365;

pub async fn retention_days<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT retention_days FROM audit_settings WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?.unwrap_or(DEFAULT_RETENTION_DAYS))
}

pub async fn set_retention_days(tx: &mut super::Tx, tenant: TenantId, days: i64, now: i64) -> Result<(), sqlx::Error> {
    let updated = sqlx::query("UPDATE audit_settings SET retention_days = $1, updated_at = $2 WHERE tenant_id = $3")
        .bind(days)
        .bind(now)
        .bind(tenant.0)
        .execute(&mut **tx)
        .await?;
    if updated.rows_affected() == 0 {
        sqlx::query("INSERT INTO audit_settings (tenant_id, retention_days, updated_at) VALUES ($1, $2, $3)")
            .bind(tenant.0)
            .bind(days)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Deletes every company's entries older than its retention (365 days without a setting).
pub async fn purge_expired<'e>(ex: impl Executor<'e, Database = Any>, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM audit_log WHERE created_at < $1 - 86400000 * COALESCE(
             (SELECT s.retention_days FROM audit_settings s WHERE s.tenant_id = audit_log.tenant_id), $2)",
    )
    .bind(now)
    .bind(DEFAULT_RETENTION_DAYS)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}
