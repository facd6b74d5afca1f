//! The audit log of admin actions: who did what to what, when.

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
