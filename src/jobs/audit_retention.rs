//! `audit.retention`: deletes audit entries older than each company's retention (365 days
//! unless its admins chose 30 to 3650). The scheduler enqueues it once per UTC day with a
//! dedupe key, so several instances schedule it once.

use super::JobError;
use crate::app::App;
use crate::store::jobs::Job;

const KIND: &str = crate::domain::jobs::JobKind::AuditRetention.as_str();
const DAY_MS: i64 = 86_400_000;

pub async fn run(app: &App, _job: &Job) -> Result<(), JobError> {
    let deleted = crate::actions::audit::purge_expired(app).await.map_err(|e| JobError::Retry(e.into()))?;
    tracing::info!(deleted, "audit log retention applied");
    Ok(())
}

/// Enqueues today's pass (idempotent across instances thanks to the dedupe key).
pub async fn schedule(app: &App) -> anyhow::Result<()> {
    super::maintenance::once_per(app, KIND, DAY_MS, 3).await
}
