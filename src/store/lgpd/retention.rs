//! The retention setting of each company (`retention_settings`, absent row = 12 months, never
//! purged) and the purge's batches: message content older than a cutoff removed in place (the
//! row's skeleton stays for the reports), the previews of tickets idle since then cleared.

use sqlx::{Any, Executor, Row};

use crate::domain::TenantId;
use crate::store::Tx;

pub const DEFAULT_MONTHS: i64 = 12;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Retention {
    pub months: i64,
    pub last_run_at: Option<i64>,
    pub last_purge_at: Option<i64>,
    pub last_purge_messages: i64,
    pub last_purge_files: i64,
    pub total_messages: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            months: DEFAULT_MONTHS,
            last_run_at: None,
            last_purge_at: None,
            last_purge_messages: 0,
            last_purge_files: 0,
            total_messages: 0,
        }
    }
}

pub async fn get<'e>(ex: impl Executor<'e, Database = Any>, tenant: TenantId) -> Result<Retention, sqlx::Error> {
    let row = sqlx::query(
        "SELECT months, last_run_at, last_purge_at, last_purge_messages, last_purge_files, total_messages
         FROM retention_settings WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(Retention::default()) };
    Ok(Retention {
        months: r.try_get(0)?,
        last_run_at: r.try_get(1)?,
        last_purge_at: r.try_get(2)?,
        last_purge_messages: r.try_get(3)?,
        last_purge_files: r.try_get(4)?,
        total_messages: r.try_get(5)?,
    })
}

/// Every company's months (companies without a row keep the default), after `after`, in order.
pub async fn companies<'e>(
    ex: impl Executor<'e, Database = Any>,
    after: i64,
    limit: i64,
) -> Result<Vec<(TenantId, i64)>, sqlx::Error> {
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT t.id, r.months FROM tenants t LEFT JOIN retention_settings r ON r.tenant_id = t.id
         WHERE t.is_platform = 0 AND t.id > $1 ORDER BY t.id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|(t, m)| (TenantId(t), m.unwrap_or(DEFAULT_MONTHS))).collect())
}

pub async fn set_months(tx: &mut Tx, tenant: TenantId, months: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO retention_settings (tenant_id, months, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET months = excluded.months, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(months)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a pass over the company: when it ran and, when it purged something, what.
pub async fn record_run(tx: &mut Tx, tenant: TenantId, messages: i64, files: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO retention_settings (tenant_id, months, last_run_at, last_purge_at, last_purge_messages,
             last_purge_files, total_messages, updated_at)
         VALUES ($1, $2, $3, CASE WHEN $4 > 0 THEN $3 END, $4, $5, $4, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET last_run_at = excluded.last_run_at,
             last_purge_at = CASE WHEN $4 > 0 THEN $3 ELSE retention_settings.last_purge_at END,
             last_purge_messages = CASE WHEN $4 > 0 THEN $4 ELSE retention_settings.last_purge_messages END,
             last_purge_files = CASE WHEN $4 > 0 THEN $5 ELSE retention_settings.last_purge_files END,
             total_messages = retention_settings.total_messages + $4",
    )
    .bind(tenant.0)
    .bind(DEFAULT_MONTHS)
    .bind(now)
    .bind(messages)
    .bind(files)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The next messages of the company stored before `cutoff` whose content is still there:
/// (id, media name).
pub async fn due<'e>(
    ex: impl Executor<'e, Database = Any>,
    tenant: TenantId,
    cutoff: i64,
    limit: i64,
) -> Result<Vec<(i64, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, media_path FROM messages WHERE tenant_id = $1 AND created_at < $2 AND redacted_at IS NULL
         ORDER BY created_at, id LIMIT $3",
    )
    .bind(tenant.0)
    .bind(cutoff)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Removes the content of these messages (and the previews of the company's tickets idle since
/// `cutoff`); returns how many messages changed.
pub async fn redact(tx: &mut Tx, tenant: TenantId, ids: &[i64], cutoff: i64, now: i64) -> Result<u64, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let list = ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let sql = format!(
        "UPDATE messages SET body = NULL, payload = '{{}}', media_path = NULL, media_id = NULL, redacted_at = $2
         WHERE tenant_id = $1 AND redacted_at IS NULL AND id IN ({list})"
    );
    let n = sqlx::query(&sql).bind(tenant.0).bind(now).execute(&mut **tx).await?.rows_affected();
    sqlx::query(
        "UPDATE tickets SET last_message_preview = NULL
         WHERE tenant_id = $1 AND last_message_at < $2 AND last_message_preview IS NOT NULL",
    )
    .bind(tenant.0)
    .bind(cutoff)
    .execute(&mut **tx)
    .await?;
    Ok(n)
}
