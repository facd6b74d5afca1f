//! `sla.scan`: once a minute, new tickets are timed against their company's SLA, clocks the
//! customer restarted resume, and near-breach and breach alerts go out
//! (`actions::sla::scan`). The scheduler enqueues it with a dedupe key per minute, so several
//! instances run one scan per minute.

use super::JobError;
use crate::app::App;
use crate::domain::jobs::JobKind;
use crate::store::jobs::Job;

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
    super::maintenance::once_per(app, JobKind::SlaScan.as_str(), MINUTE_MS, 1).await
}
