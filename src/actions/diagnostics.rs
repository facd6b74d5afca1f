//! Operator checks of the job pipeline: enqueue a `diagnostic.marker` job.

use crate::actions::{ActionError, ActionResult, Actor};
use crate::app::App;
use crate::domain::ids::JobId;
use crate::domain::TenantId;
use crate::store::jobs::NewJob;

/// Enqueues a marker job; with `fail_message` it fails on every try (retries, then dead).
pub async fn enqueue_marker(
    app: &App,
    actor: &Actor,
    tenant: TenantId,
    marker: &str,
    hold_ms: u64,
    fail_message: Option<&str>,
) -> ActionResult<JobId> {
    actor.require_admin_of(tenant)?;
    if marker.is_empty() || marker.len() > 200 {
        return Err(ActionError::invalid("invalid_marker", "marker must be 1 to 200 characters"));
    }
    let now = app.clock.now_ms();
    let payload = serde_json::json!({ "marker": marker, "hold_ms": hold_ms, "fail_message": fail_message });
    let job = NewJob {
        tenant_id: tenant,
        kind: crate::domain::jobs::JobKind::Diagnostic.as_str(),
        payload: &payload,
        run_at: now,
        max_attempts: 5,
        dedupe_key: None,
    };
    let id = crate::store::jobs::enqueue(app.db.writer(), job, now)
        .await?
        .ok_or_else(|| anyhow::anyhow!("job not enqueued"))?;
    app.jobs_wakeup.notify_one();
    Ok(id)
}
