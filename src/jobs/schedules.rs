//! `schedules.due`: one scan of a company's due scheduled messages
//! ([`crate::actions::schedules::run_due`]). Enqueued at each schedule's next run and once a
//! minute for companies with something due; a scan that reaches its budget asks for another.
//! Running twice is harmless: each occurrence is handled once (see the action's docs).

use super::JobError;
use crate::app::App;
use crate::store::jobs::{Job, NewJob};

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let (handled, more) = crate::actions::schedules::run_due(app, job.tenant_id).await?;
    if handled > 0 {
        tracing::info!(handled, "scheduled messages handled");
    }
    if more {
        let now = app.clock.now_ms();
        let key = format!("schedules.due:{}:after:{}", job.tenant_id.0, job.id.0);
        let payload = serde_json::json!({});
        let next = NewJob {
            tenant_id: job.tenant_id,
            kind: crate::domain::jobs::JobKind::Schedules.as_str(),
            payload: &payload,
            run_at: now + 1_000,
            max_attempts: 5,
            dedupe_key: Some(&key),
        };
        crate::store::jobs::enqueue(app.db.writer(), next, now).await?;
        app.jobs_wakeup.notify_one();
    }
    Ok(())
}
