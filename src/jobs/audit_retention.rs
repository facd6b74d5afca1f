//! `audit.retention`: deletes audit entries older than each company's retention (365 days
//! unless its admins chose 30 to 3650). The scheduler enqueues it once per UTC day with a
//! dedupe key, so several instances schedule it once.

use super::JobError;
use crate::app::App;
use crate::store::jobs::{Job, NewJob};

const KIND: &str = crate::domain::jobs::JobKind::AuditRetention.as_str();
const DAY_MS: i64 = 86_400_000;

pub async fn run(app: &App, _job: &Job) -> Result<(), JobError> {
    let deleted = crate::actions::audit::purge_expired(app).await.map_err(|e| JobError::Retry(e.into()))?;
    tracing::info!(deleted, "audit log retention applied");
    Ok(())
}

/// Enqueues today's pass (idempotent across instances thanks to the dedupe key).
pub async fn schedule(app: &App) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    let Some(platform) = crate::store::tenants::list(app.db.reader()).await?.into_iter().find(|t| t.is_platform) else {
        return Ok(());
    };
    let key = format!("{KIND}:{}", now / DAY_MS);
    let payload = serde_json::json!({});
    let job = NewJob {
        tenant_id: platform.id,
        kind: KIND,
        payload: &payload,
        run_at: now,
        max_attempts: 3,
        dedupe_key: Some(&key),
    };
    crate::store::jobs::enqueue(app.db.writer(), job, now).await?;
    Ok(())
}
