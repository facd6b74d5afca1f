//! `maintenance.purge`: deletes expired sessions, old live events and old finished jobs. The
//! scheduler enqueues it once per hour with a dedupe key, so several instances schedule it once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::JobError;
use crate::app::App;
use crate::store::jobs::{Job, NewJob};

const KIND: &str = crate::domain::jobs::JobKind::Purge.as_str();

const HOUR_MS: i64 = 3_600_000;
/// Live events are kept a day: long enough for any browser to resume after a drop.
const EVENTS_KEEP_MS: i64 = 24 * HOUR_MS;
const DONE_JOBS_KEEP_MS: i64 = 7 * 24 * HOUR_MS;
/// Delivered webhooks stay listed (with their attempts) for a month.
const WEBHOOK_DELIVERIES_KEEP_MS: i64 = 30 * 24 * HOUR_MS;

pub async fn run(app: &App, _job: &Job) -> Result<(), JobError> {
    let now = app.clock.now_ms();
    let w = app.db.writer();
    let sessions = crate::store::sessions::purge_expired(w, now).await?;
    let events = crate::store::events::purge(w, now - EVENTS_KEEP_MS).await?;
    let jobs = crate::store::jobs::purge_done(w, now - DONE_JOBS_KEEP_MS).await?;
    let idempotency_keys = crate::store::idempotency::purge_expired(w, now).await?;
    let webhooks = crate::store::webhooks::purge_settled(&app.db, now - WEBHOOK_DELIVERIES_KEEP_MS).await?;
    tracing::info!(sessions, events, jobs, idempotency_keys, webhooks, "maintenance purge done");
    Ok(())
}

/// Enqueues this hour's purge (idempotent across instances thanks to the dedupe key).
pub async fn schedule(app: &App) -> anyhow::Result<()> {
    once_per(app, KIND, HOUR_MS, 3).await
}

/// Enqueues a job of the platform company with this dedupe key (so several instances enqueue
/// it once); nothing when there is no platform company yet.
pub(super) async fn enqueue_on_platform(
    app: &App,
    kind: &str,
    key: &str,
    run_at: i64,
    max_attempts: i64,
) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    let Some(platform) = crate::store::tenants::list(app.db.reader()).await?.into_iter().find(|t| t.is_platform) else {
        return Ok(());
    };
    let payload = serde_json::json!({});
    let job = NewJob { tenant_id: platform.id, kind, payload: &payload, run_at, max_attempts, dedupe_key: Some(key) };
    crate::store::jobs::enqueue(app.db.writer(), job, now).await?;
    Ok(())
}

/// Enqueues this period's run of a periodic platform job (`kind:period number` as the key).
pub(super) async fn once_per(app: &App, kind: &str, period_ms: i64, max_attempts: i64) -> anyhow::Result<()> {
    let now = app.clock.now_ms();
    enqueue_on_platform(app, kind, &format!("{kind}:{}", now / period_ms), now, max_attempts).await
}

pub async fn scheduler(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if let Err(e) = schedule(&app).await {
            tracing::warn!(error = %e, "scheduling maintenance failed");
        }
        if let Err(e) = super::timed_rules::schedule(&app, None).await {
            tracing::warn!(error = %e, "scheduling the timed rules failed");
        }
        if let Err(e) = crate::actions::schedules::schedule_due(&app).await {
            tracing::warn!(error = %e, "scheduling the scheduled messages failed");
        }
        if let Err(e) = crate::actions::campaigns::keep_running(&app).await {
            tracing::warn!(error = %e, "keeping the running campaigns going failed");
        }
        if let Err(e) = crate::actions::templates::schedule_due(&app).await {
            tracing::warn!(error = %e, "scheduling template syncs failed");
        }
        if let Err(e) = super::report_alerts::schedule(&app).await {
            tracing::warn!(error = %e, "scheduling the Painel alert check failed");
        }
        if let Err(e) = super::sla::schedule(&app).await {
            tracing::warn!(error = %e, "scheduling the SLA scan failed");
        }
        if let Err(e) = super::audit_retention::schedule(&app).await {
            tracing::warn!(error = %e, "scheduling the audit log's retention failed");
        }
        if let Err(e) = super::tasks::schedule(&app).await {
            tracing::warn!(error = %e, "scheduling the task reminders failed");
        }
        if let Err(e) = super::retention::schedule(&app).await {
            tracing::warn!(error = %e, "scheduling the conversation retention failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => {}
        }
    }
}
