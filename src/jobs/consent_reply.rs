//! `contacts.consent_reply`: the one confirmation of an opt-out / opt-in keyword
//! (`actions::consent::send_keyword_reply`), enqueued by the ingest writer with the change.

use serde::Deserialize;

use super::JobError;
use crate::app::App;
use crate::store::jobs::Job;

#[derive(Deserialize)]
struct Payload {
    ticket_id: i64,
    consent: String,
}

pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    let p: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    crate::actions::consent::send_keyword_reply(app, job.tenant_id, job.id.0, p.ticket_id, &p.consent).await?;
    Ok(())
}
