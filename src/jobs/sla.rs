//! `sla.scan`: once a minute, new tickets are timed against their company's SLA, clocks the
//! customer restarted resume, and near-breach and breach alerts go out
//! (`actions::sla::scan`). The scheduler enqueues it with a dedupe key per minute, so several
//! instances run one scan per minute.

use super::JobError;
use crate::app::App;
use crate::domain::jobs::JobKind;
use crate::store::jobs::{Job, NewJob};

const MINUTE_MS: i64 = 60_000;

pub async fn run(app: &App, _job: &Job) -> Result<(), JobError> {
    let r = crate::actions::sla::scan(app).await.map_err(JobError::Retry)?;
    if r.warnings + r.breaches > 0 {
        tracing::info!(warnings = r.warnings, breaches = r.breaches, "SLA alerts raised");
    }
    Ok(())
}

/// Enqueues this minute's scan (on the platform company, as the hourly purge).
pub async fn schedule(app: &App) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    let Some(platform) = crate::store::tenants::list(app.db.reader()).await?.into_iter().find(|t| t.is_platform) else {
        return Ok(());
    };
    let key = format!("{}:{}", JobKind::SlaScan.as_str(), now / MINUTE_MS);
    let payload = serde_json::json!({});
    let job = NewJob {
        tenant_id: platform.id,
        kind: JobKind::SlaScan.as_str(),
        payload: &payload,
        run_at: now,
        max_attempts: 1,
        dedupe_key: Some(&key),
    };
    crate::store::jobs::enqueue(app.db.writer(), job, now).await?;
    Ok(())
}
