//! `diagnostic.marker`: an operator's end-to-end check of the job pipeline. It waits `hold_ms`,
//! then writes an audit entry and completes itself in one transaction, so the entry appears
//! exactly once however often the process dies while it runs. With `fail_message` it fails
//! instead (a transient error), to check retries, dead letters and alerting. With `trace_tries`
//! every try also writes a `diagnostic.tried` entry as it starts, committed on its own, so an
//! operator (or a test) can count how often the job actually ran, not only that it finished.

use serde::Deserialize;

use super::JobError;
use crate::app::App;
use crate::store::jobs::Job;

#[derive(Deserialize)]
struct Payload {
    marker: String,
    #[serde(default)]
    hold_ms: u64,
    #[serde(default)]
    fail_message: Option<String>,
    #[serde(default)]
    trace_tries: bool,
}

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let p: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    if p.trace_tries {
        let details = serde_json::json!({ "job_id": job.id, "attempt": job.attempts, "lease": job.lease_token });
        let now = app.clock.now_ms();
        crate::store::audit::record(
            app.db.writer(),
            job.tenant_id,
            "job",
            "diagnostic.tried",
            &p.marker,
            &details,
            now,
        )
        .await?;
    }
    tokio::time::sleep(std::time::Duration::from_millis(p.hold_ms.min(600_000))).await;
    if let Some(message) = p.fail_message {
        return Err(JobError::Retry(anyhow::anyhow!(message)));
    }
    let now = app.clock.now_ms();
    let mut tx = app.db.begin().await?;
    if !crate::store::jobs::complete(&mut *tx, job.id, &job.lease_token, now).await? {
        // Another worker took the job over; it will write the marker.
        return Err(JobError::LeaseLost);
    }
    let details = serde_json::json!({ "job_id": job.id, "attempt": job.attempts });
    crate::store::audit::record(&mut *tx, job.tenant_id, "job", "diagnostic.ran", &p.marker, &details, now).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(())
}
