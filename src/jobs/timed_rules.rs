//! `automation.timed`: one paced pass of the companies' timed rules
//! ([`crate::actions::timed_rules::run_pass`]). The scheduler enqueues one per minute with a
//! dedupe key (several instances schedule it once); a pass that reaches its budget enqueues
//! the next one a second later instead of working on, so the rules never crowd out the sends.

use super::JobError;
use crate::app::App;
use crate::store::jobs::Job;

const KIND: &str = crate::domain::jobs::JobKind::TimedRules.as_str();
const MINUTE_MS: i64 = 60_000;
/// The pause between two passes of a backlog.
const PACE_MS: i64 = 1_000;

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let report = crate::actions::timed_rules::run_pass(app).await?;
    if report.closed + report.transferred > 0 {
        tracing::info!(closed = report.closed, transferred = report.transferred, "timed rules applied");
    }
    if report.more {
        schedule(app, Some(job.id.0)).await?;
    }
    Ok(())
}

/// A pass right away, whatever this minute's pass did (rules were just switched on).
pub async fn schedule_now(app: &App) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    enqueue(app, format!("{KIND}:now:{}", crate::crypto::random_token(6)), now).await
}

/// Enqueues this minute's pass, or (`after`: the pass that left a backlog) the next one soon.
pub async fn schedule(app: &App, after: Option<i64>) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    let (key, run_at) = match after {
        None => (format!("{KIND}:{}", now / MINUTE_MS), now),
        Some(job) => (format!("{KIND}:after:{job}"), now + PACE_MS),
    };
    enqueue(app, key, run_at).await
}

async fn enqueue(app: &App, key: String, run_at: i64) -> anyhow::Result<()> {
    super::maintenance::enqueue_on_platform(app, KIND, &key, run_at, 3).await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}
