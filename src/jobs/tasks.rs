//! `tasks.remind`: once a minute, tasks whose early reminder or due time came remind their
//! assignee, each reminder once (`actions::tasks::remind_due`). The scheduler enqueues it with a
//! dedupe key per minute on the platform company, so several instances run one scan a minute.

use super::JobError;
use crate::app::App;
use crate::domain::jobs::JobKind;
use crate::store::jobs::Job;

const MINUTE_MS: i64 = 60_000;

pub async fn run(app: &App, _job: &Job) -> Result<(), JobError> {
    let sent = crate::actions::tasks::remind_due(app).await.map_err(JobError::Retry)?;
    if sent > 0 {
        tracing::info!(sent, "task reminders sent");
    }
    Ok(())
}

/// Enqueues this minute's scan (on the platform company, as the SLA scan).
pub async fn schedule(app: &App) -> anyhow::Result<()> {
    super::maintenance::once_per(app, JobKind::TaskReminders.as_str(), MINUTE_MS, 1).await
}
