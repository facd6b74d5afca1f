//! `automation.inbound`: greeting, away message or the chatbot's next step for one customer
//! message (`actions::automation`). A run that finds the ticket moved by another message's run
//! is retried on the new state. `automation.wake`: a flow's timed wait is over.

use serde::Deserialize;
use tokio::sync::watch;

use super::JobError;
use crate::app::App;
use crate::store::jobs::Job;

#[derive(Deserialize)]
struct Payload {
    ticket_id: i64,
    message_id: i64,
}

/// After the step's effects commit, the job is marked done and the replies it queued are sent
/// in the same worker turn: a new conversation's menu then costs one trip through the queue,
/// not two (the bot reply latency target of `atende bench bot`).
pub async fn run(app: &App, job: &Job, shutdown: &watch::Receiver<bool>) -> Result<(), JobError> {
    let p: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    let queued = crate::actions::automation::on_inbound(app, job.tenant_id, p.ticket_id, p.message_id).await?;
    if queued.is_empty() {
        return Ok(());
    }
    // Done before the sends: a crash during one must not run this step a second time.
    if !crate::store::jobs::complete(app.db.writer(), job.id, &job.lease_token, app.clock.now_ms()).await? {
        return Err(JobError::LeaseLost);
    }
    for message_id in queued {
        super::run_now(app, job.tenant_id, crate::actions::send::send_job_key(message_id), shutdown).await;
    }
    Ok(())
}

#[derive(Deserialize)]
struct WakePayload {
    ticket_id: i64,
    /// The state the ticket waits in; the wake-up is stale when it moved since.
    state: String,
}

pub async fn run_wake(app: &App, job: &Job) -> Result<(), JobError> {
    let p: WakePayload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    crate::actions::automation::on_wake(app, job.tenant_id, p.ticket_id, &p.state).await?;
    Ok(())
}
