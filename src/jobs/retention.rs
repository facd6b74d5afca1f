//! `lgpd.retention`: one paced pass of the companies' conversation retention
//! ([`crate::actions::lgpd::retention::run_pass`]). The scheduler enqueues one per hour with a
//! dedupe key (several instances schedule it once); a pass that used its budget enqueues the
//! next one a second later instead of working on.

use super::JobError;
use crate::app::App;
use crate::store::jobs::Job;

const KIND: &str = crate::domain::jobs::JobKind::Retention.as_str();
const HOUR_MS: i64 = 3_600_000;
/// The pause between two passes of a backlog.
const PACE_MS: i64 = 1_000;

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let report = crate::actions::lgpd::retention::run_pass(app).await?;
    if report.more {
        let now = app.clock.now_ms();
        let key = format!("{KIND}:after:{}", job.id.0);
        super::maintenance::enqueue_on_platform(app, KIND, &key, now + PACE_MS, 3).await?;
    }
    Ok(())
}

/// Enqueues this hour's pass (idempotent across instances thanks to the dedupe key).
pub async fn schedule(app: &App) -> anyhow::Result<()> {
    super::maintenance::once_per(app, KIND, HOUR_MS, 3).await
}
