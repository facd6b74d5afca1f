//! The Painel's background work. `reports.rebuild`: a company's roll-ups recomputed after its
//! hours changed (`actions::reports::queue_rebuild`). `reports.alerts`: once a minute, every company's Painel alerts are judged again and each one
//! raised or cleared becomes a `report.alert` event (`actions::reports::watch`). The scheduler
//! enqueues it with a dedupe key per interval (`report_alert_every_secs`), so several instances
//! run one check per interval.

use super::JobError;
use crate::app::App;
use crate::domain::jobs::JobKind;
use crate::store::jobs::Job;

pub async fn run(app: &App, _job: &Job) -> Result<(), JobError> {
    let n = crate::actions::reports::watch::check_all(app).await.map_err(JobError::Retry)?;
    if n > 0 {
        tracing::info!(events = n, "Painel alerts changed");
    }
    Ok(())
}

pub async fn run_rebuild(app: &App, job: &Job) -> Result<(), JobError> {
    let n = crate::actions::reports::rebuild(app, job.tenant_id).await.map_err(JobError::Retry)?;
    tracing::info!(tenant = job.tenant_id.0, tickets = n, "report roll-ups rebuilt");
    Ok(())
}

/// Enqueues this interval's check (on the platform company, as the hourly purge).
pub async fn schedule(app: &App) -> anyhow::Result<()> {
    // The scheduler wakes once a minute: a shorter interval would be a promise it cannot keep.
    let every_ms = match app.settings.report_alert_every_secs {
        0 => return Ok(()),
        s => s.max(60) as i64 * 1000,
    };
    super::maintenance::once_per(app, JobKind::ReportAlerts.as_str(), every_ms, 1).await
}
